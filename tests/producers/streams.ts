/** Helpers shared by the producer integration tests: read a topic back with broker timestamps. */
import type { Kafka } from 'kafkajs'
import { readToEnd } from '../../lib/kafka/index.ts'

export interface ReadMessage {
  key: string
  value: Buffer | null
  timestamp: number
  partition: number
  headers: Record<string, string>
}

/** Everything on `topic` up to its current end (the producers awaited their acks before returning). */
export async function readAll(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const out: ReadMessage[] = []
  await readToEnd(kafka, topic, (m, partition) => {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v)
    out.push({
      key: m.key?.toString() ?? '',
      value: m.value,
      timestamp: Number(m.timestamp),
      partition,
      headers,
    })
  })
  return out
}
