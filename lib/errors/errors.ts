/**
 * One base error for the whole project. Every failure carries a code from the closed
 * registry below, says whether retrying can help, and keeps the underlying `cause`.
 * Consumers decide retry vs dead-letter from `retriable` alone, never from message text.
 */

export interface ErrorSpec {
  readonly message: string
  readonly retriable: boolean
  /** HTTP status the API answers with when this error reaches a client. */
  readonly status: number
}

export const ERROR_CODES = {
  CONFIG_INVALID: { message: 'Invalid configuration', retriable: false, status: 500 },
  KAFKA_UNAVAILABLE: { message: 'Kafka broker is not reachable', retriable: true, status: 503 },
  KAFKA_SECURITY_FAILED: {
    message: 'Kafka refused the client: check the KAFKA_SSL* and KAFKA_SASL_* settings',
    retriable: false,
    status: 503,
  },
  REGISTRY_UNAVAILABLE: { message: 'Schema registry is not reachable', retriable: true, status: 503 },
  CLICKHOUSE_UNAVAILABLE: { message: 'ClickHouse is not reachable', retriable: true, status: 503 },
  CLICKHOUSE_ROW_REJECTED: {
    message: 'ClickHouse refused the row (parse or constraint error)',
    retriable: false,
    status: 422,
  },
  SCHEMA_INCOMPATIBLE: { message: 'Schema change rejected by the registry', retriable: false, status: 409 },
  DECODE_BAD_MAGIC: {
    message: 'Record is not in the schema-registry wire format',
    retriable: false,
    status: 400,
  },
  DECODE_UNKNOWN_SCHEMA: {
    message: 'Record refers to a schema id the registry does not know',
    retriable: false,
    status: 400,
  },
  DECODE_FAILED: { message: 'Record could not be decoded with its schema', retriable: false, status: 400 },
  VALIDATION_FAILED: { message: 'Record failed validation', retriable: false, status: 400 },
  UNKNOWN_MODEL_VERSION: {
    message: 'Record names a model version that does not exist',
    retriable: false,
    status: 404,
  },
  MODEL_NOT_FOUND: { message: 'No model version found', retriable: false, status: 404 },
  ARTIFACT_CORRUPT: { message: 'Model artifact failed verification', retriable: false, status: 422 },
  ARTIFACT_UNAUTHENTICATED: {
    message: 'Model artifact or version event is not authentic (signature, sequence or size)',
    retriable: false,
    status: 422,
  },
  GATE_REJECTED: {
    message: 'Candidate model did not pass the promotion gate',
    retriable: false,
    status: 422,
  },
  TRAINING_FAILED: { message: 'Training failed', retriable: false, status: 500 },
  DATASET_INVALID: { message: 'Data set failed verification', retriable: false, status: 422 },
  MIGRATION_FAILED: { message: 'ClickHouse migration failed', retriable: false, status: 500 },
  MIGRATION_PENDING: { message: 'ClickHouse migrations have not been applied', retriable: true, status: 503 },
  NOT_FOUND: { message: 'Not found', retriable: false, status: 404 },
  BAD_REQUEST: { message: 'Invalid request', retriable: false, status: 400 },
  UNAUTHORIZED: { message: 'Missing or invalid API key', retriable: false, status: 401 },
  FORBIDDEN: { message: 'Not allowed with these credentials', retriable: false, status: 403 },
  IDEMPOTENCY_CONFLICT: {
    message: 'This requestId was already used with a different payload',
    retriable: false,
    status: 409,
  },
  RATE_LIMITED: { message: 'Too many requests', retriable: true, status: 429 },
  STACK_FAILED: { message: 'Local stack failed', retriable: false, status: 500 },
  MLFLOW_UNAVAILABLE: { message: 'MLflow tracking server is not reachable', retriable: true, status: 503 },
  MLFLOW_REJECTED: { message: 'MLflow refused the request', retriable: false, status: 502 },
  TIMEOUT: { message: 'Operation timed out', retriable: true, status: 504 },
  INTERNAL: { message: 'Internal error', retriable: false, status: 500 },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERROR_CODES

export interface RiskStreamErrorOptions {
  cause?: unknown
  /** Overrides the registry's default when a specific failure is known to be transient (or not). */
  retriable?: boolean
  /** Structured, log-safe context (never patient data). */
  details?: Record<string, unknown>
}

export class RiskStreamError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly status: number
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message?: string, options: RiskStreamErrorOptions = {}) {
    const spec: ErrorSpec = ERROR_CODES[code]
    super(message ? `${spec.message}: ${message}` : spec.message, { cause: options.cause })
    this.name = 'RiskStreamError'
    this.code = code
    this.retriable = options.retriable ?? spec.retriable
    this.status = spec.status
    this.details = options.details ?? {}
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details }
  }
}

export function isRiskStreamError(err: unknown): err is RiskStreamError {
  return err instanceof RiskStreamError
}

/**
 * Whether kafkajs says retrying cannot help: a broker's explicit refusal (a KafkaJSProtocolError
 * marked non-retriable, e.g. MESSAGE_TOO_LARGE, INVALID_RECORD, TOPIC_AUTHORIZATION_FAILED)
 * anywhere in the cause chain. Exhausted retries and lost connections stay transient.
 */
export function isKafkaRefusal(err: unknown): boolean {
  for (
    let e = err as { name?: unknown; retriable?: unknown; cause?: unknown } | undefined, d = 0;
    e && d < 6;
    d++
  ) {
    if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return true
    e = e.cause as typeof e
  }
  return false
}

/** Wraps anything thrown into a RiskStreamError, keeping an existing code. */
export function toRiskStreamError(err: unknown, fallback: ErrorCode = 'INTERNAL'): RiskStreamError {
  if (err instanceof RiskStreamError) return err
  const message = err instanceof Error ? err.message : String(err)
  // kafkajs marks its own transient failures, and a broker's refusal as not retriable; keep
  // that knowledge instead of guessing (a refusal is never retried for ever as an "outage").
  const flag =
    typeof err === 'object' && err !== null ? (err as { retriable?: unknown }).retriable : undefined
  const retriable = isKafkaRefusal(err) ? false : flag === true ? true : undefined
  return new RiskStreamError(fallback, message, { cause: err, retriable })
}
