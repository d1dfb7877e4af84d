/**
 * The whole loop against the real stack: the demo's scripted scenario runs to completion, and
 * the assertions read ClickHouse and the topics — the glucose shift produced a data_drift event
 * naming Glucose, the trainer produced a new production version, inference switched to it, and
 * no request was lost or predicted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DemoReport, runDemo } from '../../bin/demo.ts'
import { createClickHouse, queryRows } from '../../lib/clickhouse/index.ts'
import { createKafka, createSerde, topicNames } from '../../lib/kafka/index.ts'
import { latestProductionFromTopic } from '../../lib/registry/index.ts'
import { collectMessages, testConfig } from '../helpers/index.ts'

const config = testConfig({ API_PORT: '0', API_KEYS: 'e2e-key', RETRAIN_COOLDOWN_MS: '0' })
const topics = topicNames(config.topics.prefix)
const kafka = createKafka(config)
const serde = createSerde(config)
const ch = createClickHouse(config)
let demo: DemoReport

beforeAll(async () => {
  demo = await runDemo({
    config,
    once: true,
    skipStack: true,
    // Enough traffic for the sliding windows (1000) to see the shift twice, small enough for CI.
    count: 6000,
    rate: 400,
    train: { budget: 2, folds: 5 },
    timeoutMs: 900_000,
    summaryEveryMs: 10_000,
    say: (m) => console.log(m),
  })
}, 1_000_000)
afterAll(() => ch.close())

describe('the loop closes end to end', () => {
  it('detects the glucose shift as data drift naming glucose', async () => {
    expect(demo.closed).toBe(true)
    const events = await queryRows<{ kind: string; features: string[]; model_version: number }>(
      ch,
      `SELECT kind, features, model_version FROM drift_events FINAL WHERE kind = 'data_drift'`,
    )
    expect(
      events.some((e) => e.features.includes('glucose') && Number(e.model_version) === demo.initialVersion),
    ).toBe(true)
    const onTopic = await collectMessages(kafka, topics.driftEvents, (m) => m.length > 0)
    const decoded = await Promise.all(
      onTopic.map((m) => serde.decode<{ kind: string; features: string[] }>(m.value, 'DriftEvent')),
    )
    expect(decoded.some((d) => d.value.kind === 'data_drift' && d.value.features.includes('glucose'))).toBe(
      true,
    )
  })

  it('retrained and promoted a new production version, recoverable from the topic alone', async () => {
    const prod = await latestProductionFromTopic(kafka, serde, topics.modelVersions, config.model.name)
    expect(prod).not.toBeNull()
    expect(prod!.version).toBeGreaterThan(demo.initialVersion)
    const runs = await queryRows<{ trigger: string; status: string; version: number }>(
      ch,
      `SELECT trigger, status, version FROM training_runs FINAL WHERE version = {v:UInt32}`,
      { v: prod!.version },
    )
    expect(runs.map((r) => r.status)).toEqual(['succeeded'])
    expect(runs[0]!.trigger).not.toBe('initial')
  })

  it('switched inference to the new version, never going back within a partition', async () => {
    const newVersion = demo.status.productionVersion!
    const requests = await collectMessages(kafka, topics.requests, (m) => m.length >= demo.simulation.sent)
    const predictions = await collectMessages(kafka, topics.predictions, (m) => m.length >= requests.length)
    const byPartition = new Map<number, { offset: bigint; version: number }[]>()
    for (const m of predictions) {
      const { value } = await serde.decode<{ modelVersion: number }>(m.value, 'Prediction')
      const list = byPartition.get(m.partition) ?? []
      list.push({ offset: BigInt(m.offset), version: value.modelVersion })
      byPartition.set(m.partition, list)
    }
    let sawNew = false
    for (const list of byPartition.values()) {
      list.sort((a, b) => (a.offset < b.offset ? -1 : 1))
      const firstNew = list.findIndex((p) => p.version === newVersion)
      if (firstNew < 0) continue
      sawNew = true
      expect(list.slice(firstNew).every((p) => p.version === newVersion)).toBe(true)
    }
    expect(sawNew).toBe(true)
  })

  it('lost no request and predicted none twice', async () => {
    const requests = await collectMessages(kafka, topics.requests, (m) => m.length >= demo.simulation.sent)
    const predictions = await collectMessages(kafka, topics.predictions, (m) => m.length >= requests.length)
    const requestIds = new Set(requests.map((m) => m.key))
    expect(requestIds.size).toBe(requests.length)
    const predictedIds = predictions.map((m) => m.key)
    // Exactly one prediction on the wire per request (no crash here, so no redelivery either).
    expect(predictedIds.length).toBe(requestIds.size)
    expect(new Set(predictedIds)).toEqual(requestIds)
    const [row] = await queryRows<{ n: number; u: number }>(
      ch,
      'SELECT count() AS n, uniqExact(request_id) AS u FROM predictions FINAL',
    )
    expect(Number(row!.n)).toBe(requestIds.size)
    expect(Number(row!.u)).toBe(requestIds.size)
  })
})
