/**
 * Sizes of the reliability runs. The fast files (`*.fast.test.ts`, also run by CI's `npm test`)
 * use FAST_N; the full suite (`npm run test:reliability`, RISKSTREAM_TEST_MODE=reliability)
 * uses FULL_N for the crash runs. The mode is read through lib/config, never process.env.
 */
import { testMode } from '../../../lib/config/index.ts'

export const FAST_N = 10_000
export const FULL_N = 100_000

/** True when the whole reliability suite runs (not CI's quick pass). */
export const FULL_SUITE = testMode() === 'reliability'

/** N for the crash runs: 100,000 in the full suite, 10,000 in CI. */
export const CRASH_N = FULL_SUITE ? FULL_N : FAST_N
