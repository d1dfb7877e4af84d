/**
 * The Python client guide for real (docs/clients.md): docs/clients/produce.py, in a fresh venv
 * with confluent-kafka from PyPI, produces requests and outcomes through the registry's
 * Confluent-compatible API; the inference service scores each request exactly once.
 * Skipped only where no python3 is on the machine; a failing venv or pip install fails the test.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import type { InferenceService } from '../../processors/inference/index.ts'
import { collectMessages, uniqueId } from '../helpers/index.ts'
import { stumpArtifact, versionEvent } from '../processors/inference/fixtures.ts'
import { createHarness, type Harness } from '../processors/inference/harness.ts'
import { expectEachScoredOnce } from './scored.ts'

const run = promisify(execFile)
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined
const N = 500

let venv: string | undefined
let h: Harness | undefined
let service: InferenceService | undefined

/** Runs a command, failing with its own words (stderr tail) when it exits non-zero. */
async function must(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    return await run(cmd, args, { cwd: REPO_ROOT, env, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 })
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string }
    throw new Error(`${what} failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`)
  }
}

beforeAll(async () => {
  if (!python) return
  venv = mkdtempSync(path.join(tmpdir(), 'riskstream-py-'))
  await must('python3 -m venv', python, ['-m', 'venv', venv])
  // The install the guide gives; PyPI is reachable from this machine and CI.
  await must('pip install confluent-kafka[avro]', path.join(venv, 'bin', 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    'confluent-kafka[avro]',
  ])
  h = await createHarness()
}, 300_000)

afterAll(async () => {
  await service?.stop()
  await h?.close()
  if (venv) rmSync(venv, { recursive: true, force: true })
})

describe.skipIf(!python)('Python producer (docs/clients/produce.py)', () => {
  it('every request produced from Python gets exactly one prediction', async () => {
    const { deps } = h!
    const { topics } = deps
    const model = uniqueId('py-')
    await h!.publishVersion(versionEvent(stumpArtifact(model, 1)))

    const { stdout } = await must(
      'docs/clients/produce.py',
      path.join(venv!, 'bin', 'python'),
      ['docs/clients/produce.py', '--count', String(N), '--outcomes', '--seed', '7'],
      {
        ...process.env,
        TOPIC_PREFIX: deps.config.topics.prefix,
        KAFKA_BROKERS: deps.config.kafka.brokers.join(','),
        SCHEMA_REGISTRY_URL: deps.config.registry.url,
      },
    )
    const sent = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      requests: number
      outcomes: number
      requestIds: string[]
    }
    expect(sent.requests).toBe(N)
    expect(new Set(sent.requestIds).size).toBe(N)

    service = await expectEachScoredOnce(h!, model, sent.requestIds, (p) =>
      expect(p.probability).toBe((p.glucose as number) < 140 ? 0.2 : 0.8),
    )

    // The outcomes decode with RiskStream's own reader schema.
    const outcomes = await collectMessages(deps.kafka, topics.outcomes, (m) => m.length >= N)
    expect(outcomes).toHaveLength(N)
    const first = await deps.serde.decode<{ requestId: string; outcome: number }>(
      outcomes[0]!.value,
      'OutcomeLabel',
    )
    expect(sent.requestIds).toContain(first.value.requestId)
    expect([0, 1]).toContain(first.value.outcome)
  }, 300_000)
})
