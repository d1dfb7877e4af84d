/**
 * "Does the service ANSWER?" probes. A live pid or an open port is not enough: Kafka accepts
 * TCP connections before its metadata is ready and Quarkus binds before the registry's storage is up.
 */
import { Kafka, logLevel } from 'kafkajs'
import { kafkaProbeAuth } from './kafka-security.ts'
import { kafkaBrokers, registryCcompatUrl, type StackOptions } from './options.ts'

/**
 * True when a kafkajs admin can fetch cluster metadata from the broker. A secured broker
 * (kafkaSecurity) is probed through its SASL_SSL listener as the broker's own SCRAM user, so
 * "up" also means TLS and authentication work.
 */
export async function isKafkaUp(
  opts: Pick<StackOptions, 'kafkaPort' | 'kafkaSecurity'> & Partial<Pick<StackOptions, 'dataDir'>>,
  timeoutMs = 3000,
): Promise<boolean> {
  let auth: ReturnType<typeof kafkaProbeAuth>
  if (opts.kafkaSecurity) {
    auth = opts.dataDir
      ? kafkaProbeAuth({ dataDir: opts.dataDir, kafkaSecurity: opts.kafkaSecurity })
      : undefined
    if (!auth) return false
  }
  const kafka = new Kafka({
    ...auth,
    clientId: 'riskstream-stack-probe',
    brokers: [kafkaBrokers(opts)],
    connectionTimeout: Math.min(timeoutMs, 1000),
    requestTimeout: timeoutMs,
    // A probe must fail fast: the caller loops, kafkajs' own retries would only hide the answer.
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    return cluster.brokers.length > 0
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** True when the registry's Confluent-compatible API lists subjects (HTTP 200). */
export async function isRegistryUp(
  opts: Pick<StackOptions, 'registryPort'>,
  timeoutMs = 3000,
): Promise<boolean> {
  return httpOk(`${registryCcompatUrl(opts)}/subjects`, timeoutMs)
}

/** ClickHouse HTTP interface answers `Ok.` on /ping. */
export async function isClickHouseUp(url: string, timeoutMs = 3000): Promise<boolean> {
  return httpOk(`${url.replace(/\/+$/, '')}/ping`, timeoutMs)
}

async function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    return res.status === 200
  } catch {
    return false
  }
}

/** Sets the registry-wide compatibility level (idempotent); returns the level the registry reports. */
export async function setRegistryCompatibility(
  opts: Pick<StackOptions, 'registryPort'>,
  level: 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE' = 'BACKWARD',
): Promise<string> {
  const res = await fetch(`${registryCcompatUrl(opts)}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await res.json().catch(() => ({}))) as { compatibility?: string }
  if (!res.ok) throw new Error(`PUT /config answered HTTP ${res.status}`)
  return body.compatibility ?? level
}
