/**
 * SASL_SSL + SCRAM for the native broker (StackOptions.kafkaSecurity): the client listener on
 * kafkaPort takes TLS and SCRAM, users are bootstrapped into the KRaft metadata log at format
 * time, and the TLS material is generated once with the JDK's keytool under
 * `<dataDir>/kafka/tls`:
 *
 *   ca.pem        the CA clients trust (KAFKA_SSL_CA_FILE); the CA's key is deleted after signing
 *   broker.p12    the broker's key and certificate chain (SAN 127.0.0.1 and localhost)
 *   secrets.json  keystore password and the broker's own SCRAM password (mode 0600)
 */
import { execFile } from 'node:child_process'
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { SASLOptions } from 'kafkajs'
import { RiskStreamError } from '../lib/errors/index.ts'
import type { KafkaSecurityOptions, ScramMechanism, StackOptions } from './options.ts'

const execFileP = promisify(execFile)

/** The broker's own SCRAM user: inter-broker connections and the stack's readiness probe. */
export const BROKER_USER = 'riskstream-broker'
const DEFAULT_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256']
/** Kafka's minimum (and default) SCRAM iteration count. */
const SCRAM_ITERATIONS = 4096
const LISTENER = 'SASL_SSL'
const CERT_DAYS = 3650

export interface KafkaTls {
  caPem: string
  keystore: string
  storePassword: string
  brokerPassword: string
}

export function kafkaSecurityPaths(opts: Pick<StackOptions, 'dataDir'>) {
  const kafkaDir = join(resolve(opts.dataDir), 'kafka')
  const tlsDir = join(kafkaDir, 'tls')
  return {
    tlsDir,
    caPem: join(tlsDir, 'ca.pem'),
    keystore: join(tlsDir, 'broker.p12'),
    secrets: join(tlsDir, 'secrets.json'),
    /** Which users the log dir was formatted with (a hash, no passwords). */
    usersMarker: join(kafkaDir, 'scram-users.sha256'),
  }
}

/** PEM file with the CA that signed the broker certificate: what KAFKA_SSL_CA_FILE should name. */
export function kafkaCaFile(opts: Pick<StackOptions, 'dataDir'>): string {
  return kafkaSecurityPaths(opts).caPem
}

function mechanismsOf(security: KafkaSecurityOptions): readonly ScramMechanism[] {
  return security.mechanisms?.length ? security.mechanisms : DEFAULT_MECHANISMS
}

/** The mechanism the broker itself (and the probe) authenticates with: the strongest enabled. */
function brokerMechanism(security: KafkaSecurityOptions): ScramMechanism {
  const m = mechanismsOf(security)
  return m.includes('SCRAM-SHA-512') ? 'SCRAM-SHA-512' : m[0]!
}

function validateUsers(security: KafkaSecurityOptions): void {
  if (security.users.length === 0)
    throw new RiskStreamError('STACK_FAILED', 'kafkaSecurity: at least one SCRAM user is needed')
  for (const { username, password } of security.users) {
    // The name goes into `kafka-storage format --add-scram name=...`, which has no escaping.
    if (!/^[A-Za-z0-9._@-]+$/.test(username))
      throw new RiskStreamError(
        'STACK_FAILED',
        `kafkaSecurity: SCRAM user name "${username}" may only use letters, digits and . _ @ -`,
      )
    if (username === BROKER_USER)
      throw new RiskStreamError(
        'STACK_FAILED',
        `kafkaSecurity: user name "${BROKER_USER}" is the broker's own`,
      )
    if (password.length === 0)
      throw new RiskStreamError('STACK_FAILED', `kafkaSecurity: user "${username}" has an empty password`)
  }
}

// ---------------------------------------------------------------- TLS material

/** Generates the CA, broker keystore and secrets once; later starts reuse them. */
export async function ensureKafkaTls(opts: StackOptions, java: string): Promise<KafkaTls> {
  const p = kafkaSecurityPaths(opts)
  if (![p.caPem, p.keystore, p.secrets].every(existsSync)) {
    const keytool = join(dirname(java), process.platform === 'win32' ? 'keytool.exe' : 'keytool')
    if (!existsSync(keytool))
      throw new RiskStreamError(
        'STACK_FAILED',
        `kafkaSecurity needs the JDK's keytool; not found at ${keytool}`,
      )
    const t0 = Date.now()
    // Built in a staging dir and renamed in one step: an interrupted run never leaves a keystore
    // without its CA (or a CA clients trust that signed nothing the broker has).
    const staging = `${p.tlsDir}.staging`
    rmSync(staging, { recursive: true, force: true })
    mkdirSync(staging, { recursive: true })
    const secrets = {
      storePassword: randomBytes(18).toString('hex'),
      brokerPassword: randomBytes(18).toString('hex'),
    }
    await generateCertificates(keytool, staging, secrets.storePassword)
    writeFileSync(join(staging, 'secrets.json'), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 })
    rmSync(p.tlsDir, { recursive: true, force: true })
    renameSync(staging, p.tlsDir)
    opts.log(`kafka: TLS material generated in ${Date.now() - t0} ms under ${p.tlsDir}`)
  }
  const secrets = JSON.parse(readFileSync(p.secrets, 'utf8')) as Pick<
    KafkaTls,
    'storePassword' | 'brokerPassword'
  >
  return { caPem: p.caPem, keystore: p.keystore, ...secrets }
}

async function generateCertificates(keytool: string, dir: string, pass: string): Promise<void> {
  const ca = join(dir, 'ca.p12')
  const broker = join(dir, 'broker.p12')
  const store = (file: string) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', pass]
  const key = ['-keyalg', 'RSA', '-keysize', '2048', '-validity', String(CERT_DAYS), '-keypass', pass]
  const steps: string[][] = [
    [
      '-genkeypair',
      '-alias',
      'ca',
      ...key,
      '-dname',
      'CN=RiskStream local Kafka CA',
      '-ext',
      'bc:c=ca:true',
      ...store(ca),
    ],
    ['-exportcert', '-rfc', '-alias', 'ca', '-file', join(dir, 'ca.pem'), ...store(ca)],
    ['-genkeypair', '-alias', 'broker', ...key, '-dname', 'CN=localhost', ...store(broker)],
    ['-certreq', '-alias', 'broker', '-file', join(dir, 'broker.csr'), ...store(broker)],
    [
      '-gencert',
      '-rfc',
      '-alias',
      'ca',
      '-infile',
      join(dir, 'broker.csr'),
      '-outfile',
      join(dir, 'broker.pem'),
      '-validity',
      String(CERT_DAYS),
      // Clients connect to 127.0.0.1 and verify the host name against these.
      '-ext',
      'SAN=ip:127.0.0.1,dns:localhost',
      '-ext',
      'EKU=serverAuth,clientAuth',
      ...store(ca),
    ],
    // The CA first, so keytool can build the chain when the signed certificate comes back.
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', join(dir, 'ca.pem'), ...store(broker)],
    ['-importcert', '-noprompt', '-alias', 'broker', '-file', join(dir, 'broker.pem'), ...store(broker)],
  ]
  for (const args of steps) {
    try {
      await execFileP(keytool, args, { timeout: 60_000 })
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string }
      throw new RiskStreamError(
        'STACK_FAILED',
        `keytool ${args[0]} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n')[0]}`,
        { cause: err },
      )
    }
  }
  // Nothing else is ever signed with the CA: dropping its key leaves no way to mint more.
  for (const f of ['ca.p12', 'broker.csr', 'broker.pem']) rmSync(join(dir, f), { force: true })
}

// ---------------------------------------------------------------- broker configuration

/**
 * server.properties entries that replace the plaintext listener.
 *
 * WHY inter-broker traffic also uses SASL_SSL + SCRAM (as BROKER_USER) rather than an extra
 * PLAINTEXT listener on 127.0.0.1: an unauthenticated listener would be a way around the
 * credentials for any local process, so a "secured" broker would not really be one. The single
 * node does connect to itself (transaction markers go through the inter-broker listener), hence
 * the truststore with our CA. The KRaft controller listener stays PLAINTEXT on 127.0.0.1: it
 * serves the quorum, not produce/fetch.
 */
export function kafkaSecurityProps(opts: StackOptions, tls: KafkaTls): Record<string, string> {
  const security = opts.kafkaSecurity!
  const jaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${BROKER_USER}" password="${tls.brokerPassword}";`
  const props: Record<string, string> = {
    listeners: `${LISTENER}://127.0.0.1:${opts.kafkaPort},CONTROLLER://127.0.0.1:${opts.kafkaControllerPort}`,
    'advertised.listeners': `${LISTENER}://127.0.0.1:${opts.kafkaPort}`,
    'listener.security.protocol.map': `${LISTENER}:SASL_SSL,CONTROLLER:PLAINTEXT`,
    'inter.broker.listener.name': LISTENER,
    'sasl.enabled.mechanisms': mechanismsOf(security).join(','),
    'sasl.mechanism.inter.broker.protocol': brokerMechanism(security),
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': tls.keystore,
    'ssl.keystore.password': tls.storePassword,
    'ssl.key.password': tls.storePassword,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': tls.caPem,
    'ssl.client.auth': 'none',
  }
  // One JAAS entry per mechanism on the listener: server side for clients, client side for the
  // broker's own connections.
  for (const m of mechanismsOf(security))
    props[`listener.name.${LISTENER.toLowerCase()}.${m.toLowerCase()}.sasl.jaas.config`] = jaas
  return props
}

/**
 * `--add-scram` arguments for `kafka-storage format`: salted credentials computed here (PBKDF2,
 * what SCRAM's Hi() is), so no password reaches the command line or a file.
 */
export function scramFormatArgs(opts: StackOptions, tls: KafkaTls): string[] {
  const security = opts.kafkaSecurity!
  validateUsers(security)
  const users = [...security.users, { username: BROKER_USER, password: tls.brokerPassword }]
  const args: string[] = []
  for (const m of mechanismsOf(security)) {
    const [digest, bytes] = m === 'SCRAM-SHA-512' ? (['sha512', 64] as const) : (['sha256', 32] as const)
    for (const u of users) {
      const salt = randomBytes(24)
      const salted = pbkdf2Sync(u.password, salt, SCRAM_ITERATIONS, bytes, digest)
      args.push(
        '--add-scram',
        `${m}=[name=${u.username},iterations=${SCRAM_ITERATIONS},salt="${salt.toString('base64')}",saltedpassword="${salted.toString('base64')}"]`,
      )
    }
  }
  return args
}

/** Identifies the user list (names, mechanisms, password hashes) without storing a password. */
function usersFingerprint(security: KafkaSecurityOptions): string {
  const h = createHash('sha256')
  h.update(mechanismsOf(security).join(','))
  for (const u of security.users)
    h.update(`\n${u.username}\n${createHash('sha256').update(u.password).digest('hex')}`)
  return h.digest('hex')
}

export function recordScramUsers(opts: StackOptions): void {
  writeFileSync(kafkaSecurityPaths(opts).usersMarker, usersFingerprint(opts.kafkaSecurity!))
}

/**
 * SCRAM users only enter the metadata log at format time. A dataDir formatted without them (or
 * with other ones) would start fine and then refuse every client, which is far harder to
 * diagnose than this.
 */
export function assertScramUsersMatch(opts: StackOptions): void {
  const marker = kafkaSecurityPaths(opts).usersMarker
  const formatted = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined
  if (formatted === usersFingerprint(opts.kafkaSecurity!)) return
  throw new RiskStreamError(
    'STACK_FAILED',
    `${opts.dataDir} was formatted ${formatted ? 'with other SCRAM users' : 'without kafkaSecurity'}; ` +
      'SCRAM users are bootstrapped at format time: use a fresh dataDir',
  )
}

// ---------------------------------------------------------------- clients of the stack

/**
 * kafkajs ssl/sasl settings for the stack's own probe (as BROKER_USER); undefined until the TLS
 * material exists, when no client could get in anyway.
 */
export function kafkaProbeAuth(
  opts: Pick<StackOptions, 'dataDir'> & { kafkaSecurity: KafkaSecurityOptions },
): { ssl: { ca: string[] }; sasl: SASLOptions } | undefined {
  const p = kafkaSecurityPaths(opts)
  if (!existsSync(p.secrets) || !existsSync(p.caPem)) return undefined
  const { brokerPassword } = JSON.parse(readFileSync(p.secrets, 'utf8')) as Pick<KafkaTls, 'brokerPassword'>
  return {
    ssl: { ca: [readFileSync(p.caPem, 'utf8')] },
    sasl: {
      mechanism: brokerMechanism(opts.kafkaSecurity).toLowerCase(),
      username: BROKER_USER,
      password: brokerPassword,
    } as SASLOptions,
  }
}
