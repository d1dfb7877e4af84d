/**
 * Every subcommand through the real entry (a child process, as a person types it): its help,
 * a usage error, and one real invocation against the running stack, in a temporary ClickHouse
 * directory and under unique topic names.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../cli/exit-codes.ts'
import { buildProgram } from '../../cli/program.ts'
import { installShutdown } from '../../cli/shutdown.ts'
import { REPO_ROOT } from '../../lib/config/index.ts'
import { uniqueId } from '../helpers/index.ts'
import { exitsWithin, runCli, startCli } from './run.ts'

const tmp = mkdtempSync(path.join(tmpdir(), 'riskstream-cli-'))
const env = {
  CLICKHOUSE_PATH: path.join(tmp, 'chdb'),
  TOPIC_PREFIX: `${uniqueId('cli')}.`,
  API_PORT: '0',
  // Small training settings: this file checks the commands, not the models.
  SEARCH_BUDGET: '1',
  CV_FOLDS: '3',
}

/** Every command path of the program ("models promote", …), read from the program itself. */
function commandPaths(): string[] {
  const shutdown = installShutdown({ target: { on: () => process, off: () => process } as never })
  const walk = (c: Command, prefix: string[]): string[][] =>
    c.commands.flatMap((s) => [[...prefix, s.name()], ...walk(s, [...prefix, s.name()])])
  return walk(buildProgram({ shutdown, exitCode: 0 }), []).map((p) => p.join(' '))
}

describe('the riskstream command line', () => {
  it('prints its version and its exit codes', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    const v = await runCli(['--version'])
    expect(v).toMatchObject({ code: 0, stdout: `${pkg.version}\n` })
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit codes:')
  })

  it('has help on every subcommand', async () => {
    const paths = commandPaths()
    expect(paths).toEqual(
      expect.arrayContaining(['stack up', 'models promote', 'produce simulate', 'drift-check', 'demo']),
    )
    for (const p of paths) {
      const r = await runCli([...p.split(' '), '--help'])
      expect(r.code, `${p} --help`).toBe(0)
      expect(r.stdout, `${p} --help`).toMatch(new RegExp(`^Usage: riskstream ${p}`, 'm'))
      // Every command says what it does, beyond the generated usage line.
      expect(r.stdout.split('\n')[2]?.trim().length ?? 0, `${p} has a description`).toBeGreaterThan(10)
    }
  }, 240_000)

  it('answers a usage error with exit code 2 and one line, never INTERNAL', async () => {
    for (const args of [
      ['nope'],
      ['runs', '--limit', 'x'],
      ['run', 'everything'],
      ['models', 'promote', 'v1'],
    ]) {
      const r = await runCli(args, env)
      expect(r.code, args.join(' ')).toBe(EXIT.USAGE)
      expect(r.stderr, args.join(' ')).not.toContain('INTERNAL')
      expect(r.stdout, args.join(' ')).toBe('')
    }
  }, 120_000)

  it('runs each command for real: stack, setup, produce, train, models, runs, drift-check', async () => {
    const status = await runCli(['stack', 'status', '--json'], env)
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true })

    expect((await runCli(['stack', 'up'], env)).code).toBe(0)

    const setup = await runCli(['setup'], env)
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.stdout).toMatch(/applied migration/)
    expect((await runCli(['migrate'], env)).code).toBe(0)

    expect(JSON.parse((await runCli(['models', 'list', '--json'], env)).stdout)).toEqual([])
    expect(JSON.parse((await runCli(['runs', '--json'], env)).stdout)).toEqual([])

    const scenarios = await runCli(['produce', 'scenarios'], env)
    expect(scenarios.stdout.split('\n')).toEqual(expect.arrayContaining(['demo', 'stable']))
    const sim = await runCli(
      ['produce', 'simulate', '--scenario', 'stable', '--count', '40', '--rate', '0'],
      env,
    )
    expect(sim.code, sim.stderr).toBe(0)
    expect(sim.stdout).toMatch(/summary: scenario=stable sent=40 /)
    const replay = await runCli(['produce', 'replay', '--count', '20', '--rate', '0'], env)
    expect(replay.code, replay.stderr).toBe(0)
    expect(replay.stdout).toMatch(/summary: replay sent=20 /)

    const train = await runCli(['train', '--report'], env, 300_000)
    expect(train.code, train.stderr).toBe(0)
    expect(train.stdout).toMatch(/run \S+: \S+ v1 → (production|rejected)/)
    const versions = JSON.parse((await runCli(['models', 'list', '--json'], env)).stdout) as {
      version: number
    }[]
    expect(versions.map((v) => v.version)).toEqual([1])
    const runs = JSON.parse((await runCli(['runs', '--json'], env)).stdout) as unknown[]
    expect(runs).toHaveLength(1)
    expect((await runCli(['train', '--if-missing'], env)).stdout).toMatch(/exists; nothing to train|v2/)

    const promote = await runCli(['models', 'promote', '1', '--reason', 'cli test'], env)
    expect(promote.code, promote.stderr).toBe(0)
    expect(promote.stdout).toContain('v1 is now production')
    const rollback = await runCli(['models', 'rollback'], env)
    expect(rollback.code).toBe(EXIT.FAILURE)
    expect(rollback.stderr).toMatch(/^riskstream: MODEL_NOT_FOUND: /m)

    const drift = await runCli(['drift-check', '--json'], env)
    expect([EXIT.OK, EXIT.RETRAIN_RECOMMENDED], drift.stderr).toContain(drift.code)
    expect(JSON.parse(drift.stdout)).toHaveProperty(
      'retraining_recommended',
      drift.code === EXIT.RETRAIN_RECOMMENDED,
    )
  }, 600_000)

  it('`run api` runs until Ctrl-C, then stops within the bound and exits 0', async () => {
    const run = startCli('riskstream', ['run', 'api'], env)
    await run.waitForOutput(/^running: api/m, 120_000)
    run.signal('SIGINT')
    // A hang bound (the 15 s for Ctrl-C), not a performance figure.
    const { code } = await exitsWithin(run, 15_000)
    expect(code, run.output().stderr).toBe(0)
    expect(run.output().stdout).toMatch(/stopping: flushing/)
  }, 180_000)
})
