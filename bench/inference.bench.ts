/**
 * Inference benchmark. Prints numbers; asserts nothing.
 *
 * 1. Scoring throughput per model family (rows/s), batch (scoreBatch over 100k rows) and
 *    single row (scoreOne), with models fitted on the Pima data by trainer/learners with their
 *    default hyperparameters. A family whose learner fails falls back to a synthetic ensemble.
 * 2. End to end through the real broker: pre-produce N requests (default 100k), start the
 *    inference service, time until N predictions are acknowledged (target ≥ 10,000/s).
 *    Uses its own topic prefix and deletes its topics afterwards.
 *
 * Run: npx tsx bench/inference.bench.ts [requests=100000] [--no-e2e] [--batch-bytes=N]
 */
import { randomBytes } from 'node:crypto'
import { configWith, loadConfig } from '../lib/config/index.ts'
import { loadPima } from '../lib/data/pima.ts'
import { FEATURES } from '../lib/features/index.ts'
import { ensureTopics, registerContracts, TOPIC_SCHEMAS } from '../lib/kafka/index.ts'
import { decodeArtifact, encodeArtifact } from '../lib/model/artifact.ts'
import { createScorer } from '../lib/model/scorer.ts'
import { SIGNATURE_HEADER, signerFor } from '../lib/model/signing.ts'
import type {
  FlatTree,
  ModelArtifact,
  ModelFamily,
  Preprocessing,
  ScorableModel,
} from '../lib/model/types.ts'
import type { ModelVersionEvent } from '../lib/registry/index.ts'
import { closeDeps, createDeps } from '../lib/runtime/index.ts'
import { buildReference } from '../lib/stats/index.ts'
import { createInferenceService } from '../processors/inference/index.ts'
import { getLearner } from '../trainer/learners/index.ts'
import { datasetFromRows } from '../trainer/pipeline/index.ts'

const N_REQUESTS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000)
const E2E = !process.argv.includes('--no-e2e')
/** --batch-bytes=N: the request consumer's maxBytesPerPartition (default: the service's). */
const BATCH_BYTES =
  Number(process.argv.find((a) => a.startsWith('--batch-bytes='))?.split('=')[1] ?? 0) || undefined
const FAMILIES: ModelFamily[] = ['logistic_regression', 'gradient_boosting', 'random_forest', 'xgboost']

const config = loadConfig()
const pima = loadPima(config.data.pimaCsvPath)
const { data } = datasetFromRows(pima.rows, pima.labels, ['pima'])
const nf = FEATURES.length

/** Rows for scoring: the Pima rows repeated up to `n` (missing values included). */
function benchRows(n: number): Float64Array {
  const out = new Float64Array(n * nf)
  for (let r = 0; r < n; r++)
    out.set(data.X.subarray((r % data.nRows) * nf, ((r % data.nRows) + 1) * nf), r * nf)
  return out
}

/** A random depth-4 ensemble, used when a learner cannot run here. */
function syntheticEnsemble(
  trees: number,
  depth: number,
): { model: ScorableModel; preprocessing: Preprocessing } {
  let seed = 42
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const list = Array.from({ length: trees }, () => {
    const t: FlatTree = { feature: [], threshold: [], left: [], right: [], missingLeft: [], value: [] }
    const grow = (d: number): number => {
      const i = t.value.length
      const leaf = d >= depth
      t.feature.push(leaf ? 0 : Math.floor(rnd() * nf))
      t.threshold.push(leaf ? 0 : rnd() * 150)
      t.missingLeft.push(rnd() < 0.5 ? 1 : 0)
      t.value.push(rnd() - 0.5)
      t.left.push(-1)
      t.right.push(-1)
      if (!leaf) {
        t.left[i] = grow(d + 1)
        t.right[i] = grow(d + 1)
      }
      return i
    }
    grow(0)
    return t
  })
  return {
    model: {
      kind: 'tree_ensemble',
      nFeatures: nf,
      trees: list,
      baseMargin: 0,
      aggregation: 'sum',
      link: 'logistic',
    },
    preprocessing: { impute: FEATURES.map(() => null) },
  }
}

function describeModel(m: ScorableModel): string {
  if (m.kind === 'linear') return 'linear'
  const nodes = m.trees.reduce((s, t) => s + t.value.length, 0)
  return `${m.trees.length} trees, ${nodes} nodes`
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')

async function scoringBench(): Promise<{
  model: ScorableModel
  preprocessing: Preprocessing
  family: ModelFamily
}> {
  console.log('== scoring throughput (single thread) ==')
  const N = 100_000
  const rows = benchRows(N)
  const out = new Float64Array(N)
  let forE2e: { model: ScorableModel; preprocessing: Preprocessing; family: ModelFamily } | undefined
  for (const family of FAMILIES) {
    let exported: { model: ScorableModel; preprocessing: Preprocessing }
    let source = 'trained on Pima, default params'
    try {
      const learner = getLearner(family)
      const trained = await learner.fit(data, learner.defaults, 42)
      exported = trained.export()
      trained.free?.()
    } catch (err) {
      exported = syntheticEnsemble(200, 4)
      source = `SYNTHETIC (learner failed: ${(err as Error).message.slice(0, 80)})`
    }
    const scorer = createScorer(exported.model, exported.preprocessing)
    scorer.scoreBatch(rows, 5000, out) // warm-up (JIT)
    const batchS = Math.min(...[0, 1, 2].map(() => time(() => scorer.scoreBatch(rows, N, out))))
    const single = 20_000
    const row = new Float64Array(nf)
    let sink = 0
    const singleS = time(() => {
      for (let i = 0; i < single; i++) {
        row.set(rows.subarray((i % N) * nf, ((i % N) + 1) * nf))
        sink += scorer.scoreOne(row)
      }
    })
    if (!Number.isFinite(sink)) throw new Error('non-finite scores')
    console.log(
      `${family.padEnd(20)} ${describeModel(exported.model).padEnd(26)} batch ${fmt(N / batchS).padStart(12)} rows/s   single ${fmt(single / singleS).padStart(11)} rows/s   (${source})`,
    )
    if (family === 'gradient_boosting') forE2e = { ...exported, family }
  }
  return forE2e ?? { ...syntheticEnsemble(100, 3), family: 'gradient_boosting' }
}

function artifactOf(
  modelName: string,
  m: { model: ScorableModel; preprocessing: Preprocessing; family: ModelFamily },
): ModelArtifact {
  const ref = buildReference([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3)
  return {
    formatVersion: 1,
    modelName,
    version: 1,
    family: m.family,
    model: m.model,
    features: [...FEATURES],
    preprocessing: m.preprocessing,
    threshold: 0.5,
    reference: { features: Object.fromEntries(FEATURES.map((f) => [f, ref])), probability: ref },
    metrics: {
      roc_auc: 0,
      accuracy: 0,
      precision: 0,
      recall: 0,
      f1: 0,
      log_loss: 0,
      brier: 0,
      confusion: { tp: 0, fp: 0, tn: 0, fn: 0 },
    },
    dataset: { rows: data.nRows, positives: 0, sha256: pima.sha256, sources: ['pima'] },
    hyperparameters: {},
    codeVersion: 'bench',
    createdAt: Date.now(),
    parentVersion: null,
    stage: 'production',
  }
}

async function e2eBench(m: {
  model: ScorableModel
  preprocessing: Preprocessing
  family: ModelFamily
}): Promise<void> {
  console.log(
    `\n== end to end: ${fmt(N_REQUESTS)} requests → predictions through the broker (${m.family}) ==`,
  )
  const prefix = `bench-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`
  const cfg = configWith({ TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' })
  const deps = await createDeps(cfg, { clickhouse: false })
  const admin = deps.kafka.admin()
  await admin.connect()
  try {
    await ensureTopics(admin, cfg)
    await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
    const modelName = 'bench-model'
    const { bytes, sha256 } = encodeArtifact(artifactOf(modelName, m))
    const event: ModelVersionEvent = {
      eventId: `${modelName}:1:production:1`,
      modelName,
      version: 1,
      stage: 'production',
      family: m.family,
      threshold: 0.5,
      artifactSha256: sha256,
      artifactRef: `clickhouse:model_artifacts/${modelName}/1`,
      artifact: bytes,
      metricsJson: '{}',
      parentVersion: null,
      shadow: false,
      reason: 'bench',
      createdAt: Date.now(),
      publishedAt: Date.now(),
    }
    if (bytes.length > 900_000)
      throw new Error(`artifact of ${bytes.length} bytes too large to inline in the bench`)
    await deps.producer.send({
      topic: deps.topics.modelVersions,
      // Signed as the registry signs: inference refuses unsigned model versions.
      messages: [
        {
          key: modelName,
          value: deps.serde.encode(deps.topics.modelVersions, event),
          headers: { [SIGNATURE_HEADER]: signerFor(deps.config).sign(event, 1) },
        },
      ],
    })

    const tProduce = process.hrtime.bigint()
    const partitions = cfg.topics.partitions
    for (let i = 0; i < N_REQUESTS; i += 2000) {
      const messages = []
      for (let j = i; j < Math.min(i + 2000, N_REQUESTS); j++) {
        const r = pima.rows[j % pima.rows.length]!
        const req = {
          requestId: `b-${j}`,
          patientId: `p-${j % 5000}`,
          eventTime: Date.now(),
          sourceSystem: 'bench',
          notes: null,
          ...r,
        }
        messages.push({
          key: req.requestId,
          partition: j % partitions,
          value: deps.serde.encode(deps.topics.requests, req),
        })
      }
      await deps.producer.send({ topic: deps.topics.requests, acks: -1, messages })
    }
    const produceS = Number(process.hrtime.bigint() - tProduce) / 1e9
    console.log(
      `pre-produced ${fmt(N_REQUESTS)} requests in ${produceS.toFixed(1)} s (${fmt(N_REQUESTS / produceS)}/s)`,
    )

    const service = createInferenceService(deps, {
      modelName,
      // Inline artifact: no ClickHouse needed in the bench process.
      loadArtifact: async (e) => decodeArtifact(e.artifact!, e.artifactSha256),
      consumerConfig: BATCH_BYTES ? { maxBytesPerPartition: BATCH_BYTES } : undefined,
    })
    const t0 = process.hrtime.bigint()
    await service.start()
    await service.ready()
    const tReady = process.hrtime.bigint()
    let tFirst: bigint | undefined
    const acked = async () => {
      const metric = await service.metricsRegistry
        .getSingleMetric('riskstream_inference_predictions_total')!
        .get()
      return metric.values.reduce((s, v) => s + v.value, 0)
    }
    for (;;) {
      const n = await acked()
      if (n > 0 && !tFirst) tFirst = process.hrtime.bigint()
      if (n >= N_REQUESTS) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const tDone = process.hrtime.bigint()
    const s = (a: bigint, b: bigint) => Number(b - a) / 1e9
    console.log(`start → model loaded and consuming: ${s(t0, tReady).toFixed(2)} s`)
    console.log(
      `ready → ${fmt(N_REQUESTS)} predictions acknowledged: ${s(tReady, tDone).toFixed(2)} s = ${fmt(N_REQUESTS / s(tReady, tDone))} predictions/s`,
    )
    console.log(
      `first → last prediction (steady state): ${fmt((N_REQUESTS - 1) / s(tFirst!, tDone))} predictions/s`,
    )
    console.log(
      `start → all acknowledged (incl. group join): ${fmt(N_REQUESTS / s(t0, tDone))} predictions/s  (target ≥ 10,000/s)`,
    )
    const batches = await service.metricsRegistry.getSingleMetric('riskstream_inference_batch_size')!.get()
    const count =
      batches.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0
    console.log(`batches: ${count}, mean ${fmt(N_REQUESTS / Math.max(count, 1))} requests/batch`)
    await service.stop()
  } finally {
    await admin
      .deleteTopics({
        topics: Object.values(deps.topics)
          .filter((t): t is string => typeof t === 'string')
          .concat(Object.values(deps.topics.dlq)),
      })
      .catch(() => undefined)
    await admin.disconnect()
    await closeDeps(deps)
  }
}

const forE2e = await scoringBench()
if (BATCH_BYTES) console.log(`\nrequest consumer maxBytesPerPartition = ${fmt(BATCH_BYTES)}`)
if (E2E) await e2eBench(forE2e)
process.exit(0)
