/**
 * The trainer's two trigger consumers: drift events and retrain requests become Triggers handed
 * to `submit`, one record at a time; a record without an id is dead-lettered.
 */
import { RiskStreamError } from '../../lib/errors/index.ts'
import type { DriftEventRecord, RetrainRequestEvent as RetrainRequestRecord } from '../../lib/events/index.ts'
import {
  createStreamConsumer,
  type DecodedRecord,
  type Rejection,
  type SchemaName,
  type StreamConsumer,
} from '../../lib/kafka/index.ts'
import type { Logger } from '../../lib/log/index.ts'
import { driftWantsRetrain, type Trigger, type TriggerDecision } from './policy.ts'
import type { TrainerDeps } from './train-once.ts'

export type Submit = (trigger: Trigger, wantsRetrain?: boolean) => Promise<TriggerDecision>

function sourceOf(r: DecodedRecord<unknown>) {
  return { topic: r.topic, partition: r.partition, offset: r.offset }
}

/** The drift event's trigger, or null when it has no id. */
export function driftTrigger(r: DecodedRecord<DriftEventRecord>): Trigger | null {
  const e = r.value
  if (!e.eventId) return null
  return {
    id: `drift:${e.eventId}`,
    kind: 'drift',
    modelName: e.modelName,
    reason: `${e.kind} (${e.severity}) on v${e.modelVersion}`,
    source: sourceOf(r),
  }
}

/** The retrain request's trigger, or null when it has no id. */
export function requestTrigger(r: DecodedRecord<RetrainRequestRecord>): Trigger | null {
  const q = r.value
  if (!q.requestId) return null
  const by = q.requestedBy ? ` by ${q.requestedBy}` : ''
  return {
    id: `request:${q.requestId}`,
    kind: 'manual',
    modelName: q.modelName,
    reason: q.reason ? `${q.reason}${by}` : `manual request${by}`,
    source: sourceOf(r),
  }
}

export function createTriggerConsumers(deps: TrainerDeps, submit: Submit, log: Logger): StreamConsumer[] {
  const { config, topics } = deps
  const groupBase = `${config.topics.prefix}riskstream-trainer`
  const dlqTopic = (source: string) =>
    source === topics.driftEvents ? topics.dlq.driftEvents : topics.dlq.retrainRequests

  async function onDrift(records: DecodedRecord<DriftEventRecord>[]): Promise<Rejection[]> {
    const rejects: Rejection[] = []
    for (const r of records) {
      const trigger = driftTrigger(r)
      if (trigger) await submit(trigger, driftWantsRetrain(r.value))
      else
        rejects.push({
          record: r,
          error: new RiskStreamError('VALIDATION_FAILED', 'drift event without eventId'),
        })
    }
    return rejects
  }

  async function onRequest(records: DecodedRecord<RetrainRequestRecord>[]): Promise<Rejection[]> {
    const rejects: Rejection[] = []
    for (const r of records) {
      const trigger = requestTrigger(r)
      if (trigger) await submit(trigger)
      else
        rejects.push({
          record: r,
          error: new RiskStreamError('VALIDATION_FAILED', 'retrain request without requestId'),
        })
    }
    return rejects
  }

  function consumer<T>(
    group: string,
    topic: string,
    readerSchema: SchemaName,
    handleBatch: (records: DecodedRecord<T>[]) => Promise<Rejection[]>,
  ): StreamConsumer {
    return createStreamConsumer<T>({
      kafka: deps.kafka,
      groupId: `${groupBase}.${group}`,
      topics: [topic],
      serde: deps.serde,
      readerSchema,
      dlqProducer: deps.producer,
      dlqTopic,
      log,
      handleBatch,
    })
  }

  return [
    consumer('drift', topics.driftEvents, 'DriftEvent', onDrift),
    consumer('requests', topics.retrainRequests, 'RetrainRequest', onRequest),
  ]
}
