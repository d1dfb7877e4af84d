/**
 * Micro-benchmark of the monitor hot path: SlidingBinnedWindow.push for 9 series (8 features +
 * the model score) × 10 reference bins, with a PSI evaluation of every series every 250 events.
 * Prints events/s. Run: npx tsx bench/stats.bench.ts [events]
 */
import seedrandom from 'seedrandom'
import { DRIFT_STATISTICS } from '../lib/stats/index.ts'
import { binIndex, binSlots, buildReference } from '../lib/stats/reference.ts'
import { SlidingBinnedWindow } from '../lib/stats/windows.ts'

const SERIES = 9
const BINS = 10
const WINDOW = 1000
const EVAL_EVERY = 250
const EVENTS = Number(process.argv[2] ?? 2_000_000)

const rng = seedrandom('bench-stats')
const refs = Array.from({ length: SERIES }, () =>
  buildReference(
    Array.from({ length: 768 }, () => rng() * 100),
    BINS,
  ),
)
// Pre-generate raw values so the timing measures binning + window + PSI, not the RNG.
const POOL = 65_536
const raw = new Float64Array(POOL * SERIES)
for (let i = 0; i < raw.length; i++) raw[i] = rng() < 0.02 ? Number.NaN : rng() * 110 - 5

const window = new SlidingBinnedWindow({ size: WINDOW, features: SERIES, binsPerFeature: refs.map(binSlots) })
const idx = new Array<number>(SERIES)
const psi = DRIFT_STATISTICS.psi
let sink = 0

function run(events: number): number {
  const t0 = process.hrtime.bigint()
  for (let e = 0; e < events; e++) {
    const base = (e % POOL) * SERIES
    for (let f = 0; f < SERIES; f++) idx[f] = binIndex(refs[f]!.edges, raw[base + f]!)
    window.push(idx)
    if ((e + 1) % EVAL_EVERY === 0)
      for (let f = 0; f < SERIES; f++) sink += psi.compute(refs[f]!, window.counts(f))
  }
  return Number(process.hrtime.bigint() - t0) / 1e9
}

run(200_000) // warm-up (JIT)
const seconds = run(EVENTS)
console.log(
  JSON.stringify({
    bench: 'stats.slidingWindow+psi',
    series: SERIES,
    bins: BINS,
    window: WINDOW,
    psiEvery: EVAL_EVERY,
    events: EVENTS,
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: Math.round(EVENTS / seconds),
    checksum: Number(sink.toFixed(3)),
  }),
)
