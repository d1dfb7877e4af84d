import { type Static, Type as T } from '@sinclair/typebox'

/**
 * Every environment variable RiskStream reads, with its type, range and default.
 * `.env.example` documents the same list; `tests/lib/config` checks they agree.
 * Names of the original project's settings are kept as they were so its users can switch.
 */
const num = (def: number, min: number, max: number, description: string) =>
  T.Number({ default: def, minimum: min, maximum: max, description })
const int = (def: number, min: number, max: number, description: string) =>
  T.Integer({ default: def, minimum: min, maximum: max, description })
const str = (def: string, description: string, extra: Record<string, unknown> = {}) =>
  T.String({ default: def, description, ...extra })
const bool = (def: boolean, description: string) => T.Boolean({ default: def, description })
const optStr = (description: string) => T.Optional(T.String({ minLength: 1, description }))

export const EnvSchema = T.Object(
  {
    NODE_ENV: str('development', 'Runtime environment', { enum: ['development', 'test', 'production'] }),
    LOG_LEVEL: str('info', 'pino log level', {
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    }),

    // Kafka
    KAFKA_BROKERS: str('127.0.0.1:9092', 'Comma-separated host:port list', {
      pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$',
    }),
    KAFKA_CLIENT_ID: str('riskstream', 'Kafka client id', { minLength: 1 }),
    KAFKA_SASL_MECHANISM: str('none', 'SASL mechanism', {
      enum: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
    }),
    KAFKA_SASL_USERNAME: optStr('SASL user name'),
    KAFKA_SASL_PASSWORD: optStr('SASL password'),
    KAFKA_SSL: bool(false, 'Use TLS to the brokers'),
    KAFKA_SSL_CA_FILE: optStr('PEM file with the CA that signed the broker certificates'),
    KAFKA_SESSION_TIMEOUT_MS: int(
      6000,
      1000,
      300000,
      'Consumer group session: a member silent this long is dropped and its partitions reassigned',
    ),
    KAFKA_HEARTBEAT_INTERVAL_MS: int(
      1000,
      100,
      100000,
      'Consumer heartbeat interval (at most a third of KAFKA_SESSION_TIMEOUT_MS)',
    ),
    TOPIC_PREFIX: str('', 'Prefix for every topic name (e.g. "staging.")', { pattern: '^[A-Za-z0-9._-]*$' }),
    TOPIC_PARTITIONS: int(3, 1, 256, 'Partitions of the co-partitioned request/outcome/prediction topics'),
    TOPIC_REPLICATION_FACTOR: int(1, 1, 7, 'Replication factor for created topics'),

    // Schema registry (Confluent-compatible API; Apicurio serves it under /apis/ccompat/v7)
    SCHEMA_REGISTRY_URL: str('http://127.0.0.1:8081/apis/ccompat/v7', 'Confluent-compatible registry URL', {
      pattern: '^https?://',
    }),

    // ClickHouse
    CLICKHOUSE_URL: optStr('ClickHouse server URL; unset = embedded chDB'),
    CLICKHOUSE_USER: str('default', 'ClickHouse user (server mode)'),
    CLICKHOUSE_PASSWORD: str('', 'ClickHouse password (server mode)'),
    CLICKHOUSE_DATABASE: str('default', 'ClickHouse database', { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    CLICKHOUSE_API_USER: optStr('Read-only ClickHouse user for the API (server mode)'),
    CLICKHOUSE_API_PASSWORD: str('', 'Password of the read-only API user'),
    CLICKHOUSE_PATH: optStr('Embedded chDB data directory (default <DATA_DIR>/chdb)'),
    RETENTION_DAYS_PREDICTIONS: int(
      0,
      0,
      36500,
      'Days raw predictions are kept (TTL on event time, applied at migrate); 0 = for ever',
    ),
    RETENTION_DAYS_OUTCOMES: int(
      0,
      0,
      36500,
      'Days outcomes are kept (TTL on labelled_at, applied at migrate); 0 = for ever',
    ),
    RETENTION_DAYS_DLQ: int(
      30,
      0,
      36500,
      'Days dead-lettered rows are kept (TTL on failed_at, applied at migrate); 0 = for ever',
    ),

    // Local data and stack
    DATA_DIR: optStr('Folder for local state (default <repo>/.data)'),
    PIMA_CSV_PATH: optStr('Path of the Pima CSV (default ../shared/data/pima-indians-diabetes.csv)'),
    STACK_MODE: str('auto', 'How stack:up starts services', { enum: ['auto', 'native', 'docker'] }),
    KAFKA_PORT: int(9092, 1024, 65535, 'Native Kafka listener port'),
    KAFKA_CONTROLLER_PORT: int(9093, 1024, 65535, 'Native Kafka controller port'),
    REGISTRY_PORT: int(8081, 1024, 65535, 'Native registry port'),
    JAVA_HOME: optStr('JDK tried first by the native stack (then PATH and the usual install roots)'),

    // Model and training (original names and defaults)
    MODEL_NAME: str('diabetes-risk', 'Model name', { pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    MIN_MODEL_ACCURACY: num(0.75, 0, 1, 'Promotion gate: minimum accuracy'),
    MIN_MODEL_ROC_AUC: num(0.8, 0, 1, 'Promotion gate: minimum ROC-AUC'),
    MIN_MODEL_F1: num(0.65, 0, 1, 'Promotion gate: minimum F1'),
    PROMOTION_MARGIN: num(0, -1, 1, 'A candidate must beat the champion primary metric by this much'),
    PROMOTION_ALPHA: num(
      0.05,
      0.0001,
      0.5,
      'Promotion: one-sided DeLong test level on the fresh out-of-time rows',
    ),
    OOT_EVAL_SHARE: num(
      0.2,
      0.05,
      0.5,
      'Newest share of streamed labelled rows held out as the out-of-time test',
    ),
    NESTED_OUTER_FOLDS: int(5, 2, 20, 'Outer folds of the nested-CV estimate'),
    PRIMARY_METRIC: str('roc_auc', 'Model selection metric', {
      enum: ['roc_auc', 'f1', 'accuracy', 'log_loss'],
    }),
    CV_FOLDS: int(10, 2, 20, 'Stratified cross-validation folds'),
    TRAIN_SEED: int(42, 0, 2 ** 31 - 1, 'Seed for CV splits, search and learners'),
    SEARCH_BUDGET: int(8, 1, 200, 'Hyperparameter configurations tried per family'),
    TRAIN_MAX_ROWS: int(145000, 1000, 1000000, 'Rows above this are stratified-subsampled before training'),

    // Drift and retraining (original names; DRIFT_THRESHOLD is now a floor under calibrated thresholds)
    DRIFT_DETECTION_WINDOW: int(1000, 50, 1000000, 'Sliding window size in predictions'),
    DRIFT_FALSE_ALARMS_PER_MILLION: num(
      1,
      0.000001,
      1000000,
      'Data-drift false-alarm budget per million stationary events; sets the calibrated PSI thresholds',
    ),
    DRIFT_THRESHOLD: num(0, 0, 10, 'Optional floor of the calibrated PSI threshold (0 = none)'),
    DRIFT_CLEAR_THRESHOLD: num(
      0,
      0,
      10,
      'Optional floor of the PSI below which a drift alert clears (0 = none)',
    ),
    DRIFT_CONSECUTIVE_WINDOWS: int(2, 1, 100, 'Consecutive windows over threshold before an alert'),
    DRIFT_MIN_WINDOW: int(200, 1, 1000000, 'Minimum events in a window before any verdict'),
    DRIFT_EVAL_EVERY: int(250, 1, 1000000, 'Evaluate the sliding window every N events'),
    DRIFT_TIME_WINDOWS: str('5m,1h', 'Tumbling time windows, e.g. "5m,1h"', {
      pattern: '^(\\d+[smhd])(,\\d+[smhd])*$',
    }),
    PSI_BINS: int(10, 2, 100, 'Quantile bins of the reference distribution'),
    CONCEPT_DRIFT_THRESHOLD: num(0.1, 0, 1, 'Accuracy drop versus validation that counts as concept drift'),
    CONCEPT_MIN_LABELS: int(100, 1, 1000000, 'Minimum labelled predictions before a concept-drift verdict'),
    LABEL_JOIN_TTL_MS: int(
      7 * 24 * 3600 * 1000,
      1000,
      365 * 24 * 3600 * 1000,
      'How long a prediction waits for its label (and a label for its prediction), in event time',
    ),
    LABEL_JOIN_MAX_PENDING: int(
      1_000_000,
      1000,
      100_000_000,
      'Predictions the label join holds in memory (beyond it the oldest by event time wait in ClickHouse) and outcomes waiting for their prediction (beyond it the oldest are evicted, counted)',
    ),
    SEGMENT_MAX_PER_FAMILY: int(
      16,
      0,
      1000,
      'Segments monitored per family (source system, age band) and model version; later values share an "other" segment, counted (0 = no segments)',
    ),
    // 200 = DRIFT_MIN_WINDOW's default: a value seen fewer times could not fill one window of its
    // own, so admitting it later costs no verdict; a flood needs 200 records per fake value to take
    // a slot. 1 admits on first sight.
    SEGMENT_MIN_EVENTS: int(
      200,
      1,
      1000000,
      'Events of a value (source system, age band) before it gets a segment of its own; until then they count in "other"',
    ),
    AUTO_RETRAIN_ENABLED: bool(true, 'Retrain automatically on drift or new data'),
    MIN_NEW_DATA_THRESHOLD: int(100, 1, 100000000, 'New labelled outcomes that trigger a retrain'),
    RETRAIN_COOLDOWN_MS: int(60000, 0, 7 * 24 * 3600 * 1000, 'Minimum time between automatic retrains'),

    // Input domains (lib/events/domain.ts)
    EVENT_TIME_MAX_AGE_MS: int(
      365 * 24 * 3600 * 1000,
      60000,
      10 * 365 * 24 * 3600 * 1000,
      'Event times older than this are refused',
    ),
    EVENT_TIME_MAX_AHEAD_MS: int(
      300000,
      0,
      24 * 3600 * 1000,
      'Event times this far ahead of now are refused',
    ),

    // Dead letters and model signing
    DLQ_RETENTION_MS: int(
      7 * 24 * 3600 * 1000,
      3600000,
      90 * 24 * 3600 * 1000,
      'retention.ms of every <topic>.dlq (they hold full patient payloads)',
    ),
    MODEL_SIGNING_KEY: optStr(
      'HMAC-SHA256 key (>= 32 chars) that signs model artifacts (default: generated once into <DATA_DIR>/model-signing.key)',
    ),

    // API
    API_HOST: str('127.0.0.1', 'API listen address'),
    API_PORT: int(8080, 0, 65535, 'API port'),
    API_KEYS: str('', 'Comma-separated API keys for scoring and reads (empty = keyed routes refused)'),
    API_ADMIN_KEYS: str('', 'Comma-separated admin keys for promote, rollback and retrain (empty = refused)'),
    API_READ_OPEN: bool(false, 'Read routes need no key when true (patient data: keep false outside a demo)'),
    API_RATE_LIMIT_MAX: int(
      600,
      1,
      1000000,
      'Requests per API key (or per IP without one) per API_RATE_LIMIT_WINDOW_MS',
    ),
    API_RETRAIN_PENDING_MS: int(
      600000,
      1000,
      24 * 3600 * 1000,
      'A manual retrain counts as queued (further triggers get 429) until its result or this long',
    ),
    API_RATE_LIMIT_WINDOW_MS: int(60000, 1000, 3600000, 'Rate-limit window'),
    API_CACHE_TTL_MS: int(1000, 0, 60000, 'How long (ms) read routes reuse a ClickHouse read; 0 = no cache'),

    // Prometheus metrics (lib/metrics, docs/observability.md)
    METRICS_HOST: str('127.0.0.1', 'Listen address of the /metrics server of `riskstream run`'),
    METRICS_PORT: T.Optional(
      T.Integer({
        minimum: 0,
        maximum: 65535,
        description: 'Port of the /metrics server of `riskstream run` (unset = no server; 0 = any free port)',
      }),
    ),

    // MLflow mirror of runs and registry (lib/mlflow, docs/observability.md); MLflow's own names
    MLFLOW_TRACKING_URI: T.Optional(
      T.String({
        pattern: '^https?://[^\\s]+$',
        description: 'MLflow tracking server (http[s]://host:port); unset = nothing is mirrored to MLflow',
      }),
    ),
    MLFLOW_EXPERIMENT_NAME: str('riskstream', 'MLflow experiment the training runs are logged to', {
      minLength: 1,
    }),
    MLFLOW_TRACKING_TOKEN: optStr('Bearer token for the MLflow server (MLflow clients read the same name)'),
    MLFLOW_TRACKING_USERNAME: optStr('Basic-auth user for the MLflow server (with MLFLOW_TRACKING_PASSWORD)'),
    MLFLOW_TRACKING_PASSWORD: optStr('Basic-auth password for the MLflow server'),
  },
  { additionalProperties: false },
)

export type Env = Static<typeof EnvSchema>
