/**
 * Load generator for bench/e2e.bench.ts, run as its own process (the "clinical system"): it
 * publishes prediction requests through the clinical producer and, in rate mode, reads the
 * predictions back to measure latency. A separate process keeps its CPU work off the event
 * loop of the roles being measured, as in a real deployment.
 *
 * Latency of one request = broker timestamp (CreateTime) of its prediction − the time the
 * request was handed to the producer (also written into its eventTime). The prediction is
 * matched by its Kafka key (the requestId, `<tag>-<seq>`). Where the time goes, per request:
 * `produce` = handed to the producer → acknowledged (linger, produce request, acks=all);
 * `to score` = acknowledged → the prediction's `scoredAt` (inference's fetch wait and round
 * trip, decode, validation, its event loop's delay); `to publish` = `scoredAt` → the
 * prediction's CreateTime (scoring, and waiting for the inference sender's batch in flight).
 * The last two need the prediction decoded (its `scoredAt`); the stages of the slowest 1 % are
 * reported apart, since the tail is what the p99 target is about.
 *
 *   node --import tsx bench/lib/load.ts --prefix P --mode max|rate --duration S [--rate R]
 *        [--latency false] [--seq-start N] [--mark-every W] [--batch-size B] [--linger-ms L]
 *
 * `--latency false` in rate mode offers the rate without reading the predictions back (the
 * throughput phase: the reader would compete for the CPU the roles are measured on).
 *
 * Prints one JSON line (`{"load": …}`) at the end.
 */
import { parseArgs } from 'node:util'
import { configWith } from '../../lib/config/index.ts'
import { loadPima } from '../../lib/data/pima.ts'
import type { PredictionEvent } from '../../lib/events/index.ts'
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
    latency: { type: 'string', default: 'true' },
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
const measure = mode === 'rate' && values.latency !== 'false'

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
// The milestones after it (0 = not seen): acknowledged, scored (prediction's scoredAt), published.
const ackAt = new Float64Array(measure ? capacity : 0)
const scoredAt = new Float64Array(measure ? capacity : 0)
const publishedAt = new Float64Array(measure ? capacity : 0)
const latencies: number[] = []
// Which requests got their prediction: the rest are counted as censored samples at the end.
const answered = new Uint8Array(capacity)
let seen = 0
let consumer: ReturnType<typeof deps.kafka.consumer> | undefined

if (measure) {
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
        publishedAt[seq] = Number(m.timestamp)
        const { value } = await deps.serde.decode<PredictionEvent>(m.value)
        scoredAt[seq] = value.scoredAt
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
    measure
      ? (err) => {
          if (!err) ackAt[s] = Date.now()
          onAck(err)
        }
      : onAck,
  )
}

/** p50/p99/max of each stage over the answered requests, and its mean over the slowest 1 %. */
function breakdown() {
  const stages = {
    produce: [] as number[],
    toScore: [] as number[],
    toPublish: [] as number[],
    total: [] as number[],
  }
  for (let s = 0; s < seq; s++) {
    if (!answered[s] || !ackAt[s]) continue
    stages.produce.push(ackAt[s]! - sentAt[s]!)
    stages.toScore.push(scoredAt[s]! - ackAt[s]!)
    stages.toPublish.push(publishedAt[s]! - scoredAt[s]!)
    stages.total.push(publishedAt[s]! - sentAt[s]!)
  }
  const p99 = percentiles(stages.total, [99]).values[0]!
  const tail = { produce: 0, toScore: 0, toPublish: 0, n: 0 }
  stages.total.forEach((t, i) => {
    if (t < p99) return
    tail.produce += stages.produce[i]!
    tail.toScore += stages.toScore[i]!
    tail.toPublish += stages.toPublish[i]!
    tail.n++
  })
  const summary = (xs: number[]) => {
    const p = percentiles(xs, [50, 99])
    return { p50: p.values[0], p99: p.values[1], max: p.max, mean: Math.round(p.mean * 10) / 10 }
  }
  const mean = (x: number) => Math.round((x / Math.max(tail.n, 1)) * 10) / 10
  return {
    produce: summary(stages.produce),
    toScore: summary(stages.toScore),
    toPublish: summary(stages.toPublish),
    slowest1pct: {
      n: tail.n,
      fromMs: p99,
      produce: mean(tail.produce),
      toScore: mean(tail.toScore),
      toPublish: mean(tail.toPublish),
    },
  }
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
const stages = measure ? breakdown() : null
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
      latency: measure
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
      stages,
      marks,
    },
  }),
)
process.exit(0)
