/**
 * Native stack: real Kafka (KRaft) and Apicurio Registry as plain JVM processes, for machines
 * without a Docker engine; one file per service in stack/native/ (paths, processes, JDKs, Maven,
 * Kafka, registry), this one starts and stops them together.
 */
import { startKafka, stopKafka } from './native/kafka.ts'
import { startRegistry, stopRegistry } from './native/registry.ts'
import type { StackOptions } from './options.ts'

export { runningPid } from './native/process.ts'
export { startKafka, stopKafka }

export async function nativeUp(opts: StackOptions): Promise<void> {
  // Independent services: start both JVMs at once (downloads are still queued one after the other).
  const results = await Promise.allSettled([startKafka(opts), startRegistry(opts)])
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed.length > 0) throw failed[0].reason
}

export async function nativeDown(opts: StackOptions): Promise<void> {
  // Independent services: stop both concurrently (Kafka's controlled shutdown takes a few seconds).
  await Promise.all([stopRegistry(opts), stopKafka(opts)])
}
