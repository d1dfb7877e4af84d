/**
 * Vitest global setup for integration suites: finds the services the tests talk to.
 * 1. Services named by the environment (KAFKA_BROKERS / SCHEMA_REGISTRY_URL answering) are used as they are.
 * 2. Else, where a Docker engine answers, `docker compose` starts them (testcontainers-style, with the
 *    project's own compose file so tests and users run the same images).
 * 3. Else the native stack (Kafka + Apicurio as local JVM processes) is started.
 * The stack is left running afterwards: several test runs (and people) share it, and stopping
 * it under them would fail their tests. `npm run stack:down` (and .ci/run's exit trap) stop it.
 */
import { loadConfig, REPO_ROOT } from '../../lib/config/index.ts'
import { isKafkaUp, isRegistryUp, stackUp } from '../../stack/index.ts'
import { stackOptionsFrom } from '../../stack/config.ts'

export async function setup(): Promise<void> {
  const config = loadConfig()
  const opts = stackOptionsFrom(config, (m) => console.log(`[test-stack] ${m}`))
  const [kafka, registry] = await Promise.all([isKafkaUp(opts), isRegistryUp(opts)])
  if (kafka && registry) return
  console.log(`[test-stack] starting the ${config.stack.mode} stack for integration tests (repo ${REPO_ROOT})`)
  await stackUp(opts)
}
