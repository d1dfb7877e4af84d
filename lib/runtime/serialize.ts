/** A promise-chain mutex: async tasks run one at a time, in call order. */

/**
 * Returns `run(fn)`: `fn` starts once every task queued before it has settled, and `run`
 * settles with it. A task that fails does not stop the ones queued after it.
 */
export function createSerializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn)
    chain = run.catch(() => undefined)
    return run
  }
}
