/**
 * One isolated reliability run: its own topic prefix and model name, its own chDB directory
 * per child process, the contracts registered, a production model version published (artifact
 * inline, so inference needs no ClickHouse), and the same artifact stored in the monitor's chDB.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Admin } from 'kafkajs'
import { configWith } from '../../../lib/config/index.ts'
import { ensureTopics, registerContracts, TOPIC_SCHEMAS } from '../../../lib/kafka/index.ts'
import { SIGNATURE_HEADER, signerFor } from '../../../lib/model/signing.ts'
import { seqOfEventId } from '../../../lib/registry/registry.ts'
import { closeDeps, createDeps, type Deps } from '../../../lib/runtime/index.ts'
import { uniqueId } from '../../helpers/index.ts'
import { stumpArtifact, versionEvent } from '../../processors/inference/fixtures.ts'
import { type Proc, queryIn, runChild } from './procs.ts'

export interface Run {
  env: Record<string, string>
  /** Environment of the inference / monitor children (each its own CLICKHOUSE_PATH). */
  inferenceEnv: Record<string, string>
  monitorEnv: Record<string, string>
  deps: Deps
  admin: Admin
  model: string
  groups: { inference: string; monitor: string }
  procs: Proc[]
  close(): Promise<void>
}

export async function createRun(overrides: Record<string, string> = {}): Promise<Run> {
  const model = uniqueId('m').toLowerCase()
  const env = {
    TOPIC_PREFIX: `${uniqueId('rel')}.`,
    MODEL_NAME: model,
    TOPIC_PARTITIONS: '3',
    // Long enough that the time windows never close mid-run (they would differ run to run).
    DRIFT_TIME_WINDOWS: '1d',
    ...overrides,
  }
  const chdb = (role: string) => mkdtempSync(path.join(tmpdir(), `riskstream-rel-${role}-`))
  // The test process never opens chDB (queries go through a child that owns the directory).
  const deps = await createDeps(configWith({ ...env, CLICKHOUSE_PATH: chdb('test'), LOG_LEVEL: 'warn' }), {
    clickhouse: false,
  })
  const admin = deps.kafka.admin()
  await admin.connect()
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(admin, deps.config)
      break
    } catch (err) {
      if (attempt >= 5) throw err
      await new Promise((r) => setTimeout(r, 500 * attempt))
    }
  }
  await registerContracts(deps.serde, deps.topics, TOPIC_SCHEMAS)
  const monitorEnv = { ...env, CLICKHOUSE_PATH: chdb('monitor') }
  await runChild('seed-artifact', ['seed-artifact', model, '1'], { ...monitorEnv, LOG_LEVEL: 'warn' })
  const event = versionEvent(stumpArtifact(model, 1))
  await deps.producer.send({
    topic: deps.topics.modelVersions,
    acks: -1,
    // Signed as the registry signs (lib/model/signing.ts): inference refuses unsigned versions.
    messages: [
      {
        key: model,
        value: deps.serde.encode(deps.topics.modelVersions, event),
        headers: { [SIGNATURE_HEADER]: signerFor(deps.config).sign(event, seqOfEventId(event.eventId)) },
      },
    ],
  })
  const procs: Proc[] = []
  return {
    env,
    inferenceEnv: { ...env, CLICKHOUSE_PATH: chdb('inference') },
    monitorEnv,
    deps,
    admin,
    model,
    groups: {
      inference: `${env.TOPIC_PREFIX}riskstream-inference-${model}`,
      monitor: `${env.TOPIC_PREFIX}riskstream-monitor`,
    },
    procs,
    async close() {
      await Promise.all(procs.map((p) => p.kill9()))
      await admin.disconnect().catch(() => undefined)
      await closeDeps(deps)
    },
  }
}

export interface PredictionCounts {
  /** Rows the table holds after merging duplicates (FINAL). */
  final: number
  /** Rows physically stored (duplicates not yet merged included). */
  raw: number
  uniq: number
  /** request_ids not of this run (must be 0). */
  foreign: number
}

/** The exactly-once check's figures, read from the monitor's chDB once the monitor has exited. */
export async function predictionCounts(run: Run, runId: string): Promise<PredictionCounts> {
  const [r] = await queryIn<Record<string, number>>(
    run.monitorEnv,
    `SELECT
       (SELECT count() FROM predictions FINAL) AS final,
       (SELECT count() FROM predictions) AS raw,
       (SELECT uniqExact(request_id) FROM predictions) AS uniq,
       (SELECT count() FROM predictions WHERE NOT startsWith(request_id, {p:String})) AS foreign`,
    { p: `${runId}-` },
  )
  return { final: Number(r!.final), raw: Number(r!.raw), uniq: Number(r!.uniq), foreign: Number(r!.foreign) }
}
