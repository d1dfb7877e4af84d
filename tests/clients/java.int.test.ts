/**
 * The Java client guide for real (docs/clients.md): docs/clients/java, built with Maven in a
 * temporary copy, produces requests with Apicurio's Avro serializer in Confluent-compatible
 * mode; the inference service scores each request exactly once.
 * Skipped only where Maven or a JDK is missing; a failing build fails the test.
 */
import { execFile, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../lib/config/index.ts'
import type { InferenceService } from '../../processors/inference/index.ts'
import { uniqueId } from '../helpers/index.ts'
import { stumpArtifact, versionEvent } from '../processors/inference/fixtures.ts'
import { createHarness, type Harness } from '../processors/inference/harness.ts'
import { expectEachScoredOnce } from './scored.ts'

const run = promisify(execFile)
const has = (cmd: string) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).status === 0
const toolchain = has('mvn') && has('javac') && has('java')
const N = 300

let dir: string | undefined
let classpath = ''
let h: Harness | undefined
let service: InferenceService | undefined

async function must(
  what: string,
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  try {
    return await run(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 })
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string }
    throw new Error(`${what} failed: ${(e.stdout || '').slice(-1500)}${(e.stderr || e.message).slice(-1500)}`)
  }
}

beforeAll(async () => {
  if (!toolchain) return
  dir = mkdtempSync(path.join(tmpdir(), 'riskstream-java-'))
  cpSync(path.join(REPO_ROOT, 'docs', 'clients', 'java'), dir, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}target`),
  })
  await must(
    'mvn compile',
    'mvn',
    ['-q', '-B', 'compile', 'dependency:build-classpath', '-Dmdep.outputFile=target/classpath.txt'],
    dir,
  )
  classpath = `${path.join(dir, 'target', 'classes')}:${readFileSync(path.join(dir, 'target', 'classpath.txt'), 'utf8').trim()}`
  h = await createHarness()
}, 300_000)

afterAll(async () => {
  await service?.stop()
  await h?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!toolchain)('Java producer (docs/clients/java)', () => {
  it('every request produced from Java gets exactly one prediction', async () => {
    const { deps } = h!
    const model = uniqueId('java-')
    await h!.publishVersion(versionEvent(stumpArtifact(model, 1)))

    const registryApi = deps.config.registry.url.replace(/\/apis\/ccompat\/v\d+$/, '/apis/registry/v3')
    const { stdout } = await must(
      'ProduceRequests',
      'java',
      ['-cp', classpath, 'io.riskstream.examples.ProduceRequests', String(N)],
      dir!,
      {
        ...process.env,
        TOPIC_PREFIX: deps.config.topics.prefix,
        KAFKA_BROKERS: deps.config.kafka.brokers.join(','),
        REGISTRY_URL: registryApi,
        SCHEMA_DIR: path.join(REPO_ROOT, 'schemas'),
      },
    )
    const sent = JSON.parse(stdout.trim().split('\n').at(-1)!) as { requests: number; requestIds: string[] }
    expect(sent.requests).toBe(N)
    expect(new Set(sent.requestIds).size).toBe(N)

    service = await expectEachScoredOnce(h!, model, sent.requestIds)
  }, 300_000)
})
