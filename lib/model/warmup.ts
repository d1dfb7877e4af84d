/**
 * Warm-up for long-lived scorers: a shallow ensemble's scorer moves to generated code only after
 * 20,000 rows (scorer.ts, `tieredWalker`), so inference runs seeded synthetic rows (within the
 * caller's bounds, no patient data) through `scoreBatch` and `scoreOne` before the swap, in
 * slices of a few milliseconds that yield to the event loop while the old version serves.
 */
import seedrandom from 'seedrandom'
import { RiskStreamError } from '../errors/index.ts'
import type { Scorer, ScorerTiers } from './types.ts'

/**
 * Wall-time budget. The follower holds a new version back while it warms, so this bounds how
 * late a new version starts serving (and how much a service's start-up is delayed). Measured
 * on the 2-core dev box: 200 trees of depth 3 settle in 0.65–0.9 s at load 2–4 and up to
 * ~1.8 s at load 4–10; depth 6 needs ~4 s. Past the budget the scorer goes live still warming
 * and finishes on live traffic, as it would have without a warm-up (V8's progress is kept).
 */
export const WARM_UP_MAX_MS = 1_500
/**
 * Row budget (batch and single rows together). Rows, not time, are what V8 needs: the batch
 * race sends 4 rows in 256 to generated code, and 200 depth-3 trees settled after either
 * ~100k or ~225–245k rows (V8 optimises the pair loops after ~1,700 iterations, sometimes
 * sooner), so 200k would cut the slower half just short. Cheap models (a stump) may race
 * within timer noise and never settle: 400k of their rows take milliseconds.
 */
export const WARM_UP_MAX_ROWS = 400_000
/**
 * Longest run of scoring between two yields. Requests queued behind a slice wait at most this
 * long (the latency target is p99 ≤ 100 ms; the event loop's own p99 delay is ~18 ms). Only the
 * scorer's one-off compilation of generated code (30–170 ms for 200–1000 trees) can exceed it.
 */
const SLICE_MS = 5
/** Rows per scoreBatch call: two of the tiered walker's 256-row probe blocks. */
const BATCH_ROWS = 512
/** scoreOne calls after each batch while the single-row path is still warming. */
const ONE_CALLS = 32
/** Synthetic rows, cycled: enough that the walk through a tree is not the same few paths. */
const POOL_ROWS = 4_096
const SEED = 'riskstream-scorer-warm-up'

export interface WarmUpOptions {
  /** For each model column (in the scorer's column order), the inclusive range to draw from. */
  bounds: readonly { readonly min: number; readonly max: number }[]
  /** Defaults: WARM_UP_MAX_MS and WARM_UP_MAX_ROWS. */
  maxMs?: number
  maxRows?: number
}

export interface WarmUpReport {
  /** The scorer's tiers when the warm-up ended. */
  tier: ScorerTiers
  /** 'settled': both paths settled (at once for scorers that never tier); otherwise the budget that ran out. */
  stoppedBy: 'settled' | 'time' | 'rows'
  /** Synthetic rows scored, batch and single together. */
  rows: number
  /** Wall time, yields included. */
  ms: number
  /** Time spent scoring (the rest of `ms` the event loop did other work). */
  busyMs: number
  slices: number
  /** The longest slice: how long the event loop was held at most. */
  maxSliceMs: number
}

const settled = (t: ScorerTiers): boolean => t.batch !== 'warming' && t.one !== 'warming'

/** Drives synthetic rows through `scorer` until its tier settles or a budget runs out. */
export async function warmUp(scorer: Scorer, options: WarmUpOptions): Promise<WarmUpReport> {
  const maxMs = options.maxMs ?? WARM_UP_MAX_MS
  const maxRows = options.maxRows ?? WARM_UP_MAX_ROWS
  const start = performance.now()
  checkBounds(options.bounds, scorer.nFeatures)
  const r: WarmUpReport = {
    tier: scorer.tier(),
    stoppedBy: 'settled',
    rows: 0,
    ms: 0,
    busyMs: 0,
    slices: 0,
    maxSliceMs: 0,
  }
  if (settled(r.tier)) return r

  const nf = scorer.nFeatures
  const pool = syntheticRows(options.bounds, nf, POOL_ROWS)
  const out = new Float64Array(BATCH_ROWS)
  const row = new Float64Array(nf)
  let batchAt = 0
  let oneAt = 0
  const step = (): void => {
    if (r.tier.batch === 'warming') {
      scorer.scoreBatch(pool.subarray(batchAt * nf), BATCH_ROWS, out)
      batchAt = (batchAt + BATCH_ROWS) % POOL_ROWS
      r.rows += BATCH_ROWS
    }
    if (r.tier.one === 'warming') {
      for (let k = 0; k < ONE_CALLS; k++) {
        for (let j = 0; j < nf; j++) row[j] = pool[oneAt * nf + j]!
        scorer.scoreOne(row)
        oneAt = (oneAt + 1) % POOL_ROWS
      }
      r.rows += ONE_CALLS
    }
    r.tier = scorer.tier()
  }

  for (;;) {
    if (settled(r.tier)) break
    if (r.rows >= maxRows) {
      r.stoppedBy = 'rows'
      break
    }
    if (performance.now() - start >= maxMs) {
      r.stoppedBy = 'time'
      break
    }
    const s0 = performance.now()
    let now = s0
    do {
      step()
      now = performance.now()
    } while (!settled(r.tier) && r.rows < maxRows && now - s0 < SLICE_MS && now - start < maxMs)
    r.busyMs += now - s0
    r.maxSliceMs = Math.max(r.maxSliceMs, now - s0)
    r.slices++
    // setImmediate, not a resolved promise: I/O callbacks (a request batch arriving) run first.
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  r.ms = performance.now() - start
  return r
}

/** `nRows` rows drawn uniformly within `bounds`, row-major; the same rows on every call. */
export function syntheticRows(
  bounds: WarmUpOptions['bounds'],
  nFeatures: number,
  nRows: number,
): Float64Array {
  checkBounds(bounds, nFeatures)
  const rng = seedrandom(SEED)
  const X = new Float64Array(nRows * nFeatures)
  for (let i = 0; i < X.length; i++) {
    const { min, max } = bounds[i % nFeatures]!
    X[i] = min + rng() * (max - min)
  }
  return X
}

/** Checked even when there is nothing to warm, so a caller's wrong bounds show on any model. */
function checkBounds(bounds: WarmUpOptions['bounds'], nFeatures: number): void {
  if (bounds.length !== nFeatures)
    throw new RiskStreamError(
      'BAD_REQUEST',
      `warm-up needs bounds for ${nFeatures} columns, got ${bounds.length}`,
    )
  bounds.forEach(({ min, max }, j) => {
    if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max))
      throw new RiskStreamError('BAD_REQUEST', `warm-up bounds of column ${j} are not a finite range`)
  })
}
