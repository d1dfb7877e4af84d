/**
 * Monitors throughput: events/s through PSI + data quality + label join + performance windows
 * (the pure engine), and through the service's analytics pipeline (processors/monitors/pipeline.ts:
 * raw prediction/outcome inserts per batch of 5,000 stream items, window rows, drift events and
 * checkpoints on its default policy, embedded chDB). Before pipeline.ts (JSONEachRow rows and a
 * checkpoint per batch) this path measured ~5.4–8.6k events/s on the 2-core dev machine.
 * Kafka is left out: its cost belongs to the consumer loop, not the monitors.
 * Run: npx tsx bench/monitors.bench.ts [events]
 */
import { mkdtempSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { createClickHouse, migrate } from '../lib/clickhouse/index.ts'
import { configWith } from '../lib/config/index.ts'
import { MonitorEngine } from '../processors/monitors/engine/engine.ts'
import { AnalyticsPipeline } from '../processors/monitors/pipeline.ts'
import { insertDriftEvents } from '../processors/monitors/sink/outputs.ts'
import type { OutcomeEvent, PredictionEvent } from '../processors/monitors/sink/rows.ts'
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
// The service's own analytics path (pipeline.ts) with Kafka replaced by in-memory batches:
// two partitions (predictions, outcomes) read alternately, 5,000 stream items per round.
const pipeline = new AnalyticsPipeline({
  client: ch,
  engine: e2,
  groupId: 'bench',
  topics: { predictions: 'bench.predictions', outcomes: 'bench.outcomes' },
  modelName: 'diabetes-risk',
  ensureArtifacts: async () => {},
  publish: (events) => insertDriftEvents(ch, events),
})
const BATCH = 5000
const offsets = { predictions: 0, outcomes: 0 }
const asRecords = (topic: 'predictions' | 'outcomes', values: (PredictionEvent | OutcomeEvent)[]) =>
  values.map((value) => ({ value, topic: `bench.${topic}`, partition: 0, offset: String(offsets[topic]++) }))
t = performance.now()
for (let i = 0; i < items.length; i += BATCH) {
  const batch = items.slice(i, i + BATCH)
  const lastRound = i + BATCH >= items.length
  const preds = batch.filter((b) => b.type === 'prediction').map((b) => b.value)
  const outs = batch.filter((b) => b.type === 'outcome').map((b) => b.value)
  if (preds.length > 0) await pipeline.handle(asRecords('predictions', preds), lastRound)
  if (outs.length > 0) await pipeline.handle(asRecords('outcomes', outs), lastRound)
}
if (pipeline.dirty) await pipeline.checkpoint()
const fullMs = performance.now() - t
console.log(
  `engine + ClickHouse sink + checkpoints (service pipeline, ${pipeline.stats.checkpoints} checkpoints): ${items.length} events in ${fullMs.toFixed(0)} ms = ${Math.round(items.length / (fullMs / 1000))} events/s`,
)
console.log(
  `load average (1/5/15 min): ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} on ${cpus().length} cores`,
)
await ch.close()
