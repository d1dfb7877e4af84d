import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { createStreamConsumer, DLQ_HEADERS, ensureTopics, localSchemaJson } from '../../../lib/kafka/index.ts'
import { getLogger } from '../../../lib/log/index.ts'
import { closeDeps, createDeps, type Deps } from '../../../lib/runtime/index.ts'
import { collectMessages, testConfig, uniqueId, waitFor } from '../../helpers/index.ts'

let deps: Deps

beforeAll(async () => {
  deps = await createDeps(testConfig(), { clickhouse: false })
  const admin = deps.kafka.admin()
  await admin.connect()
  await ensureTopics(admin, deps.config)
  await admin.disconnect()
})
afterAll(() => closeDeps(deps))

const request = (i: number) => ({
  requestId: `req-${i}`,
  patientId: `p-${i}`,
  eventTime: 1_700_000_000_000 + i,
  sourceSystem: 'test',
  pregnancies: 1,
  glucose: i % 2 === 0 ? null : 120,
  bloodPressure: 70,
  skinThickness: null,
  insulin: null,
  bmi: 31.5,
  diabetesPedigreeFunction: 0.3,
  age: 40,
  notes: null,
})

describe('Avro through the schema registry', () => {
  it('produces a record with a registered schema and decodes it back', async () => {
    const topic = deps.topics.requests
    const id = await deps.serde.register(topic, 'PredictionRequest')
    expect(id).toBeGreaterThan(0)
    // The subject is the topic's, passed explicitly (not the record's namespace).
    const subjectId = await deps.serde.registry.getLatestSchemaId(`${topic}-value`)
    expect(subjectId).toBe(id)
    await deps.producer.send({
      topic,
      acks: -1,
      messages: [0, 1].map((i) => ({ key: `req-${i}`, value: deps.serde.encode(topic, request(i)) })),
    })
    const messages = await collectMessages(deps.kafka, topic, (m) => m.length >= 2)
    const decoded = await Promise.all(messages.map((m) => deps.serde.decode(m.value, 'PredictionRequest')))
    expect(
      decoded.map((d) => d.value).sort((a, b) => String(a.requestId).localeCompare(String(b.requestId))),
    ).toEqual([request(0), request(1)])
    expect(decoded[0]!.schemaId).toBe(id)
  })

  it('refuses to encode a value that does not fit the schema, naming the field', async () => {
    await deps.serde.register(deps.topics.outcomes, 'OutcomeLabel')
    const err = (() => {
      try {
        deps.serde.encode(deps.topics.outcomes, {
          requestId: 'r',
          outcome: 'yes',
          labelledAt: 1,
          source: 's',
        })
      } catch (e) {
        return e as RiskStreamError
      }
    })()
    expect(err?.code).toBe('VALIDATION_FAILED')
    expect(err?.message).toContain('outcome')
  })

  it('rejects an incompatible schema change in the registry (BACKWARD)', async () => {
    const topic = `${deps.config.topics.prefix}compat-${uniqueId()}`
    const base = localSchemaJson('OutcomeLabel') as { fields: object[] }
    await deps.serde.register(topic, 'OutcomeLabel', base)
    // Adding a required field without a default breaks readers of old data.
    const breaking = { ...base, fields: [...base.fields, { name: 'ward', type: 'string' }] }
    const err = await deps.serde.register(topic, 'OutcomeLabel', breaking).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RiskStreamError)
    expect((err as RiskStreamError).code).toBe('SCHEMA_INCOMPATIBLE')
    // The same change with a default is accepted.
    const compatible = { ...base, fields: [...base.fields, { name: 'ward', type: 'string', default: '' }] }
    await expect(deps.serde.register(topic, 'OutcomeLabel', compatible)).resolves.toBeGreaterThan(0)
  })
})

describe('dead-letter handling in the shared consumer loop', () => {
  it('forwards an undecodable record to the DLQ with its reason and keeps consuming', async () => {
    const topic = deps.topics.outcomes
    await deps.serde.register(topic, 'OutcomeLabel')
    const good = (i: number) => ({
      key: `o-${i}`,
      value: deps.serde.encode(topic, { requestId: `o-${i}`, outcome: 1, labelledAt: 1, source: 't' }),
    })
    await deps.producer.send({
      topic,
      acks: -1,
      messages: [
        good(1),
        { key: 'bad-magic', value: Buffer.from('{"json":true}') },
        { key: 'unknown-id', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2]) },
        good(2),
      ],
    })
    const seen: string[] = []
    const consumer = createStreamConsumer<{ requestId: string }>({
      kafka: deps.kafka,
      groupId: uniqueId('g-'),
      topics: [topic],
      serde: deps.serde,
      readerSchema: 'OutcomeLabel',
      dlqProducer: deps.producer,
      dlqTopic: () => deps.topics.dlq.outcomes,
      log: getLogger('test'),
      handleBatch: async (records) => {
        for (const r of records) seen.push(r.value.requestId)
        return []
      },
    })
    await consumer.start()
    try {
      await waitFor(() => seen.length >= 2, { message: 'good records' })
      const dead = await collectMessages(deps.kafka, deps.topics.dlq.outcomes, (m) => m.length >= 2)
      expect(seen.sort()).toEqual(['o-1', 'o-2'])
      const byKey = Object.fromEntries(dead.map((d) => [d.key, d.headers]))
      expect(byKey['bad-magic']![DLQ_HEADERS.reason]).toBe('DECODE_BAD_MAGIC')
      expect(byKey['unknown-id']![DLQ_HEADERS.reason]).toBe('DECODE_UNKNOWN_SCHEMA')
      expect(byKey['unknown-id']![DLQ_HEADERS.sourceTopic]).toBe(topic)
      expect(byKey['unknown-id']![DLQ_HEADERS.schemaId]).toBe(String(0x7fffff_f0))
      expect(dead.find((d) => d.key === 'bad-magic')!.value!.toString()).toBe('{"json":true}')
      await waitFor(() => consumer.stats.processed >= 4, {
        message: 'offsets committed past the poison pills',
      })
      expect(consumer.stats.deadLettered).toBe(2)
    } finally {
      await consumer.stop()
    }
  })
})
