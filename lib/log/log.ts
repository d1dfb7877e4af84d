/**
 * Logging: one pino root per process (JSON, or pretty on a terminal) and a child logger per
 * module; `scrub` keeps patient fields out of log lines.
 */
import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'
import { FEATURES } from '../features/index.ts'

export type { Logger } from 'pino'

/**
 * Field names that may carry patient data. Redaction replaces them wherever they appear
 * one or two levels deep, so a careless `log.info({ request })` cannot leak a feature vector.
 */
const SENSITIVE = [
  'patientId',
  'features',
  'notes',
  // Every model feature by its own name, so a feature added later is redacted too.
  ...FEATURES,
  'value',
  'payload',
  'body',
]
const SENSITIVE_KEYS = new Set(SENSITIVE)
const CENSOR = '[redacted]'

/**
 * pino's `redact` needs every path spelled out and a `*` matches one level only, so a record
 * nested deeper would slip through. Scrubbing by key name at any depth is the safe rule for
 * patient data; logging is off the hot path, so the walk costs nothing that matters.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value
  if (value instanceof Error)
    return { type: value.name, message: value.message, code: (value as { code?: unknown }).code }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  if (Buffer.isBuffer(value)) return CENSOR
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE_KEYS.has(k) ? CENSOR : scrub(v, depth + 1)
  return out
}

let root: Logger | undefined

export interface LoggerOptions {
  level?: string
  /** A writable destination; tests pass a stream to scan what was written. */
  destination?: NodeJS.WritableStream
  /** Append JSON lines to this file (created with its folder), written synchronously. */
  file?: string
  /** Human-readable lines on stderr (pino-pretty) instead of JSON. */
  pretty?: boolean
  /** Write JSON lines to this file descriptor (1 = stdout, the default; 2 = stderr). */
  fd?: 1 | 2
}

/** The serialisable part of the options, so a worker thread logs where its parent does. */
export type LogSettings = Pick<LoggerOptions, 'level' | 'file' | 'pretty' | 'fd'>
let settings: LogSettings = { level: 'info' }

export function createRootLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: { service: 'riskstream' },
    formatters: { log: (obj: Record<string, unknown>) => scrub(obj) as Record<string, unknown> },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  if (options.pretty) return pino(opts, pretty({ destination: 2, sync: true, colorize: false }))
  if (options.file) return pino(opts, pino.destination({ dest: options.file, mkdir: true, sync: true }))
  if (options.fd === 2) return pino(opts, pino.destination({ dest: 2, sync: true }))
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts)
}

const children = new Map<string, Logger>()

/** Sets the process-wide root logger (done once by each process entry, after config is read). */
export function initLogging(options: LoggerOptions = {}): Logger {
  settings = { level: options.level, file: options.file, pretty: options.pretty, fd: options.fd }
  root = createRootLogger(options)
  children.clear()
  return root
}

function childFor(module: string): Logger {
  let child = children.get(module)
  if (!child) {
    root ??= createRootLogger({ level: 'info' })
    child = root.child({ module })
    children.set(module, child)
  }
  return child
}

/** Where and how the root logger writes, for worker threads that set up their own logging. */
export function currentLogSettings(): LogSettings {
  return { ...settings, level: root?.level ?? settings.level ?? 'info' }
}

/**
 * One child logger per module: `const log = getLogger('inference')` at module scope.
 * It resolves lazily so that a logger created at import time still follows `initLogging`.
 */
export function getLogger(module: string): Logger {
  return new Proxy({} as Logger, {
    get(_target, prop) {
      const child = childFor(module) as unknown as Record<string | symbol, unknown>
      const value = child[prop]
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(child) : value
    },
  })
}
