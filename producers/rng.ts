/**
 * Seeded randomness for the simulator. Everything a run draws (which rows, which drift
 * decisions, where malformed events go) comes from one seeded generator, so a seed
 * reproduces the same stream; identifiers come from a second generator seeded with the
 * run id, so re-running a seed does not re-use request ids (downstream tables deduplicate
 * by request id and would silently swallow a second run).
 */
import seedrandom from 'seedrandom'

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** True with probability p. */
  chance(p: number): boolean
  /** 32 random bits as a signed integer. */
  int32(): number
}

export function createRng(seed: string | number): Rng {
  // alea: fast, well distributed and seedable by string; quality is ample for simulation.
  const prng = seedrandom.alea(String(seed))
  return {
    next: () => prng(),
    int: (n) => Math.floor(prng() * n),
    chance: (p) => p > 0 && prng() < p,
    int32: () => prng.int32(),
  }
}

const hex8 = (x: number) => (x >>> 0).toString(16).padStart(8, '0')

/**
 * A random UUID (version-4 layout) drawn from `rng`. Used for request and patient ids:
 * pseudonymous surrogates that carry no information about the source record.
 */
export function uuidFrom(rng: Rng): string {
  const a = hex8(rng.int32())
  const b = hex8((rng.int32() & 0xffff0fff) | 0x00004000) // version 4
  const c = hex8((rng.int32() & 0x3fffffff) | 0x80000000) // RFC 4122 variant
  const d = hex8(rng.int32())
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`
}
