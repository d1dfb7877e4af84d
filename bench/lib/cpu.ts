/**
 * CPU used by the processes of a benchmark, from Linux's /proc: on a 2-core machine shared by
 * the producer, the broker, the registry and the roles, "where did the cores go" explains a
 * throughput curve better than any single figure. Linux only (the benches run on the stack's
 * machine); elsewhere the meter reports nothing rather than made-up numbers.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every mainstream kernel). */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU seconds a process has used, or undefined once it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces), counted from field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return undefined
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const busy = user! + nice! + system! + irq! + softirq! + steal!
  return { busy: busy / TICKS, total: (busy + idle! + iowait!) / TICKS }
}

/** Pids whose command line matches `pattern` (e.g. the broker's `kafka.Kafka`). */
export function pidsMatching(pattern: RegExp): number[] {
  if (!existsSync('/proc')) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (pattern.test(cmd)) pids.push(Number(entry))
    } catch {
      // exited while listing
    }
  }
  return pids
}

/**
 * Cores used per named group of processes between start() and stop(): CPU seconds / wall
 * seconds (2.0 = both cores of this machine). A group's pids are looked up at start().
 */
export class CpuMeter {
  private readonly groups: Map<string, () => number[]>
  private start0:
    | { wall: number; machine?: { busy: number; total: number }; cpu: Map<string, Map<number, number>> }
    | undefined
  /** The latest reading of each pid: what a process that exited before stop() had used. */
  private readonly last = new Map<number, number>()

  constructor(groups: Record<string, () => number[]>) {
    this.groups = new Map(Object.entries(groups))
  }

  start(): void {
    const cpu = new Map<string, Map<number, number>>()
    for (const [name, pids] of this.groups) {
      const per = new Map<number, number>()
      for (const pid of pids()) {
        const s = cpuSecondsOf(pid)
        if (s !== undefined) per.set(pid, s)
      }
      cpu.set(name, per)
    }
    this.start0 = { wall: performance.now(), machine: machineCpuSeconds(), cpu }
  }

  /** Reads every pid now; call it periodically when a process may exit before stop(). */
  sample(): void {
    for (const per of this.start0?.cpu.values() ?? [])
      for (const pid of per.keys()) {
        const s = cpuSecondsOf(pid)
        if (s !== undefined) this.last.set(pid, s)
      }
  }

  /** Cores used per group, plus `machine` (all processes) and `idle` (cores left unused). */
  stop(): Record<string, number> {
    if (!this.start0) throw new Error('CpuMeter.stop() before start()')
    const wall = (performance.now() - this.start0.wall) / 1000
    const round = (x: number) => Math.round(x * 100) / 100
    const out: Record<string, number> = {}
    for (const [name, per] of this.start0.cpu) {
      let used = 0
      for (const [pid, before] of per) used += (cpuSecondsOf(pid) ?? this.last.get(pid) ?? before) - before
      out[name] = round(used / wall)
    }
    const m = machineCpuSeconds()
    if (m && this.start0.machine) {
      const busy = m.busy - this.start0.machine.busy
      const total = m.total - this.start0.machine.total
      out.machine = round(busy / wall)
      out.idle = round((total - busy) / wall)
    }
    return out
  }
}
