/**
 * Seeded randomness for learners. Every random choice in training (bootstrap rows, feature
 * subsets, fold assignment) goes through one of these so a (data, params, seed) triple
 * always produces the same model.
 */
import seedrandom from 'seedrandom'

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
}

export function createRng(seed: number | string): Rng {
  // alea: fast, good statistical quality, and stable across seedrandom versions.
  const prng = seedrandom.alea(String(seed))
  return {
    next: () => prng(),
    int: (n: number) => Math.floor(prng() * n),
  }
}

/** In-place Fisher–Yates shuffle driven by `rng`. */
export function shuffleInPlace<T>(arr: T[] | Int32Array | Uint32Array, rng: Rng): void {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = arr[i]!
    arr[i] = arr[j]!
    arr[j] = t as never
  }
}
