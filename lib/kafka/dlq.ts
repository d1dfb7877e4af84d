import type { IHeaders, Producer } from 'kafkajs'
import type { RiskStreamError } from '../errors/index.ts'

/** Header names on dead-lettered records; monitors and tests read them back. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  message: 'x-dlq-message',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  schemaId: 'x-dlq-schema-id',
  failedAt: 'x-dlq-failed-at',
} as const

export interface UnusableRecord {
  topic: string
  partition: number
  offset: string
  key: Buffer | string | null
  value: Buffer | null
  headers?: IHeaders
}

/**
 * Forwards an unusable record, byte for byte, to the dead-letter topic with the reason.
 * The error message comes from our own error codes and field names, never from the
 * record's content, so no patient data lands in a header.
 */
export function dlqMessage(
  record: UnusableRecord,
  error: Pick<RiskStreamError, 'code' | 'message' | 'details'>,
) {
  const schemaId =
    error.details?.schemaId ??
    (record.value && record.value.length >= 5 && record.value[0] === 0 ? record.value.readInt32BE(1) : '')
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...(record.headers ?? {}),
      [DLQ_HEADERS.reason]: error.code,
      [DLQ_HEADERS.message]: error.message.slice(0, 500),
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: record.offset,
      [DLQ_HEADERS.schemaId]: String(schemaId),
      [DLQ_HEADERS.failedAt]: String(Date.now()),
    },
    // Same partition number as the source, so DLQ offsets line up with co-partitioned topics.
    partition: record.partition,
  }
}

export async function sendToDlq(
  producer: Producer,
  dlqTopic: string,
  records: { record: UnusableRecord; error: Pick<RiskStreamError, 'code' | 'message' | 'details'> }[],
): Promise<void> {
  if (records.length === 0) return
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: records.map((r) => dlqMessage(r.record, r.error)),
  })
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name]
  if (v === undefined) return undefined
  return Array.isArray(v) ? String(v[0]) : String(v)
}
