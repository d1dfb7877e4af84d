/**
 * Monitors throughput: events/s through PSI + data quality + label join + performance windows
 * (the pure engine), and through the engine plus the ClickHouse sink (raw prediction/outcome
 * inserts in batches of 5,000 + window rows + one checkpoint per batch, embedded chDB).
 * Kafka is left out: its cost belongs to the consumer loop, not the monitors.
 * Run: npx tsx bench/monitors.bench.ts [events]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createClickHouse, migrate } from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { MonitorEngine } from '../processors/monitors/engine/engine.ts'
import { insertWindowRows, saveCheckpoint } from '../processors/monitors/engine/store.ts'
import { batchToken, insertOutcomes, insertPredictions } from '../processors/monitors/sink/insert.ts'
import {
  type OutcomeEvent,
  outcomeRow,
  type PredictionEvent,
  predictionRow,
} from '../processors/monitors/sink/rows.ts'
import { pimaArtifact, pimaStream } from '../tests/processors/monitors/streams.ts'

const n = Number(process.argv[2] ?? 100_000)
const config = configWith({
  CLICKHOUSE_PATH: mkdtempSync(path.join(tmpdir(), 'bench-monitors-')),
  LOG_LEVEL: 'warn',
})
const artifact = pimaArtifact()
const items = [...pimaStream({ n, seed: 'bench', scenario: { kind: 'glucose_shift', at: n / 2, sds: 1 } })]
const mk = () =>
  new MonitorEngine({ modelName: 'diabetes-risk', drift: config.drift, artifactFor: () => artifact })

let t = performance.now()
const e1 = mk()
for (const it of items) it.type === 'prediction' ? e1.onPrediction(it.value) : e1.onOutcome(it.value)
e1.takeOutputs()
const engineMs = performance.now() - t
console.log(
  `engine only: ${items.length} events in ${engineMs.toFixed(0)} ms = ${Math.round(items.length / (engineMs / 1000))} events/s`,
)

const ch = createClickHouse(config)
await migrate(ch)
const e2 = mk()
const BATCH = 5000
t = performance.now()
for (let i = 0; i < items.length; i += BATCH) {
  const batch = items.slice(i, i + BATCH)
  const preds = batch.filter((b) => b.type === 'prediction')
  const outs = batch.filter((b) => b.type === 'outcome')
  await insertPredictions(
    ch,
    preds.map((p, j) => predictionRow(p.value as PredictionEvent, { partition: 0, offset: String(i + j) })),
    batchToken('predictions', 'bench', 0, String(i), String(i + BATCH)),
  )
  await insertOutcomes(
    ch,
    outs.map((o, j) => outcomeRow(o.value as OutcomeEvent, { partition: 0, offset: String(i + j) })),
    batchToken('outcomes', 'bench', 0, String(i), String(i + BATCH)),
  )
  for (const it of batch) it.type === 'prediction' ? e2.onPrediction(it.value) : e2.onOutcome(it.value)
  await insertWindowRows(ch, e2.takeOutputs().rows)
  await saveCheckpoint(ch, 'bench', {
    seq: i / BATCH + 1,
    offsets: { 'bench:0': String(i + BATCH) },
    state: e2.snapshot(),
  })
}
const fullMs = performance.now() - t
console.log(
  `engine + ClickHouse sink + checkpoints: ${items.length} events in ${fullMs.toFixed(0)} ms = ${Math.round(items.length / (fullMs / 1000))} events/s`,
)
await ch.close()
