/**
 * Load generator for bench/e2e.bench.ts, run as its own process (the "clinical system"): it
 * publishes prediction requests through the clinical producer and, in rate mode, reads the
 * predictions back to measure latency. A separate process keeps its CPU work off the event
 * loop of the roles being measured, as in a real deployment.
 *
 * Latency of one request = broker timestamp (CreateTime) of its prediction − the time the
 * request was handed to the producer (also written into its eventTime). The prediction is
 * matched by its Kafka key (the requestId, `<tag>-<seq>`), so nothing is Avro-decoded here.
 *
 *   node --import tsx bench/lib/load.ts --prefix P --mode max|rate --duration S [--rate R]
 *        [--seq-start N] [--mark-every W] [--batch-size B] [--linger-ms L]
 *
 * Prints one JSON line (`{"load": …}`) at the end.
 */
import { parseArgs } from 'node:util'
import { configWith } from '../../lib/config/index.ts'
import { loadPima } from '../../lib/data/pima.ts'
import type { FeatureVector } from '../../lib/features/index.ts'
import { closeDeps, createDeps } from '../../lib/runtime/index.ts'
import { createClinicalProducer } from '../../producers/index.ts'
import { percentiles } from './results.ts'

const { values } = parseArgs({
  options: {
    prefix: { type: 'string' },
    mode: { type: 'string', default: 'max' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    tag: { type: 'string', default: 'r' },
    'seq-start': { type: 'string', default: '0' },
    'mark-every': { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '2000' },
    'linger-ms': { type: 'string', default: '5' },
  },
})
if (!values.prefix) throw new Error('--prefix is required')
const mode = values.mode === 'rate' ? 'rate' : 'max'
const durationMs = Number(values.duration) * 1000
const rate = Number(values.rate)
const tag = values.tag!
const seqStart = Number(values['seq-start'])
const markEvery = Number(values['mark-every'])

const config = configWith({ TOPIC_PREFIX: values.prefix, LOG_LEVEL: 'warn' })
const deps = await createDeps(config, { clickhouse: false, clientId: 'riskstream-bench-load' })
const rows: FeatureVector[] = loadPima(config.data.pimaCsvPath).rows
const producer = createClinicalProducer(deps, {
  sourceSystem: 'bench',
  batchSize: Number(values['batch-size']),
  lingerMs: Number(values['linger-ms']),
})
await producer.ready()

// Send time of every request, by its sequence number in this run (the latency reference).
const capacity = mode === 'rate' ? Math.ceil((rate * durationMs) / 1000) + 1000 : 0
const sentAt = new Float64Array(capacity)
const latencies: number[] = []
// Which requests got their prediction: the rest are counted as censored samples at the end.
const answered = new Uint8Array(capacity)
let seen = 0
let consumer: ReturnType<typeof deps.kafka.consumer> | undefined

if (mode === 'rate') {
  // Start reading predictions at the current end of the topic before the first send.
  const admin = deps.kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(deps.topics.predictions)
  await admin.disconnect()
  consumer = deps.kafka.consumer({
    groupId: `${config.topics.prefix}bench-latency-${tag}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 20,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: deps.topics.predictions, fromBeginning: false })
  const joined = new Promise<void>((resolve) => consumer!.on(consumer!.events.GROUP_JOIN, () => resolve()))
  const keyPrefix = `${tag}-`
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const key = m.key?.toString() ?? ''
        if (!key.startsWith(keyPrefix)) continue
        const seq = Number(key.slice(keyPrefix.length))
        const t0 = sentAt[seq]
        if (!t0 || answered[seq]) continue
        answered[seq] = 1
        latencies.push(Number(m.timestamp) - t0)
        seen++
      }
    },
  })
  for (const p of ends)
    consumer.seek({ topic: deps.topics.predictions, partition: p.partition, offset: p.offset })
  await joined
}

let seq = 0
let failed = 0
let acked = 0
const marks: { windowId: number; sentAt: number }[] = []
const onAck = (err?: unknown) => {
  if (err) failed++
  else acked++
}

function sendOne(): void {
  const now = Date.now()
  const s = seq++
  if (mode === 'rate') sentAt[s] = now
  const global = seqStart + s + 1 // the engine's event count once this request is scored
  if (markEvery > 0 && global % markEvery === 0) marks.push({ windowId: global, sentAt: now })
  producer.enqueueRequest(
    { requestId: `${tag}-${s}`, patientId: `bench-${s % 5000}`, eventTime: now, ...rows[s % rows.length]! },
    onAck,
  )
}

const t0 = performance.now()
if (mode === 'max') {
  while (performance.now() - t0 < durationMs) {
    for (let i = 0; i < 500; i++) sendOne()
    if (producer.sender.queued >= producer.sender.highWaterMark) await producer.waitForCapacity()
    else await new Promise((r) => setImmediate(r))
  }
} else {
  // Paced: every tick sends what the schedule says is due, so a slow tick catches up.
  while (performance.now() - t0 < durationMs) {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000)
    while (seq < due && seq < capacity) sendOne()
    await new Promise((r) => setTimeout(r, 1))
  }
}
const sendMs = performance.now() - t0
await producer.flush()
const ackMs = performance.now() - t0

if (consumer) {
  // Wait for the predictions of everything acknowledged (bounded: a stall is reported, not hidden).
  const deadline = Date.now() + 60_000
  while (seen < acked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  await consumer.disconnect()
  // A prediction that never arrived is not left out (that would flatter the tail): it counts
  // with the time waited so far, a lower bound of its real latency (flagged as censored).
  const gaveUpAt = Date.now()
  for (let s = 0; s < seq; s++) if (!answered[s]) latencies.push(gaveUpAt - sentAt[s]!)
}
await closeDeps(deps)

const lat = percentiles(latencies, [50, 95, 99, 99.9])
console.log(
  JSON.stringify({
    load: {
      mode,
      sent: seq,
      acked,
      failed,
      sendMs: Math.round(sendMs),
      ackMs: Math.round(ackMs),
      producedPerSecond: Math.round(acked / (ackMs / 1000)),
      latency:
        mode === 'rate'
          ? {
              samples: lat.n,
              missing: seq - seen,
              censored: seq - seen > 0,
              p50: lat.values[0],
              p95: lat.values[1],
              p99: lat.values[2],
              p999: lat.values[3],
              max: lat.max,
              mean: Math.round(lat.mean * 10) / 10,
            }
          : null,
      marks,
    },
  }),
)
process.exit(0)
