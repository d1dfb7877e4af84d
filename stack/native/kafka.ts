/**
 * The native Kafka broker: a single combined KRaft node run as a JVM from the jars of
 * stack/kafka/pom.xml, its config rewritten on every start, its storage formatted once.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RiskStreamError } from '../../lib/errors/index.ts'
import {
  assertScramUsersMatch,
  ensureKafkaTls,
  type KafkaTls,
  kafkaSecurityProps,
  recordScramUsers,
  scramFormatArgs,
} from '../kafka-security.ts'
import { kafkaBrokers, type StackOptions } from '../options.ts'
import { isKafkaUp } from '../probe.ts'
import { findJdks, pickJdk } from './jdk.ts'
import { mvn } from './maven.ts'
import { nativePaths } from './paths.ts'
import { alreadyRunning, run, spawnDetached, stopPid, waitUntilUp, withServiceLock } from './process.ts'

const KAFKA_POM = join(dirname(fileURLToPath(import.meta.url)), '..', 'kafka', 'pom.xml')

/** Kafka 4.x brokers need Java 17+. */
export const KAFKA_MIN_JAVA = 17

const KAFKA_START_TIMEOUT_MS = 90_000
const KAFKA_STOP_GRACE_MS = 30_000

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
  const probe = () => isKafkaUp(opts)
  if (await alreadyRunning(opts, 'kafka', kafkaBrokers(opts), probe, KAFKA_START_TIMEOUT_MS)) return
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
  await waitUntilUp(opts, 'kafka', pid, probe, KAFKA_START_TIMEOUT_MS)
}

export function stopKafka(opts: StackOptions): Promise<void> {
  return withServiceLock(opts, 'kafka', () => stopPid(opts, 'kafka', KAFKA_STOP_GRACE_MS))
}
