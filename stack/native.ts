/**
 * Native stack: real Kafka (KRaft, single combined node) and Apicurio Registry as plain JVM
 * processes, for machines without a Docker engine (CI, dev boxes). Everything is fetched from
 * Maven Central through `mvn` (the ~/.m2 cache makes later runs offline) and lives under dataDir:
 *
 *   kafka-libs/            jars from stack/kafka/pom.xml        run/*.pid    pid files
 *                          (or opts.kafkaLibsDir, shared with another stack)
 *   kafka/server.properties, kafka/data/ (KRaft log dirs)       logs/*.log   process output
 *   kafka/tls/             CA, keystore and secrets when opts.kafkaSecurity is set (kafka-security.ts)
 *   registry/app/          unpacked apicurio-registry-app tarball
 *   registry/db/           H2 file database: schemas survive stack restarts
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv } from '../lib/config/index.ts'
import { RiskStreamError } from '../lib/errors/index.ts'
import {
  assertScramUsersMatch,
  ensureKafkaTls,
  type KafkaTls,
  kafkaSecurityProps,
  recordScramUsers,
  scramFormatArgs,
} from './kafka-security.ts'
import { kafkaBrokers, registryBaseUrl, type StackOptions } from './options.ts'
import { isKafkaUp, isRegistryUp, setRegistryCompatibility } from './probe.ts'

const STACK_DIR = dirname(fileURLToPath(import.meta.url))
const KAFKA_POM = join(STACK_DIR, 'kafka', 'pom.xml')

/** Newest first; 3.3.x is compiled for Java 21, 3.0.9 is the last line that runs on Java 17. */
export const REGISTRY_CANDIDATES = [
  { version: '3.3.3', minJava: 21 },
  { version: '3.3.2', minJava: 21 },
  { version: '3.0.9', minJava: 17 },
] as const
/** Kafka 4.x brokers need Java 17+. */
export const KAFKA_MIN_JAVA = 17

const KAFKA_START_TIMEOUT_MS = 90_000
const REGISTRY_START_TIMEOUT_MS = 180_000
const KAFKA_STOP_GRACE_MS = 30_000
const REGISTRY_STOP_GRACE_MS = 15_000

export type NativeServiceName = 'kafka' | 'registry'

export function nativePaths(opts: Pick<StackOptions, 'dataDir' | 'kafkaLibsDir'>) {
  const root = resolve(opts.dataDir)
  return {
    root,
    runDir: join(root, 'run'),
    logsDir: join(root, 'logs'),
    kafkaLibs: opts.kafkaLibsDir ? resolve(opts.kafkaLibsDir) : join(root, 'kafka-libs'),
    kafkaDir: join(root, 'kafka'),
    kafkaData: join(root, 'kafka', 'data'),
    kafkaConfig: join(root, 'kafka', 'server.properties'),
    kafkaLog4j: join(root, 'kafka', 'log4j2.properties'),
    registryApp: join(root, 'registry', 'app'),
    registryDb: join(root, 'registry', 'db'),
    registryTmp: join(root, 'registry', 'tmp'),
    pidFile: (s: NativeServiceName) => join(root, 'run', `${s}.pid`),
    logFile: (s: NativeServiceName) => join(root, 'logs', `${s}.log`),
  }
}

// ---------------------------------------------------------------- processes

/** Pid from the pid file if that process is alive and is still ours (guards against pid reuse). */
export function runningPid(
  opts: Pick<StackOptions, 'dataDir'>,
  service: NativeServiceName,
): number | undefined {
  const file = nativePaths(opts).pidFile(service)
  if (!existsSync(file)) return undefined
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return isAlive(pid, service === 'kafka' ? 'kafka.Kafka' : 'quarkus-run.jar') ? pid : undefined
}

function isAlive(pid: number, cmdlineMarker?: string): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // On Linux also reject zombies and recycled pids; elsewhere the signal-0 check must do.
  const proc = `/proc/${pid}`
  if (!existsSync(proc)) return true
  try {
    const stat = readFileSync(`${proc}/stat`, 'utf8')
    if (/\)\s+Z\s/.test(stat)) return false
    if (cmdlineMarker) return readFileSync(`${proc}/cmdline`, 'utf8').includes(cmdlineMarker)
  } catch {
    return false
  }
  return true
}

function spawnDetached(
  opts: StackOptions,
  service: NativeServiceName,
  cmd: string,
  args: string[],
  extra: SpawnOptions = {},
): number {
  const p = nativePaths(opts)
  mkdirSync(p.runDir, { recursive: true })
  mkdirSync(p.logsDir, { recursive: true })
  const out = openSync(p.logFile(service), 'a')
  writeFileSync(out, `\n==== ${new Date().toISOString()} starting ${service}: ${cmd} ${args.join(' ')}\n`)
  // detached: own process group, so the service outlives `stack up` and `down` can signal the group.
  const child = spawn(cmd, args, { ...extra, detached: true, stdio: ['ignore', out, out] })
  closeSync(out)
  if (child.pid === undefined) throw new RiskStreamError('STACK_FAILED', `could not spawn ${cmd}`)
  child.on('error', () => {}) // reported through the readiness wait instead
  child.unref()
  writeFileSync(p.pidFile(service), String(child.pid))
  return child.pid
}

/**
 * Per-service lock file, so concurrent `up`/`down`/restart calls on one dataDir (parallel test
 * workers, two terminals) cannot both spawn a broker and overwrite each other's pid file.
 * A lock whose holder process is gone is taken over.
 */
async function withServiceLock<T>(
  opts: StackOptions,
  service: NativeServiceName,
  fn: () => Promise<T>,
): Promise<T> {
  const p = nativePaths(opts)
  mkdirSync(p.runDir, { recursive: true })
  const lockFile = join(p.runDir, `${service}.lock`)
  const t0 = Date.now()
  let announced = false
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8').trim() || '0', 10)
      if (!(holder > 0 && isAlive(holder))) {
        rmSync(lockFile, { force: true }) // stale: its holder died mid-operation
        continue
      }
      if (Date.now() - t0 > REGISTRY_START_TIMEOUT_MS + 60_000) {
        throw new RiskStreamError(
          'STACK_FAILED',
          `${service}: ${lockFile} held by pid ${holder} for too long`,
        )
      }
      if (!announced) opts.log(`${service}: waiting for pid ${holder} (holds ${lockFile})`)
      announced = true
      await sleep(250)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lockFile, { force: true })
  }
}

async function stopPid(opts: StackOptions, service: NativeServiceName, graceMs: number): Promise<void> {
  const pidFile = nativePaths(opts).pidFile(service)
  const pid = runningPid(opts, service)
  if (pid === undefined) {
    rmSync(pidFile, { force: true })
    opts.log(`${service}: not running`)
    return
  }
  opts.log(`${service}: stopping pid ${pid} (SIGTERM)`)
  // Leave a trace in the service log, so an unexpected shutdown there can be told apart from ours.
  writeFileSync(
    nativePaths(opts).logFile(service),
    `\n==== ${new Date().toISOString()} stack stop: SIGTERM pid ${pid}\n`,
    {
      flag: 'a',
    },
  )
  const t0 = Date.now()
  signalGroup(pid, 'SIGTERM')
  while (isAlive(pid) && Date.now() - t0 < graceMs) await sleep(200)
  if (isAlive(pid)) {
    opts.log(`${service}: still alive after ${graceMs} ms, sending SIGKILL`)
    signalGroup(pid, 'SIGKILL')
    while (isAlive(pid) && Date.now() - t0 < graceMs + 5000) await sleep(100)
  }
  rmSync(pidFile, { force: true })
  opts.log(`${service}: stopped in ${Date.now() - t0} ms`)
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig) // the process group created by detached spawn
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      /* already gone */
    }
  }
}

async function waitUntilUp(
  opts: StackOptions,
  service: NativeServiceName,
  pid: number,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const t0 = Date.now()
  const logFile = nativePaths(opts).logFile(service)
  while (Date.now() - t0 < timeoutMs) {
    if (await probe()) {
      opts.log(`${service}: answering after ${Date.now() - t0} ms`)
      return
    }
    if (!isAlive(pid)) {
      rmSync(nativePaths(opts).pidFile(service), { force: true })
      throw new RiskStreamError(
        'STACK_FAILED',
        `${service} (pid ${pid}) exited during startup; see ${logFile}`,
        {
          details: { service, logFile, tail: tail(logFile) },
        },
      )
    }
    await sleep(500)
  }
  throw new RiskStreamError(
    'STACK_FAILED',
    `${service} did not answer within ${timeoutMs} ms; see ${logFile}`,
    {
      details: { service, pid, logFile, tail: tail(logFile) },
    },
  )
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

// ---------------------------------------------------------------- Java and Maven

interface Jdk {
  java: string
  major: number
}

/** Every JDK we can find (the configured JAVA_HOME, PATH, the usual install roots), deduplicated. */
export function findJdks(javaHome?: string): Jdk[] {
  const homes = new Set<string>()
  if (javaHome) homes.add(javaHome)
  const roots = [
    '/usr/lib/jvm',
    '/usr/java',
    '/opt/java',
    '/opt',
    join(homedir(), '.sdkman', 'candidates', 'java'),
    '/Library/Java/JavaVirtualMachines',
  ]
  for (const root of roots) {
    let entries: string[] = []
    try {
      entries = readdirSync(root)
    } catch {
      continue
    }
    for (const e of entries) {
      homes.add(join(root, e))
      homes.add(join(root, e, 'Contents', 'Home')) // macOS bundle layout
    }
  }
  const onPath = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim()
  if (onPath) {
    try {
      homes.add(dirname(dirname(realpathSync(onPath))))
    } catch {
      /* dangling link */
    }
  }
  const seen = new Set<string>()
  const jdks: Jdk[] = []
  for (const home of homes) {
    const java = join(home, 'bin', 'java')
    if (!existsSync(java)) continue
    const real = realpathSync(java)
    if (seen.has(real)) continue
    seen.add(real)
    const major = javaMajor(home, java)
    if (major) jdks.push({ java: real, major })
  }
  return jdks.sort((a, b) => a.major - b.major)
}

function javaMajor(home: string, java: string): number | undefined {
  // The `release` file avoids starting a JVM; fall back to `java -version` when it is missing.
  let text = ''
  try {
    text = readFileSync(join(home, 'release'), 'utf8')
  } catch {
    text = spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr ?? ''
  }
  const m = /(?:JAVA_VERSION=|version )"(\d+)(?:\.(\d+))?/.exec(text)
  if (!m) return undefined
  const major = Number(m[1])
  return major === 1 ? Number(m[2]) : major // "1.8.0" style
}

/** The oldest JDK that satisfies minMajor: the most conservative runtime a service supports. */
function pickJdk(minMajor: number, jdks: Jdk[]): Jdk | undefined {
  return jdks.find((j) => j.major >= minMajor)
}

interface RunResult {
  status: number | null
  output: string
  error?: Error
}

/** Async spawn that collects output (spawnSync would block the other service's startup). */
function run(cmd: string, args: string[], extra: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { ...extra, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    child.on('error', (error) => resolveRun({ status: null, output, error }))
    child.on('close', (status) => resolveRun({ status, output }))
  })
}

// Two mvn processes filling the same ~/.m2 at once can race on shared plugin downloads: queue them.
let mvnQueue: Promise<unknown> = Promise.resolve()

function mvn(opts: StackOptions, args: string[], what: string): Promise<void> {
  const task = mvnQueue.then(() => mvnNow(opts, args, what))
  mvnQueue = task.catch(() => {})
  return task
}

async function mvnNow(opts: StackOptions, args: string[], what: string): Promise<void> {
  const logFile = join(nativePaths(opts).logsDir, 'mvn.log')
  mkdirSync(dirname(logFile), { recursive: true })
  opts.log(`${what}: mvn ${args.join(' ')}`)
  const t0 = Date.now()
  const r = await run('mvn', ['-B', '-q', ...args])
  writeFileSync(logFile, `\n==== ${new Date().toISOString()} mvn ${args.join(' ')}\n${r.output}`, {
    flag: 'a',
  })
  if (r.error)
    throw new RiskStreamError('STACK_FAILED', `cannot run mvn (is Maven installed?): ${r.error.message}`)
  if (r.status !== 0) {
    throw new RiskStreamError('STACK_FAILED', `${what} failed (mvn exit ${r.status}); see ${logFile}`, {
      details: { logFile, tail: r.output.split('\n').slice(-15).join('\n') },
    })
  }
  opts.log(`${what}: done in ${Date.now() - t0} ms`)
}

// ---------------------------------------------------------------- Kafka

/** Resolves the broker jars once; re-resolves when stack/kafka/pom.xml changes (version bump). */
export async function ensureKafkaLibs(opts: StackOptions): Promise<string> {
  const { kafkaLibs } = nativePaths(opts)
  const pomHash = createHash('sha256').update(readFileSync(KAFKA_POM)).digest('hex')
  const marker = join(kafkaLibs, '.pom-sha256')
  if (existsSync(marker) && readFileSync(marker, 'utf8') === pomHash) return kafkaLibs
  rmSync(kafkaLibs, { recursive: true, force: true })
  await mvn(
    opts,
    [
      '-f',
      KAFKA_POM,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${kafkaLibs}`,
      '-DincludeScope=runtime',
    ],
    'kafka: resolving jars',
  )
  writeFileSync(marker, pomHash)
  return kafkaLibs
}

function writeKafkaConfig(opts: StackOptions, tls?: KafkaTls): void {
  const p = nativePaths(opts)
  mkdirSync(p.kafkaDir, { recursive: true })
  // Rewritten on every start so port changes apply. A static voter set (controller.quorum.voters)
  // rather than `format --standalone` keeps the controller address out of the formatted log dir,
  // so changing kafkaControllerPort never needs a re-format.
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${opts.kafkaControllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${opts.kafkaPort},CONTROLLER://127.0.0.1:${opts.kafkaControllerPort}`,
    'advertised.listeners': `PLAINTEXT://${kafkaBrokers(opts)}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': p.kafkaData,
    'num.partitions': 3,
    'default.replication.factor': 1,
    // Topics are created explicitly (with their partition counts) by the project, never by accident.
    'auto.create.topics.enable': false,
    // Single node: internal topics cannot have more than one replica.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Tests start consumer groups constantly; the default 3 s join delay would slow every one.
    'group.initial.rebalance.delay.ms': 0,
    'log.retention.hours': 24,
    'log.segment.bytes': 64 * 1024 * 1024,
    'num.recovery.threads.per.data.dir': 1,
    // kafkaSecurity: the client listener becomes SASL_SSL (SCRAM); see kafka-security.ts.
    ...(tls ? kafkaSecurityProps(opts, tls) : {}),
  }
  writeFileSync(
    p.kafkaConfig,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  )
  // With kafkaSecurity it holds the keystore password and the broker's own SCRAM password.
  if (tls) chmodSync(p.kafkaConfig, 0o600)
  // Kafka 4 logs through log4j2; keep its own logs in rolling files next to the process log.
  writeFileSync(
    p.kafkaLog4j,
    [
      'status = warn',
      'appender.file.type = RollingFile',
      'appender.file.name = file',
      `appender.file.fileName = ${join(p.logsDir, 'kafka', 'server.log')}`,
      `appender.file.filePattern = ${join(p.logsDir, 'kafka', 'server.log')}.%i`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'appender.file.policies.type = Policies',
      'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
      'appender.file.policies.size.size = 20MB',
      'appender.file.strategy.type = DefaultRolloverStrategy',
      'appender.file.strategy.max = 3',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = file',
      'logger.state.name = state.change.logger',
      'logger.state.level = WARN',
      'logger.request.name = kafka.request.logger',
      'logger.request.level = WARN',
      '',
    ].join('\n'),
  )
}

function kafkaJvmArgs(opts: StackOptions): string[] {
  const p = nativePaths(opts)
  return [
    '-Xms256m',
    '-Xmx1g',
    // The flags kafka-run-class.sh uses: short pauses matter more than throughput for tests.
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${p.kafkaLog4j}`,
    `-Dkafka.logs.dir=${join(p.logsDir, 'kafka')}`,
    '-cp',
    `${p.kafkaLibs}/*`,
  ]
}

/** `kafka-storage format` once: KRaft refuses to start on an unformatted log dir. */
async function formatKafkaStorage(opts: StackOptions, java: string, tls?: KafkaTls): Promise<void> {
  const p = nativePaths(opts)
  if (existsSync(join(p.kafkaData, 'meta.properties'))) {
    if (opts.kafkaSecurity) assertScramUsersMatch(opts)
    return
  }
  // A cluster id is a base64url (no padding) 16-byte UUID, as `kafka-storage random-uuid` prints.
  const clusterId = randomBytes(16).toString('base64url')
  opts.log(`kafka: formatting ${p.kafkaData} (cluster id ${clusterId})`)
  const r = await run(java, [
    ...kafkaJvmArgs(opts),
    'kafka.tools.StorageTool',
    'format',
    // `--cluster-id=<id>` in one argument: a base64url id may start with '-', which argparse
    // would otherwise read as an option (1 start in 64 failed that way).
    `--cluster-id=${clusterId}`,
    '--config',
    p.kafkaConfig,
    ...(tls ? scramFormatArgs(opts, tls) : []),
  ])
  if (r.status !== 0)
    throw new RiskStreamError('STACK_FAILED', `kafka storage format failed: ${r.output}`.trim())
  if (opts.kafkaSecurity) recordScramUsers(opts)
}

export function startKafka(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'kafka', () => startKafkaLocked(opts))
}

async function startKafkaLocked(opts: StackOptions): Promise<void> {
  const existing = runningPid(opts, 'kafka')
  if (existing !== undefined) {
    // Already started by us (maybe still starting): just wait until it answers.
    await waitUntilUp(opts, 'kafka', existing, () => isKafkaUp(opts), KAFKA_START_TIMEOUT_MS)
    opts.log(`kafka: already running (pid ${existing}) on ${kafkaBrokers(opts)}`)
    return
  }
  if (await isKafkaUp(opts)) {
    opts.log(`kafka: ${kafkaBrokers(opts)} already answers but was not started by this stack; using it`)
    return
  }
  const jdk = pickJdk(KAFKA_MIN_JAVA, findJdks(opts.javaHome))
  if (!jdk) throw new RiskStreamError('STACK_FAILED', `Kafka needs Java ${KAFKA_MIN_JAVA}+; no JDK found`)
  await ensureKafkaLibs(opts)
  const tls = opts.kafkaSecurity ? await ensureKafkaTls(opts, jdk.java) : undefined
  writeKafkaConfig(opts, tls)
  await formatKafkaStorage(opts, jdk.java, tls)
  const p = nativePaths(opts)
  const pid = spawnDetached(opts, 'kafka', jdk.java, [...kafkaJvmArgs(opts), 'kafka.Kafka', p.kafkaConfig], {
    cwd: p.kafkaDir,
  })
  opts.log(`kafka: started pid ${pid} (Java ${jdk.major}), log ${p.logFile('kafka')} and ${p.logsDir}/kafka/`)
  await waitUntilUp(opts, 'kafka', pid, () => isKafkaUp(opts), KAFKA_START_TIMEOUT_MS)
}

export function stopKafka(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'kafka', () => stopPid(opts, 'kafka', KAFKA_STOP_GRACE_MS))
}

// ---------------------------------------------------------------- Apicurio Registry

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
  const existing = runningPid(opts, 'registry')
  if (existing !== undefined) {
    await waitUntilUp(opts, 'registry', existing, () => isRegistryUp(opts), REGISTRY_START_TIMEOUT_MS)
    opts.log(`registry: already running (pid ${existing}) on ${registryBaseUrl(opts)}`)
  } else if (await isRegistryUp(opts)) {
    opts.log(`registry: ${registryBaseUrl(opts)} already answers but was not started by this stack; using it`)
  } else {
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
    await waitUntilUp(opts, 'registry', pid, () => isRegistryUp(opts), REGISTRY_START_TIMEOUT_MS)
  }
  // Always (re)assert BACKWARD: consumers on the old schema must read data written with the new one.
  const level = await setRegistryCompatibility(opts, 'BACKWARD')
  opts.log(`registry: global compatibility ${level}`)
}

export function stopRegistry(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'registry', () => stopPid(opts, 'registry', REGISTRY_STOP_GRACE_MS))
}

// ---------------------------------------------------------------- whole stack

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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
