/**
 * Plays a role through several "lives": each life is a process that either crashes by itself
 * (a crash hook), is killed with SIGKILL once the role's progress reaches a fraction, or is the
 * final, uninterrupted one. After every crash the next life starts at once; the recovery time
 * is how long until the role's committed progress moves past where the crashed life left it.
 */
import type { LoadGate } from './load.ts'
import type { Proc } from './procs.ts'

export type LifeEnd = { kind: 'self' } | { kind: 'kill'; at: number } | { kind: 'final' }
export interface Life {
  label: string
  start: () => Proc
  end: LifeEnd
}

export interface Crash {
  label: string
  /** Progress (fraction) when the life died. */
  progressAtCrash: number
  /** ms from the crash until progress moved past progressAtCrash (undefined: not yet seen). */
  recoveryMs?: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs the lives in order and returns the final (running) process and the crashes.
 * `progress` is the role's committed progress as a fraction of the run (0..1). With a `gate`
 * (the load's), the load is held from each crash until the next life runs, so every kill lands
 * at its fraction of the input rather than wherever the load got to during the restart.
 */
export async function playLives(
  lives: Life[],
  progress: () => Promise<number>,
  track: (p: Proc) => void,
  gate?: LoadGate,
): Promise<{ final: Proc; crashes: Crash[]; recovered: Promise<void> }> {
  const crashes: Crash[] = []
  const recoveries: Promise<void>[] = []
  for (const life of lives) {
    const proc = life.start()
    track(proc)
    if (life.end.kind === 'self') {
      // A crash hook may fire before the life prints "running:" when a backlog is waiting.
      await proc.waitForLine(/running: /).catch(() => undefined)
      gate?.release()
      const { signal } = await proc.exitWithin(180_000, `${life.label}: its crash hook should have fired`)
      if (signal !== 'SIGKILL')
        throw new Error(
          `${life.label}: exited with ${signal} instead of the SIGKILL crash hook; see ${proc.logFile}`,
        )
    } else {
      await proc.waitForLine(/running: /)
      gate?.release()
      if (life.end.kind === 'final')
        return { final: proc, crashes, recovered: Promise.all(recoveries).then(() => undefined) }
      const at = life.end.at
      const deadline = Date.now() + 180_000
      while ((await progress()) < at) {
        if (!proc.isRunning()) throw new Error(`${life.label} died on its own; see ${proc.logFile}`)
        if (Date.now() > deadline) throw new Error(`${life.label}: progress never reached ${at}`)
        await sleep(20)
      }
      await proc.kill9()
    }
    gate?.hold()
    const crash: Crash = { label: life.label, progressAtCrash: await progress() }
    crashes.push(crash)
    const t0 = Date.now()
    recoveries.push(
      (async () => {
        const deadline = Date.now() + 240_000
        while (Date.now() < deadline) {
          const p = await progress()
          if (p > crash.progressAtCrash || p >= 1) {
            crash.recoveryMs = Date.now() - t0
            return
          }
          await sleep(100)
        }
      })(),
    )
  }
  throw new Error('the last life must be final')
}
