/**
 * Small hand-made model artifacts and events for the inference tests (no trainer needed).
 * `constantArtifact(v, p)` scores every row as probability p, so a test can tell from a
 * prediction's probability which version really scored it.
 */
import { FEATURES } from '../../../lib/features/index.ts'
import { encodeArtifact } from '../../../lib/model/artifact.ts'
import type { ModelArtifact, ScorableModel } from '../../../lib/model/types.ts'
import type { ModelVersionEvent } from '../../../lib/registry/index.ts'
import { buildReference } from '../../../lib/stats/index.ts'

const logit = (p: number) => Math.log(p / (1 - p))

function baseArtifact(
  modelName: string,
  version: number,
  model: ScorableModel,
  family: ModelArtifact['family'],
): ModelArtifact {
  const ref = buildReference([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3)
  return {
    formatVersion: 1,
    modelName,
    version,
    family,
    model,
    features: [...FEATURES],
    preprocessing: { impute: FEATURES.map(() => null) },
    threshold: 0.5,
    reference: { features: Object.fromEntries(FEATURES.map((f) => [f, ref])), probability: ref },
    metrics: {
      roc_auc: 0.8,
      accuracy: 0.75,
      precision: 0.7,
      recall: 0.6,
      f1: 0.65,
      log_loss: 0.5,
      brier: 0.17,
      confusion: { tp: 1, fp: 1, tn: 1, fn: 1 },
    },
    dataset: { rows: 6, positives: 3, sha256: 'x'.repeat(64), sources: ['test'] },
    hyperparameters: {},
    codeVersion: 'test',
    createdAt: 1_700_000_000_000,
    parentVersion: version > 1 ? version - 1 : null,
    stage: 'production',
  }
}

/** A linear model ignoring its inputs: every row scores `p`. */
export function constantArtifact(modelName: string, version: number, p: number): ModelArtifact {
  const a = baseArtifact(
    modelName,
    version,
    { kind: 'linear', nFeatures: 8, weights: FEATURES.map(() => 0), intercept: logit(p), link: 'logistic' },
    'logistic_regression',
  )
  // Linear models need imputation (trees route missing values themselves).
  a.preprocessing = { impute: FEATURES.map(() => 0) }
  return a
}

/** One stump on glucose (< 140 → 0.2, ≥ 140 → 0.8; missing → left), identity link. */
export function stumpArtifact(modelName: string, version: number): ModelArtifact {
  return baseArtifact(
    modelName,
    version,
    {
      kind: 'tree_ensemble',
      nFeatures: 8,
      trees: [
        {
          feature: [1, 0, 0],
          threshold: [140, 0, 0],
          left: [1, -1, -1],
          right: [2, -1, -1],
          missingLeft: [1, 0, 0],
          value: [0, 0.2, 0.8],
        },
      ],
      baseMargin: 0,
      aggregation: 'sum',
      link: 'identity',
    },
    'random_forest',
  )
}

let seq = 0
/** A ModelVersion event carrying the artifact inline (override anything, e.g. a wrong sha256). */
export function versionEvent(
  artifact: ModelArtifact,
  overrides: Partial<ModelVersionEvent> = {},
): ModelVersionEvent {
  const { bytes, sha256 } = encodeArtifact(artifact)
  const stage = overrides.stage ?? 'production'
  seq++
  return {
    eventId: `${artifact.modelName}:${artifact.version}:${stage}:${seq}`,
    modelName: artifact.modelName,
    version: artifact.version,
    stage,
    family: artifact.family,
    threshold: artifact.threshold,
    artifactSha256: sha256,
    artifactRef: `clickhouse:model_artifacts/${artifact.modelName}/${artifact.version}`,
    artifact: bytes,
    metricsJson: '{}',
    parentVersion: artifact.parentVersion,
    shadow: false,
    reason: 'test',
    createdAt: artifact.createdAt,
    publishedAt: Date.now() + seq, // strictly increasing within a test run
    ...overrides,
  }
}

/** A valid request with all features measured (values inside the physiological bounds). */
export function validRequest(requestId: string, glucose = 120): Record<string, unknown> {
  return {
    requestId,
    patientId: `p-${requestId}`,
    // Within the allowed skew of now (lib/events/domain.ts refuses times a year old).
    eventTime: Date.now(),
    sourceSystem: 'test',
    pregnancies: 2,
    glucose,
    bloodPressure: 70,
    skinThickness: 25,
    insulin: 80,
    bmi: 30.5,
    diabetesPedigreeFunction: 0.5,
    age: 40,
    notes: null,
  }
}
