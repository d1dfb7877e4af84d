/**
 * The native Apicurio Registry: its Quarkus app fetched through Maven and unpacked once, run on
 * the oldest JDK it supports, with SQL storage on an H2 file so schemas survive restarts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { childEnv } from '../../lib/config/index.ts'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { registryBaseUrl, type StackOptions } from '../options.ts'
import { isRegistryUp, setRegistryCompatibility } from '../probe.ts'
import { findJdks, type Jdk, pickJdk } from './jdk.ts'
import { mvn } from './maven.ts'
import { nativePaths } from './paths.ts'
import { alreadyRunning, run, spawnDetached, stopPid, waitUntilUp, withServiceLock } from './process.ts'

/** Newest first; 3.3.x is compiled for Java 21, 3.0.9 is the last line that runs on Java 17. */
export const REGISTRY_CANDIDATES = [
  { version: '3.3.3', minJava: 21 },
  { version: '3.3.2', minJava: 21 },
  { version: '3.0.9', minJava: 17 },
] as const
/** Kafka 4.x brokers need Java 17+. */

const REGISTRY_START_TIMEOUT_MS = 180_000
const REGISTRY_STOP_GRACE_MS = 15_000

function installedRegistryVersion(opts: StackOptions): string | undefined {
  const marker = join(nativePaths(opts).registryApp, '.version')
  return existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined
}

/** Downloads and unpacks the registry's Quarkus app once; returns the version and JDK to run it. */
export async function ensureRegistry(opts: StackOptions): Promise<{ version: string; jdk: Jdk }> {
  const jdks = findJdks(opts.javaHome)
  const installed = installedRegistryVersion(opts)
  if (installed) {
    const min = REGISTRY_CANDIDATES.find((c) => c.version === installed)?.minJava ?? 21
    const jdk = pickJdk(min, jdks)
    if (jdk) return { version: installed, jdk }
    opts.log(`registry: installed ${installed} needs Java ${min}+, none found; trying an older release`)
  }
  const p = nativePaths(opts)
  const dl = join(p.root, 'registry', 'download')
  const errors: string[] = []
  for (const c of REGISTRY_CANDIDATES) {
    const jdk = pickJdk(c.minJava, jdks)
    if (!jdk) {
      errors.push(`${c.version}: needs Java ${c.minJava}+`)
      continue
    }
    try {
      rmSync(dl, { recursive: true, force: true })
      await mvn(
        opts,
        [
          'dependency:copy',
          `-Dartifact=io.apicurio:apicurio-registry-app:${c.version}:tar.gz:all`,
          `-DoutputDirectory=${dl}`,
        ],
        `registry: fetching apicurio-registry-app ${c.version}`,
      )
      const tarball = join(dl, `apicurio-registry-app-${c.version}-all.tar.gz`)
      const staging = `${p.registryApp}.staging`
      rmSync(staging, { recursive: true, force: true })
      mkdirSync(staging, { recursive: true })
      const tar = await run('tar', ['xzf', tarball, '-C', staging])
      if (tar.status !== 0) throw new Error(`tar failed: ${tar.output}`)
      if (!existsSync(join(staging, 'quarkus-run.jar'))) throw new Error('tarball has no quarkus-run.jar')
      writeFileSync(join(staging, '.version'), c.version)
      // Swap in atomically so an interrupted download never leaves a half-unpacked app behind.
      rmSync(p.registryApp, { recursive: true, force: true })
      renameSync(staging, p.registryApp)
      rmSync(dl, { recursive: true, force: true }) // the tarball stays in ~/.m2
      return { version: c.version, jdk }
    } catch (err) {
      errors.push(`${c.version}: ${(err as Error).message}`)
    }
  }
  throw new RiskStreamError(
    'STACK_FAILED',
    `no Apicurio Registry release could be installed: ${errors.join('; ')}`,
  )
}

export function startRegistry(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'registry', () => startRegistryLocked(opts))
}

async function startRegistryLocked(opts: StackOptions): Promise<void> {
  const probe = () => isRegistryUp(opts)
  if (!(await alreadyRunning(opts, 'registry', registryBaseUrl(opts), probe, REGISTRY_START_TIMEOUT_MS))) {
    const { version, jdk } = await ensureRegistry(opts)
    const p = nativePaths(opts)
    mkdirSync(p.registryDb, { recursive: true })
    mkdirSync(p.registryTmp, { recursive: true })
    const env: NodeJS.ProcessEnv = childEnv({
      // SQL storage on an H2 *file* (the default is H2 in-memory), so schemas and their ids survive
      // `stack down`/`up`. Credentials must stay constant: H2 stores them in the file.
      APICURIO_STORAGE_KIND: 'sql',
      APICURIO_STORAGE_SQL_KIND: 'h2',
      APICURIO_DATASOURCE_URL: `jdbc:h2:file:${join(p.registryDb, 'registry')}`,
      APICURIO_DATASOURCE_USERNAME: 'sa',
      APICURIO_DATASOURCE_PASSWORD: 'sa',
      APICURIO_STORAGE_SNAPSHOT_LOCATION: p.registryTmp,
      APICURIO_IMPORT_WORK_DIR: p.registryTmp,
      QUARKUS_HTTP_HOST: '127.0.0.1',
      QUARKUS_HTTP_PORT: String(opts.registryPort),
      // The management interface (health/metrics) is built in and would take 0.0.0.0:9000; a random
      // loopback port avoids clashing with anything else (ClickHouse's native port is 9000 too).
      QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
      QUARKUS_MANAGEMENT_PORT: '0',
      QUARKUS_OTEL_SDK_DISABLED: 'true',
    })
    const pid = spawnDetached(
      opts,
      'registry',
      jdk.java,
      [
        '-Xms64m',
        '-Xmx512m',
        `-Djava.io.tmpdir=${p.registryTmp}`,
        '-jar',
        join(p.registryApp, 'quarkus-run.jar'),
      ],
      { cwd: p.registryApp, env },
    )
    opts.log(
      `registry: started Apicurio ${version} pid ${pid} (Java ${jdk.major}), log ${p.logFile('registry')}`,
    )
    await waitUntilUp(opts, 'registry', pid, probe, REGISTRY_START_TIMEOUT_MS)
  }
  // Always (re)assert BACKWARD: consumers on the old schema must read data written with the new one.
  const level = await setRegistryCompatibility(opts, 'BACKWARD')
  opts.log(`registry: global compatibility ${level}`)
}

export function stopRegistry(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'registry', () => stopPid(opts, 'registry', REGISTRY_STOP_GRACE_MS))
}
