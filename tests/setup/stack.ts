/**
 * Vitest global setup for integration suites: finds the services the tests talk to.
 * 1. Services already answering at the configured addresses (KAFKA_BROKERS / SCHEMA_REGISTRY_URL,
 *    e.g. a stack someone started, or CI's) are used as they are.
 * 2. Else, where a Docker engine answers, testcontainers starts Kafka and the registry from the
 *    project's own docker-compose.yml (the images users run) on the default ports, and removes
 *    them when the run ends. ClickHouse stays embedded (chDB) unless CLICKHOUSE_URL names a
 *    server: each test process then owns its own engine and tables, which a shared server
 *    database would not give.
 * 3. Else the native stack (Kafka + Apicurio as local JVM processes; ClickHouse embedded).
 * The native stack is left running afterwards: several test runs (and people) share it, and
 * stopping it under them would fail their tests. `npm run stack:down` (and .ci/run's exit trap) stop it.
 */
import { randomBytes } from 'node:crypto'
import type { StartedDockerComposeEnvironment } from 'testcontainers'
import { checkPrereqs, formatMissing, type Need } from '../../cli/prereqs.ts'
import { loadConfig, REPO_ROOT, setTestRunTag } from '../../lib/config/index.ts'
import { createKafka } from '../../lib/kafka/index.ts'
import { stackOptionsFrom } from '../../stack/config.ts'
import { dockerAvailable } from '../../stack/docker.ts'
import { isKafkaUp, isRegistryUp, stackUp } from '../../stack/index.ts'

let containers: StartedDockerComposeEnvironment | undefined

/**
 * This run's tag: a digit then five base-36 characters. Test names are `<letters><tag><time>…`
 * (tests/helpers uniqueId), and a time in base 36 never starts with a digit, so the tag tells this
 * run's topics from any other run's on a shared broker.
 */
const RUN_TAG = `0${randomBytes(4).readUInt32BE(0).toString(36).padStart(5, '0').slice(-5)}`
const OWN_TOPIC = new RegExp(`^[a-z]*${RUN_TAG}`)

export async function setup(): Promise<void> {
  // Before the test processes are forked: they inherit it.
  setTestRunTag(RUN_TAG)
  const config = loadConfig()
  const opts = stackOptionsFrom(config, (m) => console.log(`[test-stack] ${m}`))
  const [kafka, registry] = await Promise.all([isKafkaUp(opts), isRegistryUp(opts)])
  // What the suites need from the machine, before anything starts: one line each if missing.
  const needs: Need[] = [
    'pima',
    'chromium',
    'prometheus',
    'mlflow',
    ...(kafka && registry ? [] : (['java', 'maven'] as const)),
  ]
  const { missing, notes } = await checkPrereqs(config, needs)
  for (const n of notes) console.log(`[test-stack] ${n}`)
  if (missing.length > 0) {
    console.error(formatMissing(missing))
    throw new Error(`missing prerequisites: ${missing.map((m) => m.what).join(', ')}`)
  }
  if (kafka && registry) return
  if (config.stack.mode !== 'native' && (await dockerAvailable())) {
    console.log('[test-stack] Docker answers: starting Kafka and the registry with testcontainers')
    // Imported only here: testcontainers pulls in an undici that needs a zstd binding Node 20.20
    // lacks, so importing it on a machine without Docker would break every integration run.
    const { DockerComposeEnvironment, Wait } = await import('testcontainers')
    containers = await new DockerComposeEnvironment(REPO_ROOT, 'docker-compose.yml')
      .withWaitStrategy('kafka-1', Wait.forHealthCheck())
      .withWaitStrategy('registry-1', Wait.forHealthCheck())
      .up(['kafka', 'registry'])
    return
  }
  console.log(`[test-stack] starting the native stack for integration tests (repo ${REPO_ROOT})`)
  await stackUp({ ...opts, mode: 'native' })
}

export async function teardown(): Promise<void> {
  await deleteOwnTopics().catch((err) =>
    console.warn(`[test-stack] topics of this run not deleted: ${String(err)}`),
  )
  await containers?.down({ removeVolumes: true })
}

/**
 * Deletes the topics this run created. The tests never delete their own (a test that fails
 * leaves them for inspection until the run ends), and a broker that keeps every run's topics
 * accumulates tens of thousands of partitions over a few dozen runs, until it fails with
 * "Too many open files".
 */
async function deleteOwnTopics(): Promise<void> {
  const kafka = createKafka(loadConfig(), { clientId: 'riskstream-test-teardown' })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const own = (await admin.listTopics()).filter((t) => OWN_TOPIC.test(t))
    for (let i = 0; i < own.length; i += 100)
      await admin.deleteTopics({ topics: own.slice(i, i + 100), timeout: 30_000 })
    if (own.length > 0) console.log(`[test-stack] deleted the ${own.length} topics of this run`)
  } finally {
    await admin.disconnect()
  }
}
