/**
 * Scoring throughput of lib/model/scorer.ts on one core, per model family, with synthetic
 * models of realistic shape:
 *   - boosting: 200 full trees of depth 3 (gradient boosting defaults), 'sum' + logistic; also
 *     200 trees of depth 6 (XGBoost's default max_depth) for the deeper generated-code path
 *   - forest:   200 trees of depth ≤ 10, ~150 leaves each, 'mean' + identity
 *   - linear:   8 weights with imputation and standardisation
 * Prints rows/s for batch scoring (every layout and tree loop order) and for single-row scoring.
 * The first line is the default path (createScorer without options), which production uses: it
 * starts on the array walker and moves to generated code once warm (the line after it says when).
 * The next two score the FIRST rows of fresh default scorers, as inference does right after a
 * model swap: cold, and after `warmUp` (what the inference follower does before the swap).
 * Target: ≥ 1,000,000 rows/s batch for the 200-tree depth-3 ensemble.
 * Run: npx tsx bench/scoring.bench.ts [rows]
 */

import seedrandom from 'seedrandom'
import { createScorer, type ScorerOptions } from '../lib/model/scorer.ts'
import type { FlatTree, LinearModel, Preprocessing, TreeEnsembleModel } from '../lib/model/types.ts'
import { type WarmUpReport, warmUp } from '../lib/model/warmup.ts'
import { randomTree } from '../tests/lib/model/fixtures.ts'

const NF = 8
const ROWS = Number(process.argv[2] ?? 200_000)
const rng = seedrandom('bench-scoring')

/** A random tree of the bench: the root and depth 1 always split; thresholds in 0..100. */
const tree = (maxDepth: number, pLeaf: number, rnd: () => number = rng): FlatTree =>
  randomTree({ rnd, maxDepth, nFeatures: NF, pLeaf, leafFrom: 2, threshold: () => rnd() * 100 })

const boosting: TreeEnsembleModel = {
  kind: 'tree_ensemble',
  nFeatures: NF,
  trees: Array.from({ length: 200 }, () => tree(3, 0)),
  baseMargin: -0.6,
  aggregation: 'sum',
  link: 'logistic',
}
const forest: TreeEnsembleModel = {
  kind: 'tree_ensemble',
  nFeatures: NF,
  trees: Array.from({ length: 200 }, () => tree(10, 0.2)),
  baseMargin: 0,
  aggregation: 'mean',
  link: 'identity',
}
const linear: LinearModel = {
  kind: 'linear',
  nFeatures: NF,
  weights: Array.from({ length: NF }, () => rng() - 0.5),
  intercept: -0.7,
  link: 'logistic',
}
const treePre: Preprocessing = { impute: new Array(NF).fill(null) }
const linearPre: Preprocessing = {
  impute: new Array(NF).fill(50),
  center: new Array(NF).fill(50),
  scale: new Array(NF).fill(29),
}

const X = new Float64Array(ROWS * NF)
for (let i = 0; i < X.length; i++) X[i] = rng() < 0.02 ? Number.NaN : rng() * 100
const out = new Float64Array(ROWS)
// Drawn after everything else, so the other models and the rows stay as they always were.
const boosting6: TreeEnsembleModel = {
  ...boosting,
  trees: Array.from({ length: 200 }, () => tree(6, 0)),
}
let sink = 0

/** Best wall time of `runs` runs, and the CPU time of that run (the machine may be shared). */
function bestOf(runs: number, fn: () => void): { wall: number; cpu: number } {
  let best = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    fn()
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const c = process.cpuUsage(c0)
    if (wall < best.wall) best = { wall, cpu: (c.user + c.system) / 1e6 }
  }
  return best
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12)

function report(
  label: string,
  model: TreeEnsembleModel | LinearModel,
  pre: Preprocessing,
  opts: ScorerOptions = {},
): void {
  let scored = 0
  const tiers: string[] = []
  const scorer = createScorer(model, pre, {
    ...opts,
    onTier: (layout, path) =>
      tiers.push(`${path} → ${layout} in the call at row ${scored.toLocaleString('en-US')}`),
  })
  const warm = Math.min(ROWS, 20_000)
  scorer.scoreBatch(X, warm, out) // warm-up (JIT)
  scored += warm
  const batch = bestOf(5, () => {
    scorer.scoreBatch(X, ROWS, out)
    scored += ROWS
    sink += out[0]!
  })
  const singleRows = Math.min(ROWS, 100_000)
  const row = new Float64Array(NF)
  const single = bestOf(3, () => {
    for (let r = 0; r < singleRows; r++) {
      for (let j = 0; j < NF; j++) row[j] = X[r * NF + j]!
      sink += scorer.scoreOne(row)
      scored++
    }
  })
  console.log(
    `${label.padEnd(58)} batch ${fmt(ROWS / batch.wall)} rows/s (${fmt(ROWS / batch.cpu)} per CPU-s)   single ${fmt(singleRows / single.wall)} rows/s`,
  )
  if (tiers.length > 0) console.log(`${''.padEnd(4)}default path settled: ${tiers.join('; ')}`)
}

/** Rows per scoreBatch call in the first-rows cases: a batch of a busy inference consumer. */
const LIVE_BATCH = 1_000
const FIRST_RUNS = 3
// Own stream: each run gets a fresh model of the boosting shape (a scorer is new once only).
const firstRowsRng = seedrandom('bench-scoring-first-rows')
const freshBoosting = (): TreeEnsembleModel => ({
  ...boosting,
  trees: Array.from({ length: 200 }, () => tree(3, 0, firstRowsRng)),
})
/** The bench's rows are uniform in [0, 100] (thresholds too): warm up in the same range. */
const BENCH_BOUNDS = Array.from({ length: NF }, () => ({ min: 0, max: 100 }))

const warmNote = (w: WarmUpReport): string =>
  `warm-up ${w.tier.batch}/${w.tier.one} (${w.stoppedBy}) after ${w.rows.toLocaleString('en-US')} rows, ${Math.round(w.ms)} ms (busy ${Math.round(w.busyMs)}, longest slice ${Math.round(w.maxSliceMs)})`

/**
 * Rows/s over the first ROWS rows (in LIVE_BATCH-row batches) and the first ≤ 100k single rows
 * of fresh default scorers, created cold or warmed up first (warm-up time not counted: the
 * follower warms while the old version serves). Best of FIRST_RUNS, each on a fresh model.
 */
async function reportFirstRows(label: string, warm: boolean): Promise<void> {
  const singleRows = Math.min(ROWS, 100_000)
  const row = new Float64Array(NF)
  let batch = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }
  let single = Number.POSITIVE_INFINITY
  const runs: string[] = []
  for (let run = 0; run < FIRST_RUNS; run++) {
    let live = -1 // rows scored live so far; -1 while warming up
    let switched = 'stayed warming'
    const s = createScorer(freshBoosting(), treePre, {
      onTier: (layout, path) => {
        if (path === 'batch' && live >= 0)
          switched = `→ ${layout} at live row ${live.toLocaleString('en-US')}`
      },
    })
    const w = warm ? await warmUp(s, { bounds: BENCH_BOUNDS }) : null
    if (s.tier().batch !== 'warming') switched = `already ${s.tier().batch}`
    live = 0
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let r0 = 0; r0 < ROWS; r0 += LIVE_BATCH) {
      const n = Math.min(LIVE_BATCH, ROWS - r0)
      s.scoreBatch(X.subarray(r0 * NF), n, out.subarray(r0))
      live += n
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const c = process.cpuUsage(c0)
    const cpu = (c.user + c.system) / 1e6
    sink += out[ROWS - 1]!
    if (wall < batch.wall) batch = { wall, cpu }
    runs.push(
      `${w ? `${warmNote(w)}, ` : ''}batch path ${switched}, ${fmt(ROWS / wall).trim()} rows/s (${fmt(ROWS / cpu).trim()} per CPU-s)`,
    )

    const s1 = createScorer(freshBoosting(), treePre)
    if (warm) await warmUp(s1, { bounds: BENCH_BOUNDS })
    const t1 = process.hrtime.bigint()
    for (let r = 0; r < singleRows; r++) {
      for (let j = 0; j < NF; j++) row[j] = X[r * NF + j]!
      sink += s1.scoreOne(row)
    }
    single = Math.min(single, Number(process.hrtime.bigint() - t1) / 1e9)
  }
  console.log(
    `${label.padEnd(58)} batch ${fmt(ROWS / batch.wall)} rows/s (${fmt(ROWS / batch.cpu)} per CPU-s)   single ${fmt(singleRows / single)} rows/s`,
  )
  for (const [i, r] of runs.entries())
    console.log(`${''.padEnd(4)}run ${i + 1}, first ${ROWS.toLocaleString('en-US')} rows: ${r}`)
}

const nodes = (m: TreeEnsembleModel): number => m.trees.reduce((s, t) => s + t.value.length, 0)
console.log(`${ROWS} rows × ${NF} features, one core; best of 5 runs`)
report('boosting 200 × depth 3, default (tiered: array → code)', boosting, treePre)
await reportFirstRows('boosting 200 × depth 3, default, first rows, cold', false)
await reportFirstRows('boosting 200 × depth 3, default scorer after warm-up, first rows', true)
report('boosting 200 × depth 3, generated code', boosting, treePre, { layout: 'codegen' })
report('boosting 200 × depth 3, perfect layout (array walker)', boosting, treePre, { layout: 'perfect' })
report('boosting 200 × depth 3, linked layout, blocked', boosting, treePre, { layout: 'linked' })
report('boosting 200 × depth 3, linked layout, rows outer', boosting, treePre, {
  layout: 'linked',
  treeLoop: 'rows',
})
report('boosting 200 × depth 6, default (tiered: array → code)', boosting6, treePre)
report('boosting 200 × depth 6, generated code', boosting6, treePre, { layout: 'codegen' })
report('boosting 200 × depth 6, perfect layout (array walker)', boosting6, treePre, { layout: 'perfect' })
report(`forest 200 trees/${nodes(forest)} nodes, linked blocked (default)`, forest, treePre)
report(`forest 200 trees/${nodes(forest)} nodes, linked rows outer`, forest, treePre, { treeLoop: 'rows' })
report('linear 8 features + impute/standardise', linear, linearPre)
if (sink === 42) console.log('') // keep results observable so nothing is optimised away
