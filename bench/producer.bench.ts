/**
 * Producer throughput: 100,000 prediction requests published by `replay` at maximum rate
 * (rate 0) through the real broker and registry, acks=all, no compression.
 * Target: ≥ 10,000 events/s on the 2-core development machine.
 *
 *   npx tsx bench/producer.bench.ts [--count 100000] [--batch-size 2000]
 *
 * Uses its own topic prefix and deletes its topics afterwards. Prints one human line and
 * one JSON line (for bench/run.ts to collect).
 */
import { parseArgs } from 'node:util'
import { configWith } from '../lib/config/index.ts'
import { ensureTopics, topicSpecs } from '../lib/kafka/index.ts'
import { closeDeps, createDeps } from '../lib/runtime/index.ts'
import { replay } from '../producers/replay.ts'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    'batch-size': { type: 'string', default: '2000' },
    'label-share': { type: 'string', default: '0' },
  },
})
const count = Number(values.count)
const batchSize = Number(values['batch-size'])
const labelShare = Number(values['label-share'])

const config = configWith({ TOPIC_PREFIX: `bench-producer-${Date.now().toString(36)}.`, LOG_LEVEL: 'warn' })
const deps = await createDeps(config, { clickhouse: false, clientId: 'riskstream-bench' })
const admin = deps.kafka.admin()
await admin.connect()
try {
  await ensureTopics(admin, config)
  // Warm-up: registry round trips, metadata and connections, outside the measurement.
  await replay(deps, { count: 2000, rate: 0, labelShare: 0, batchSize })
  const summary = await replay(deps, { count, rate: 0, labelShare, labelDelayMs: 0, batchSize, seed: 7 })
  const perSecond = summary.rate
  console.log(
    `producer: ${summary.sent} requests in ${(summary.durationMs / 1000).toFixed(2)} s → ${perSecond} events/s ` +
      `(batch ${batchSize}, rejected ${summary.rejected}, failed ${summary.failed}; target ≥ 10000/s)`,
  )
  console.log(JSON.stringify({ bench: 'producer', ...summary, batchSize, eventsPerSecond: perSecond }))
} finally {
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => {})
  await admin.disconnect()
  await closeDeps(deps)
}
