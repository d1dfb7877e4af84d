/**
 * The configuration: every setting read once from the environment, validated against
 * schema.ts (a bad or misspelt value stops start-up naming the variable), defaulted and frozen.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import { RiskStreamError } from '../errors/index.ts'
import { type Env, EnvSchema } from './schema.ts'

export { type Env, EnvSchema } from './schema.ts'

/** The repository root, found from this file so that commands work from any cwd. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * Variable-name families we own: a variable in one of them that the schema does not know is
 * almost always a typo (DRIFT_TRESHOLD), and silently ignoring it would run with a default.
 */
const OWNED_PREFIXES = [
  'RISKSTREAM_',
  'KAFKA_',
  'CLICKHOUSE_',
  'DRIFT_',
  'API_',
  'MIN_MODEL_',
  'TOPIC_',
  'SCHEMA_REGISTRY_',
  'EVENT_TIME_',
  'DLQ_',
  'MODEL_SIGNING_',
]
/**
 * The ecosystem's own names for some settings, read as aliases (docs/configuration.md): the one
 * table of them. `with` names companions read only together with the alias; `derive` turns the
 * values into the setting's value, or a problem when they do not say one thing unambiguously.
 */
export interface EnvAlias {
  alias: string
  setting: keyof Env & string
  /** Whose convention the name is. */
  convention: string
  with?: readonly string[]
  derive?: (values: Record<string, string | undefined>) => { value: string } | { problem: string }
}

export const ENV_ALIASES: readonly EnvAlias[] = [
  {
    alias: 'KAFKA_BOOTSTRAP_SERVERS',
    setting: 'KAFKA_BROKERS',
    convention: 'Kafka clients (bootstrap.servers)',
    derive: (v) => ({ value: normaliseBrokers(v.KAFKA_BOOTSTRAP_SERVERS!) }),
  },
  {
    alias: 'CLICKHOUSE_HOST',
    setting: 'CLICKHOUSE_URL',
    convention: 'clickhouse-client, clickhouse-connect',
    with: ['CLICKHOUSE_PORT', 'CLICKHOUSE_SECURE'],
    derive: clickhouseUrlFromHost,
  },
  { alias: 'CLICKHOUSE_DB', setting: 'CLICKHOUSE_DATABASE', convention: 'the ClickHouse server image' },
]

function normaliseBrokers(list: string): string {
  return list
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
    .join(',')
}

/** ClickHouse's native-protocol ports: a client of them is not an HTTP client. */
const CLICKHOUSE_NATIVE_PORTS = new Set(['9000', '9440'])

/** CLICKHOUSE_HOST [+ CLICKHOUSE_PORT, CLICKHOUSE_SECURE] as an HTTP(S) URL, when that is unambiguous. */
function clickhouseUrlFromHost(
  v: Record<string, string | undefined>,
): { value: string } | { problem: string } {
  const host = v.CLICKHOUSE_HOST!.trim()
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/.test(host))
    return { problem: 'CLICKHOUSE_HOST must be a host name or address (for a URL, set CLICKHOUSE_URL)' }
  const secureText = (v.CLICKHOUSE_SECURE ?? '').trim().toLowerCase()
  let secure = false
  if (['true', '1', 'yes'].includes(secureText)) secure = true
  else if (!['', 'false', '0', 'no'].includes(secureText))
    return { problem: `CLICKHOUSE_SECURE=${JSON.stringify(v.CLICKHOUSE_SECURE)} (allowed: true, false)` }
  const port = (v.CLICKHOUSE_PORT ?? '').trim()
  if (port !== '') {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      return { problem: `CLICKHOUSE_PORT=${JSON.stringify(v.CLICKHOUSE_PORT)} (allowed: 1 to 65535)` }
    if (CLICKHOUSE_NATIVE_PORTS.has(port))
      return {
        problem: `CLICKHOUSE_PORT=${port} is ClickHouse's native-protocol port; RiskStream speaks HTTP (8123, or 8443 with CLICKHOUSE_SECURE=true): set CLICKHOUSE_PORT to it or CLICKHOUSE_URL`,
      }
  }
  return { value: `${secure ? 'https' : 'http'}://${host}:${port || (secure ? '8443' : '8123')}` }
}

/** Values compared as what they mean: broker lists without spaces, URLs without a trailing slash. */
function sameSetting(setting: string, a: string, b: string): boolean {
  if (setting === 'KAFKA_BROKERS') return normaliseBrokers(a) === normaliseBrokers(b)
  if (setting === 'CLICKHOUSE_URL') {
    try {
      return new URL(a.trim()).href.replace(/\/+$/, '') === new URL(b.trim()).href.replace(/\/+$/, '')
    } catch {
      return a.trim().replace(/\/+$/, '') === b.trim().replace(/\/+$/, '')
    }
  }
  return a.trim() === b.trim()
}

const setIn = (source: NodeJS.ProcessEnv, name: string) => source[name] !== undefined && source[name] !== ''

/**
 * Replaces the aliases in `source` by the settings they mean. Where an alias and the RiskStream
 * name are both set and disagree, or companions come without their alias, that is a problem.
 * `origin` maps a setting to the alias it came from, so a bad value is reported under that name.
 */
function resolveAliases(source: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv
  problems: string[]
  origin: Map<string, string>
} {
  const env: NodeJS.ProcessEnv = { ...source }
  const problems: string[] = []
  const origin = new Map<string, string>()
  for (const a of ENV_ALIASES) {
    const names = [a.alias, ...(a.with ?? [])]
    const values = Object.fromEntries(names.map((n) => [n, source[n]]))
    for (const n of names) delete env[n]
    if (!setIn(source, a.alias)) {
      const orphans = (a.with ?? []).filter((n) => setIn(source, n))
      if (orphans.length > 0)
        problems.push(
          `${orphans.join(' and ')} ${orphans.length > 1 ? 'are' : 'is'} read only with ${a.alias}`,
        )
      continue
    }
    const derived = a.derive ? a.derive(values) : { value: source[a.alias]! }
    if ('problem' in derived) {
      problems.push(derived.problem)
      continue
    }
    const own = source[a.setting]
    if (own !== undefined && own !== '') {
      if (!sameSetting(a.setting, own, derived.value))
        problems.push(
          `${names.filter((n) => setIn(source, n)).join(' + ')} and ${a.setting} are both set, to different values: set one of them`,
        )
      continue
    }
    env[a.setting] = derived.value
    origin.set(a.setting, a.alias)
  }
  return { env, problems, origin }
}

/** `base` with `overrides` on top; an overridden setting's aliases are dropped, so the override wins. */
function overlay(base: NodeJS.ProcessEnv, overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...base }
  for (const a of ENV_ALIASES) {
    if (overrides[a.setting] !== undefined) for (const n of [a.alias, ...(a.with ?? [])]) delete out[n]
  }
  return { ...out, ...overrides }
}

/** Variables in those families that belong to other tools or to the test runner. */
const FOREIGN_ALLOWED = new Set([
  'RISKSTREAM_TEST_MODE',
  'RISKSTREAM_TEST_RUN_TAG',
  'KAFKA_HEAP_OPTS',
  'KAFKA_OPTS',
  'KAFKA_HOME',
])

export interface Config {
  env: Env['NODE_ENV']
  logLevel: Env['LOG_LEVEL']
  kafka: {
    brokers: string[]
    clientId: string
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    ssl: boolean
    sslCaFile?: string
    /** Consumer group session and heartbeat (every consumer of the process; lib/kafka/client.ts). */
    sessionTimeoutMs: number
    heartbeatIntervalMs: number
  }
  topics: { prefix: string; partitions: number; replicationFactor: number }
  registry: { url: string }
  clickhouse: {
    /** Server URL; undefined means embedded chDB at `path`. */
    url?: string
    path: string
    database: string
    username: string
    password: string
    api: { username: string; password: string }
    /** Days rows are kept per raw table (0 = for ever); lib/warehouse/retention.ts applies them. */
    retentionDays: { predictions: number; outcomes: number; dlq: number }
  }
  data: { dir: string; pimaCsvPath: string }
  stack: {
    mode: 'auto' | 'native' | 'docker'
    dataDir: string
    kafkaPort: number
    kafkaControllerPort: number
    registryPort: number
    /** JDK the native stack tries first. */
    javaHome?: string
  }
  model: { name: string }
  training: {
    minAccuracy: number
    minRocAuc: number
    minF1: number
    promotionMargin: number
    promotionAlpha: number
    ootShare: number
    outerFolds: number
    primaryMetric: 'roc_auc' | 'f1' | 'accuracy' | 'log_loss'
    cvFolds: number
    seed: number
    searchBudget: number
    maxRows: number
  }
  drift: {
    window: number
    /** DRIFT_FALSE_ALARMS_PER_MILLION: the budget the calibrated PSI thresholds are derived from. */
    falseAlarmsPerMillion: number
    /** Floors (0 = none) under the calibrated alarm and clear thresholds. */
    threshold: number
    clearThreshold: number
    consecutiveWindows: number
    minWindow: number
    evalEvery: number
    timeWindowsMs: number[]
    bins: number
    conceptDropThreshold: number
    conceptMinLabels: number
    labelJoinTtlMs: number
    /** LABEL_JOIN_MAX_PENDING: capacity of each side of the label join. */
    labelJoinMaxPending: number
    /** SEGMENT_MAX_PER_FAMILY: segments per family and version (0 = none; lib/segments). */
    segmentMaxPerFamily: number
    /** SEGMENT_MIN_EVENTS: events of a value before it is admitted as a segment (lib/segments). */
    segmentMinEvents: number
  }
  retrain: { autoEnabled: boolean; minNewData: number; cooldownMs: number }
  /** Allowed distance of event times from now (lib/events/domain.ts). */
  events: { maxAgeMs: number; maxAheadMs: number }
  dlq: { retentionMs: number }
  /** HMAC key of model artifacts; undefined = the generated key file under data.dir (lib/model/signing.ts). */
  signing: { key?: string }
  api: {
    host: string
    port: number
    /** Scoring and (unless readOpen) reads. */
    keys: string[]
    /** Promote, rollback, retrain (and everything `keys` may do). */
    adminKeys: string[]
    readOpen: boolean
    /** How long a manual retrain counts as queued without a result. */
    retrainPendingMs: number
    rateLimitMax: number
    rateLimitWindowMs: number
    /** API_CACHE_TTL_MS: read routes may answer this old; 0 = every read goes to ClickHouse. */
    cacheTtlMs: number
  }
  /** The /metrics server of `riskstream run` (lib/metrics); no port = no server. */
  metrics: { host: string; port?: number }
  /** The MLflow mirror of runs and registry (lib/mlflow); no trackingUri = no mirror. */
  mlflow: {
    trackingUri?: string
    experimentName: string
    token?: string
    username?: string
    password?: string
  }
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false })
const validateEnv = ajv.compile<Env>(EnvSchema)

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDurations(spec: string): number[] {
  return spec.split(',').map((part) => {
    const m = /^(\d+)([smhd])$/.exec(part.trim())
    if (!m) throw new RiskStreamError('CONFIG_INVALID', `bad duration "${part}"`)
    return Number(m[1]) * UNIT_MS[m[2]!]!
  })
}

function describeRange(name: string): string {
  const prop = (EnvSchema.properties as Record<string, Record<string, unknown>>)[name]
  if (!prop) return ''
  if (Array.isArray(prop.enum)) return ` (allowed: ${prop.enum.join(', ')})`
  if (prop.minimum !== undefined) return ` (allowed: ${prop.minimum} to ${prop.maximum})`
  if (prop.type === 'boolean') return ' (allowed: true, false)'
  if (prop.pattern) return ` (must match ${prop.pattern})`
  return ''
}

/**
 * Reads, validates and freezes the configuration. Throws a CONFIG_INVALID error whose
 * message is one line naming every bad variable, its value and its allowed range.
 */
export function loadConfig(given: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const known = new Set(Object.keys(EnvSchema.properties))
  const raw: Record<string, string> = {}
  const { env: source, problems, origin } = resolveAliases(given)
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue
    if (known.has(key)) {
      // An empty value means "unset" so that `FOO=` in a .env file falls back to the default.
      if (
        value !== '' ||
        key === 'TOPIC_PREFIX' ||
        key === 'API_KEYS' ||
        key === 'API_ADMIN_KEYS' ||
        key.endsWith('PASSWORD')
      )
        raw[key] = value
    } else if (OWNED_PREFIXES.some((p) => key.startsWith(p)) && !FOREIGN_ALLOWED.has(key)) {
      problems.push(`${key} is not a RiskStream setting`)
    }
  }
  const env = { ...raw } as unknown as Env
  if (!validateEnv(env)) {
    for (const e of validateEnv.errors ?? []) {
      const name = e.instancePath.replace(/^\//, '') || String(e.params.additionalProperty ?? '')
      const from = origin.has(name) ? ` (from ${origin.get(name)})` : ''
      problems.push(`${name}${from}=${JSON.stringify(raw[name] ?? '')} ${e.message}${describeRange(name)}`)
    }
  }
  if (env.KAFKA_SASL_MECHANISM !== 'none' && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
    problems.push('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required when KAFKA_SASL_MECHANISM is set')
  }
  if (env.DRIFT_CLEAR_THRESHOLD > env.DRIFT_THRESHOLD) {
    problems.push(
      `DRIFT_CLEAR_THRESHOLD=${env.DRIFT_CLEAR_THRESHOLD} must not exceed DRIFT_THRESHOLD=${env.DRIFT_THRESHOLD}`,
    )
  }
  // Kafka's own rule: three heartbeats must fit in a session, or one late heartbeat evicts.
  if (env.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > env.KAFKA_SESSION_TIMEOUT_MS)
    problems.push(
      `KAFKA_HEARTBEAT_INTERVAL_MS=${env.KAFKA_HEARTBEAT_INTERVAL_MS} must be at most a third of KAFKA_SESSION_TIMEOUT_MS=${env.KAFKA_SESSION_TIMEOUT_MS}`,
    )
  if (env.MODEL_SIGNING_KEY !== undefined && env.MODEL_SIGNING_KEY.length < 32)
    problems.push('MODEL_SIGNING_KEY must be at least 32 characters')
  if (env.CLICKHOUSE_API_USER && env.CLICKHOUSE_URL && env.CLICKHOUSE_API_USER === env.CLICKHOUSE_USER)
    problems.push('CLICKHOUSE_API_USER must not be CLICKHOUSE_USER (the API user is read-only)')
  if (problems.length > 0) throw new RiskStreamError('CONFIG_INVALID', problems.join('; '))

  const dataDir = path.resolve(REPO_ROOT, env.DATA_DIR ?? '.data')
  const config: Config = {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    kafka: {
      brokers: env.KAFKA_BROKERS.split(','),
      clientId: env.KAFKA_CLIENT_ID,
      sasl:
        env.KAFKA_SASL_MECHANISM === 'none'
          ? undefined
          : {
              mechanism: env.KAFKA_SASL_MECHANISM as 'plain' | 'scram-sha-256' | 'scram-sha-512',
              username: env.KAFKA_SASL_USERNAME!,
              password: env.KAFKA_SASL_PASSWORD!,
            },
      ssl: env.KAFKA_SSL,
      sslCaFile: env.KAFKA_SSL_CA_FILE,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: env.KAFKA_HEARTBEAT_INTERVAL_MS,
    },
    topics: {
      prefix: env.TOPIC_PREFIX,
      partitions: env.TOPIC_PARTITIONS,
      replicationFactor: env.TOPIC_REPLICATION_FACTOR,
    },
    registry: { url: env.SCHEMA_REGISTRY_URL.replace(/\/+$/, '') },
    clickhouse: {
      url: env.CLICKHOUSE_URL,
      path: path.resolve(REPO_ROOT, env.CLICKHOUSE_PATH ?? path.join(dataDir, 'chdb')),
      database: env.CLICKHOUSE_DATABASE,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD,
      // Embedded chDB has no users (the API reads through a readonly=1 wrapper instead).
      api: {
        username: env.CLICKHOUSE_API_USER ?? '',
        password: env.CLICKHOUSE_API_PASSWORD,
      },
      retentionDays: {
        predictions: env.RETENTION_DAYS_PREDICTIONS,
        outcomes: env.RETENTION_DAYS_OUTCOMES,
        dlq: env.RETENTION_DAYS_DLQ,
      },
    },
    data: { dir: dataDir, pimaCsvPath: resolvePimaPath(env.PIMA_CSV_PATH, dataDir) },
    stack: {
      mode: env.STACK_MODE as 'auto' | 'native' | 'docker',
      dataDir: path.join(dataDir, 'stack'),
      kafkaPort: env.KAFKA_PORT,
      kafkaControllerPort: env.KAFKA_CONTROLLER_PORT,
      registryPort: env.REGISTRY_PORT,
      javaHome: env.JAVA_HOME,
    },
    model: { name: env.MODEL_NAME },
    training: {
      minAccuracy: env.MIN_MODEL_ACCURACY,
      minRocAuc: env.MIN_MODEL_ROC_AUC,
      minF1: env.MIN_MODEL_F1,
      promotionMargin: env.PROMOTION_MARGIN,
      promotionAlpha: env.PROMOTION_ALPHA,
      ootShare: env.OOT_EVAL_SHARE,
      outerFolds: env.NESTED_OUTER_FOLDS,
      primaryMetric: env.PRIMARY_METRIC as Config['training']['primaryMetric'],
      cvFolds: env.CV_FOLDS,
      seed: env.TRAIN_SEED,
      searchBudget: env.SEARCH_BUDGET,
      maxRows: env.TRAIN_MAX_ROWS,
    },
    drift: {
      window: env.DRIFT_DETECTION_WINDOW,
      falseAlarmsPerMillion: env.DRIFT_FALSE_ALARMS_PER_MILLION,
      threshold: env.DRIFT_THRESHOLD,
      clearThreshold: env.DRIFT_CLEAR_THRESHOLD,
      consecutiveWindows: env.DRIFT_CONSECUTIVE_WINDOWS,
      minWindow: env.DRIFT_MIN_WINDOW,
      evalEvery: env.DRIFT_EVAL_EVERY,
      timeWindowsMs: parseDurations(env.DRIFT_TIME_WINDOWS),
      bins: env.PSI_BINS,
      conceptDropThreshold: env.CONCEPT_DRIFT_THRESHOLD,
      conceptMinLabels: env.CONCEPT_MIN_LABELS,
      labelJoinTtlMs: env.LABEL_JOIN_TTL_MS,
      labelJoinMaxPending: env.LABEL_JOIN_MAX_PENDING,
      segmentMaxPerFamily: env.SEGMENT_MAX_PER_FAMILY,
      segmentMinEvents: env.SEGMENT_MIN_EVENTS,
    },
    retrain: {
      autoEnabled: env.AUTO_RETRAIN_ENABLED,
      minNewData: env.MIN_NEW_DATA_THRESHOLD,
      cooldownMs: env.RETRAIN_COOLDOWN_MS,
    },
    events: { maxAgeMs: env.EVENT_TIME_MAX_AGE_MS, maxAheadMs: env.EVENT_TIME_MAX_AHEAD_MS },
    dlq: { retentionMs: env.DLQ_RETENTION_MS },
    signing: { key: env.MODEL_SIGNING_KEY },
    api: {
      host: env.API_HOST,
      port: env.API_PORT,
      keys: splitKeys(env.API_KEYS),
      adminKeys: splitKeys(env.API_ADMIN_KEYS),
      readOpen: env.API_READ_OPEN,
      retrainPendingMs: env.API_RETRAIN_PENDING_MS,
      rateLimitMax: env.API_RATE_LIMIT_MAX,
      rateLimitWindowMs: env.API_RATE_LIMIT_WINDOW_MS,
      cacheTtlMs: env.API_CACHE_TTL_MS,
    },
    metrics: { host: env.METRICS_HOST, port: env.METRICS_PORT },
    mlflow: {
      trackingUri: env.MLFLOW_TRACKING_URI?.replace(/\/+$/, ''),
      experimentName: env.MLFLOW_EXPERIMENT_NAME,
      token: env.MLFLOW_TRACKING_TOKEN,
      username: env.MLFLOW_TRACKING_USERNAME,
      password: env.MLFLOW_TRACKING_PASSWORD,
    },
  }
  return deepFreeze(config)
}

function splitKeys(list: string): string[] {
  return list
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
}

function resolvePimaPath(configured: string | undefined, _dataDir: string): string {
  if (configured) return path.resolve(REPO_ROOT, configured)
  // PIMA_CSV_PATH, then data/, then the copy beside the repo; else data/ is where the verified
  // download goes (the CLI's prerequisite check fetches it there).
  const local = path.join(REPO_ROOT, 'data', 'pima-indians-diabetes.csv')
  if (existsSync(local)) return local
  const shared = path.resolve(REPO_ROOT, '..', 'shared', 'data', 'pima-indians-diabetes.csv')
  if (existsSync(shared)) return shared
  return local
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

let cached: Readonly<Config> | undefined
/** The process-wide configuration, read from the environment once. */
export function getConfig(): Readonly<Config> {
  cached ??= loadConfig()
  return cached
}

/**
 * The environment for a child process (a role, Kafka, the registry, a bench script): this
 * process's environment (PATH, HOME, JAVA_HOME…) with `overrides` on top. Children get their
 * settings through it, so the environment is still read in this module only.
 */
export function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return overlay(process.env, overrides)
}

/**
 * Where other tools keep a browser (CHROMIUM_PATH, CHROME_PATH, PUPPETEER_EXECUTABLE_PATH,
 * PLAYWRIGHT_BROWSERS_PATH): their names, not settings of ours, read here like every variable.
 */
export function browserEnv(): Readonly<Record<string, string | undefined>> {
  const names = ['CHROMIUM_PATH', 'CHROME_PATH', 'PUPPETEER_EXECUTABLE_PATH', 'PLAYWRIGHT_BROWSERS_PATH']
  return Object.freeze(Object.fromEntries(names.map((n) => [n, process.env[n]])))
}

/** A configuration for tests and tools: the process environment with some values replaced. */
export function configWith(overrides: Record<string, string>): Readonly<Config> {
  return loadConfig(overlay(process.env, overrides))
}

/** Which suites run: unit (no services), integration (real stack), reliability, or all. */
/**
 * The tag of the test run this process belongs to (set by the test suite's global setup; empty
 * outside a test run): every unique test name carries it, so the run can delete its own Kafka
 * topics when it ends and nobody else's on a shared broker.
 */
export function testRunTag(source: NodeJS.ProcessEnv = process.env): string {
  return source.RISKSTREAM_TEST_RUN_TAG ?? ''
}

/** Sets the run's tag for the processes the test runner starts after this call (global setup). */
export function setTestRunTag(tag: string, target: NodeJS.ProcessEnv = process.env): void {
  target.RISKSTREAM_TEST_RUN_TAG = tag
}

export function testMode(
  source: NodeJS.ProcessEnv = process.env,
): 'unit' | 'integration' | 'reliability' | 'all' {
  const mode = source.RISKSTREAM_TEST_MODE ?? 'all'
  if (mode === 'unit' || mode === 'integration' || mode === 'reliability' || mode === 'all') return mode
  throw new RiskStreamError(
    'CONFIG_INVALID',
    `RISKSTREAM_TEST_MODE="${mode}" (allowed: unit, integration, reliability, all)`,
  )
}
