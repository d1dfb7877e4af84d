/**
 * docker-compose.yml cannot be run here (no Docker engine), so its shape is checked instead:
 * every infrastructure service has a healthcheck, images match the native stack's versions,
 * every role runs through the one CLI with a real role name, and roles wait for what they need.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ROLES, usesClickHouse } from '../../cli/roles.ts'
import { REPO_ROOT } from '../../lib/config/index.ts'

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  healthcheck?: { test: unknown }
  depends_on?: Record<string, { condition: string }>
  environment?: Record<string, unknown>
  ports?: unknown
  container_name?: string
}
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const services = compose.services

describe('docker-compose.yml', () => {
  it('runs Kafka, the registry and ClickHouse with healthchecks', () => {
    for (const name of ['kafka', 'registry', 'clickhouse']) {
      expect(services[name], name).toBeDefined()
      expect(services[name]!.healthcheck?.test, `${name} healthcheck`).toBeDefined()
    }
  })

  it('uses the same Kafka and Apicurio versions as the native stack', () => {
    const pom = readFileSync(path.join(REPO_ROOT, 'stack/kafka/pom.xml'), 'utf8')
    const kafka = /<kafka.version>([^<]+)</.exec(pom)![1]
    expect(services.kafka!.image).toBe(`apache/kafka:${kafka}`)
    const native = readFileSync(path.join(REPO_ROOT, 'stack/native/registry.ts'), 'utf8')
    const apicurio = /version: '(\d+\.\d+\.\d+)', minJava/.exec(native)![1]
    expect(services.registry!.image).toBe(`apicurio/apicurio-registry:${apicurio}`)
  })

  it('has one container per role, each started through the CLI and waiting for healthy infrastructure', () => {
    for (const role of ROLES) {
      const s = services[role]
      expect(s, role).toBeDefined()
      expect(s!.build).toBe('.')
      expect(s!.command).toEqual(['npx', 'tsx', 'bin/riskstream.ts', 'run', role])
      for (const dep of ['kafka', 'registry', 'clickhouse'])
        expect(s!.depends_on?.[dep]?.condition).toBe('service_healthy')
      expect(s!.depends_on?.init?.condition).toBe('service_completed_successfully')
      expect(s!.environment?.CLICKHOUSE_URL).toBe('http://clickhouse:8123')
    }
  })

  it('inference opens no ClickHouse and scales out (no fixed host port or container name)', () => {
    expect(usesClickHouse(['inference'])).toBe(false)
    for (const role of ROLES.filter((r) => r !== 'inference')) expect(usesClickHouse([role]), role).toBe(true)
    expect(services.inference!.ports).toBeUndefined()
    expect(services.inference!.container_name).toBeUndefined()
  })

  it('prepares topics, contracts, migrations and the first model once, before the roles', () => {
    const init = services.init!
    expect(init.command?.join(' ')).toMatch(/riskstream\.ts setup && .*riskstream\.ts train --if-missing/)
    expect(init.depends_on?.init).toBeUndefined()
  })

  it('the API reads ClickHouse as the read-only user', () => {
    expect(services.api!.environment?.CLICKHOUSE_API_USER).toBe('api_readonly')
    const users = readFileSync(path.join(REPO_ROOT, 'stack/clickhouse/users.d/api-readonly.xml'), 'utf8')
    expect(users).toContain('<api_readonly>')
    expect(users).toMatch(/<readonly>\s*2\s*<\/readonly>|readonly/)
  })
})
