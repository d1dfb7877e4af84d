/**
 * A small, valid artifact for registry tests (a linear model over the 8 features): the
 * registry only stores, numbers and verifies artifacts, so it needs no trained model.
 */
import { FEATURES } from '../../../lib/features/index.ts'
import type { ModelArtifact } from '../../../lib/model/types.ts'
import { buildReference } from '../../../lib/stats/reference.ts'

export function linearArtifact(
  modelName: string,
  opts: { intercept?: number; padding?: number } = {},
): ModelArtifact {
  const ref = buildReference([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 4)
  const metrics = {
    roc_auc: 0.83,
    accuracy: 0.77,
    precision: 0.7,
    recall: 0.6,
    f1: 0.65,
    log_loss: 0.48,
    brier: 0.16,
    confusion: { tp: 160, fp: 60, tn: 440, fn: 108 },
  }
  return {
    formatVersion: 1,
    modelName,
    version: 1,
    family: 'logistic_regression',
    model: {
      kind: 'linear',
      nFeatures: FEATURES.length,
      weights: FEATURES.map((_, i) => 0.1 * (i + 1)),
      intercept: opts.intercept ?? -1,
      link: 'logistic',
    },
    features: [...FEATURES],
    preprocessing: { impute: FEATURES.map(() => 0) },
    threshold: 0.5,
    reference: { features: Object.fromEntries(FEATURES.map((f) => [f, ref])), probability: ref },
    metrics,
    dataset: { rows: 768, positives: 268, sha256: 'f'.repeat(64), sources: ['pima'] },
    // `padding` makes the encoded artifact large (random digits do not compress) to exercise by-reference events.
    hyperparameters: opts.padding
      ? { padding: Array.from({ length: opts.padding }, () => Math.random().toString(36).slice(2)).join('') }
      : { C: 1 },
    codeVersion: 'test',
    createdAt: Date.now(),
    parentVersion: null,
    stage: 'candidate',
  }
}
