/**
 * Training-speed benchmark of the pure-TS learners.
 *  1. Every family at default params on the 768 Pima rows (fit time, warm).
 *  2. Gradient boosting, 100 trees of depth ≤ 6, on a synthetic 100,000-row set.
 * Prints wall and CPU milliseconds. Run: npx tsx bench/learners.bench.ts [rows]
 */
import { getConfig } from '../lib/config/index.ts'
import { loadPima } from '../lib/data/pima.ts'
import { toRow } from '../lib/features/index.ts'
import { gradientBoostingLearner } from '../trainer/learners/gradient-boosting.ts'
import { logisticLearner } from '../trainer/learners/logistic.ts'
import { createRng } from '../trainer/learners/random.ts'
import { randomForestLearner } from '../trainer/learners/random-forest.ts'
import type { Dataset, Learner } from '../trainer/learners/types.ts'

const BIG_ROWS = Number(process.argv[2] ?? 100_000)

async function time(label: string, fn: () => unknown): Promise<void> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await fn()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  console.log(
    `${label.padEnd(48)} wall ${wall.toFixed(0).padStart(6)} ms   cpu ${((cpu.user + cpu.system) / 1000).toFixed(0).padStart(6)} ms`,
  )
}

const pima = loadPima(getConfig().data.pimaCsvPath)
const nf = 8
const pimaData: Dataset = {
  X: Float64Array.from(pima.rows.flatMap(toRow)),
  y: Uint8Array.from(pima.labels),
  nRows: pima.rows.length,
  nFeatures: nf,
}

// biome-ignore lint/suspicious/noExplicitAny: heterogeneous learners
const learners: Learner<any>[] = [gradientBoostingLearner, randomForestLearner, logisticLearner]
for (const l of learners) {
  await l.fit(pimaData, l.defaults, 0) // warm-up (JIT)
  await time(`pima 768 rows, ${l.family} defaults`, () => l.fit(pimaData, l.defaults, 1))
}

// Synthetic: 8 features, 2% missing, a non-linear signal plus label noise.
const rng = createRng('bench-learners')
const X = new Float64Array(BIG_ROWS * nf)
const y = new Uint8Array(BIG_ROWS)
for (let r = 0; r < BIG_ROWS; r++) {
  for (let f = 0; f < nf; f++) X[r * nf + f] = rng.next() < 0.02 ? Number.NaN : rng.next() * 100
  const a = X[r * nf] || 50
  const b = X[r * nf + 1] || 50
  const logit = (a - 50) / 15 + Math.sin(b / 10) - 0.5
  y[r] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0
}
const big: Dataset = { X, y, nRows: BIG_ROWS, nFeatures: nf }
await time(`${BIG_ROWS} rows, gradient_boosting 100 trees depth 6`, () =>
  gradientBoostingLearner.fit(
    big,
    { ...gradientBoostingLearner.defaults, max_iter: 100, max_depth: 6, max_leaf_nodes: 0 },
    1,
  ),
)
await time(`${BIG_ROWS} rows, random_forest 100 trees depth 10`, () =>
  randomForestLearner.fit(big, { ...randomForestLearner.defaults, n_estimators: 100, max_depth: 10 }, 1),
)
await time(`${BIG_ROWS} rows, logistic_regression`, () =>
  logisticLearner.fit(big, logisticLearner.defaults, 1),
)
