/**
 * Response schemas (TypeBox) of every route. They are published in the OpenAPI document
 * (/docs/json) and Fastify serialises each response with the serializer compiled from them
 * (fast-json-stringify), which DROPS undeclared properties and coerces values to the declared
 * type. So every property a route returns is declared here, fixed shapes close with
 * `additionalProperties: false`, open maps (metrics, dataset, parameters) say so, and
 * `integer` is used only where the value always is one (versions, counts, epoch ms).
 * tests/api/openapi.test.ts and routes.int.test.ts check real responses against them.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { ErrorResponse } from './errors.ts'

const doc = (description?: string) => (description ? { description } : {})
/**
 * `t` or null. A scalar becomes `type: [t, 'null']`, which the compiled serializer writes
 * directly; an `anyOf` (objects) makes it validate the value against each branch first.
 */
const Nullable = <T extends TSchema>(t: T) =>
  typeof t.type === 'string' && t.type !== 'object' && t.type !== 'array'
    ? Type.Unsafe<Static<T> | null>({
        ...t,
        type: [t.type, 'null'],
        ...(t.enum ? { enum: [...t.enum, null] } : {}),
      })
    : Type.Union([t, Type.Null()])
/** A map from names to `values` (OpenAPI's additionalProperties map). */
const Dict = <T extends TSchema>(values: T, description?: string) =>
  Type.Unsafe<Record<string, Static<T>>>({
    type: 'object',
    additionalProperties: values,
    ...doc(description),
  })
/** A JSON object passed through as stored (artifact metrics, dataset fingerprint, parameters). */
const Open = (description: string) =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, description })
const closed = (title: string) => ({ additionalProperties: false, title }) as const
/** A closed shape with an `$id`: published once under components/schemas, used through `Ref`. */
const named = (id: string) => ({ ...closed(id), $id: id }) as const
/** A reference to a named schema (registered with the app by `sharedSchemas`), typed as the schema. */
const Ref = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T>>(Type.Ref(schema.$id!))
const EpochMs = (description = 'Epoch milliseconds') => Type.Integer({ description })
const Version = (description = 'Model version number') => Type.Integer({ description })
const Ok = Type.Literal(true)
/** One of `values` (a plain string enum: simpler for clients and the serializer than an anyOf of literals). */
const Enum = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...doc(description) })

// ---------------------------------------------------------------- shared pieces

export const ModelStage = Enum(
  ['candidate', 'production', 'rejected', 'archived'],
  'Stage of a model version',
)

/** The snake_case view of a registry row (/model/info, /v1/models, the dashboard summary). */
export const ModelInfo = Type.Object(
  {
    model_name: Type.String(),
    version: Version(),
    stage: ModelStage,
    family: Type.String({ description: 'Model family (logistic, xgboost, …)' }),
    threshold: Type.Number({ description: 'Decision threshold on the probability' }),
    metrics: Open('Cross-validation metrics at the threshold (roc_auc, accuracy, f1, …)'),
    dataset: Open('Fingerprint of the training data (rows, positives, sha256, sources, …)'),
    dataset_sha256: Nullable(Type.String()),
    hyperparameters: Open('Hyperparameters of the chosen family'),
    parent_version: Nullable(Version('Version this one was trained to replace')),
    run_id: Type.String({ description: 'Training run that produced it' }),
    reason: Type.String({ description: 'Reason of the latest stage change' }),
    shadow: Type.Boolean({ description: 'A candidate inference shadow-scores' }),
    created_at: EpochMs(),
    updated_at: EpochMs(),
  },
  named('ModelInfo'),
)
export type ModelInfo = Static<typeof ModelInfo>

const Confusion = Type.Object(
  { tp: Type.Integer(), fp: Type.Integer(), tn: Type.Integer(), fn: Type.Integer() },
  closed('Confusion'),
)

export const PerformanceSummary = Type.Object(
  {
    total_predictions: Type.Integer(),
    labelled_predictions: Type.Integer(),
    label_coverage: Nullable(Type.Number({ description: 'labelled / total; null without predictions' })),
    avg_probability: Nullable(Type.Number()),
    prediction_distribution: Type.Object(
      {
        positive: Type.Integer(),
        negative: Type.Integer(),
        positive_rate: Nullable(Type.Number()),
        histogram: Type.Array(
          Type.Object(
            { from: Type.Number(), to: Type.Number(), count: Type.Integer() },
            closed('HistogramBin'),
          ),
          { description: 'Ten probability bins [from, to)' },
        ),
      },
      closed('PredictionDistribution'),
    ),
    accuracy: Nullable(Type.Number()),
    precision: Nullable(Type.Number()),
    recall: Nullable(Type.Number()),
    f1_score: Nullable(Type.Number()),
    roc_auc: Nullable(Type.Number()),
    confusion: Confusion,
    period_start: EpochMs('Start of the period (event time, inclusive)'),
    period_end: EpochMs('End of the period (event time, exclusive)'),
  },
  named('PerformanceSummary'),
)
export type PerformanceSummary = Static<typeof PerformanceSummary>

export const RecentPrediction = Type.Object(
  {
    request_id: Type.String(),
    patient_id: Type.String({ description: 'Pseudonymous patient id' }),
    model_version: Version(),
    probability: Type.Number(),
    prediction: Type.Integer({ description: '0 or 1 at the threshold' }),
    threshold: Type.Number(),
    event_time: EpochMs(),
    scored_at: EpochMs(),
    actual_outcome: Nullable(Type.Integer({ description: '0 or 1; null until the label arrives' })),
    correct: Nullable(Type.Boolean()),
  },
  named('RecentPrediction'),
)
export type RecentPrediction = Static<typeof RecentPrediction>

export const Alert = Type.Object(
  {
    event_id: Type.String(),
    kind: Type.String({ description: 'data_drift, concept_drift, data_quality, retrain_recommended' }),
    severity: Type.String(),
    model_version: Version(),
    window_type: Type.String(),
    window_start: EpochMs(),
    window_end: EpochMs(),
    window_size: Type.Integer(),
    features: Type.Array(Type.String()),
    scores: Dict(Type.Number(), 'Score per feature or metric'),
    detected_at: EpochMs(),
  },
  named('Alert'),
)
export type Alert = Static<typeof Alert>

/** A training run (training_runs), snake_case; listings leave params {} and candidates []. */
export const Run = Type.Object(
  {
    run_id: Type.String(),
    model_name: Type.String(),
    trigger: Type.String({ description: 'manual | drift | data_volume | schedule | cli | test' }),
    trigger_event_id: Type.String(),
    status: Enum(['running', 'succeeded', 'rejected', 'failed']),
    started_at: EpochMs(),
    finished_at: Nullable(EpochMs()),
    duration_ms: Type.Number(),
    chosen_family: Type.String(),
    gate_passed: Type.Boolean(),
    gate_reasons: Type.Array(Type.String()),
    version: Nullable(Version('Version registered by the run')),
    metrics: Open('Aggregate and per-fold metrics'),
    dataset: Open('Dataset fingerprint'),
    params: Open('Everything that shaped the run (k, seed, budget, families, thresholds…); {} in listings'),
    candidates: Type.Array(Type.Unknown(), { description: 'Per-family CV summary; [] in listings' }),
    error: Type.String(),
  },
  named('Run'),
)
export type Run = Static<typeof Run>

// ---------------------------------------------------------------- the drift verdict

const State = Enum(['ok', 'pending', 'alert'], "The monitor's detector state")
const Verdict = Enum(
  ['ok', 'pending', 'alert', 'no_verdict'],
  "'no_verdict' before the monitors recorded one",
)
const EventEvidence = Type.Object(
  {
    event_id: Type.String(),
    severity: Type.String(),
    features: Type.Array(Type.String()),
    scores: Dict(Type.Number()),
    detected_at: EpochMs(),
  },
  closed('EventEvidence'),
)

export const DriftReport = Type.Object(
  {
    model_name: Type.String(),
    model_version: Nullable(Version('Version judged')),
    decided_by: Type.Literal('monitors'),
    data_drift: Type.Object(
      {
        drift_detected: Type.Boolean(),
        verdict: Verdict,
        false_alarm_budget_per_million: Type.Number(),
        statistics: Type.Array(
          Type.Object(
            {
              name: Type.String(),
              label: Type.String(),
              description: Type.String(),
              digits: Type.Integer(),
              alarm: Type.Boolean({ description: 'The statistic the detectors alarm on' }),
            },
            closed('DriftStatisticInfo'),
          ),
          { description: 'The monitored drift statistics (lib/stats/statistics), in display order' },
        ),
        feature_psi: Dict(
          Type.Object(
            {
              psi: Type.Number(),
              ks: Nullable(Type.Number()),
              statistics: Dict(Nullable(Type.Number()), 'Every monitored drift statistic by name'),
              threshold: Nullable(Type.Number({ description: 'Calibrated PSI threshold the monitor used' })),
              state: Nullable(State),
              drift: Type.Boolean(),
              band: Type.String({ description: 'none | moderate | significant' }),
            },
            closed('FeaturePsi'),
          ),
          'Per feature',
        ),
        drifted_features: Type.Array(Type.String()),
        pending_features: Type.Array(Type.String()),
        prediction_psi: Nullable(Type.Number()),
        prediction_state: Nullable(State),
        window_id: Nullable(Type.Integer()),
        window_width: Nullable(Type.Number()),
        window_size: Nullable(Type.Number()),
        window_end: Nullable(EpochMs()),
        last_event: Nullable(EventEvidence),
      },
      closed('DataDrift'),
    ),
    concept_drift: Type.Object(
      {
        drift_detected: Type.Boolean(),
        verdict: Verdict,
        recent_accuracy: Nullable(Type.Number()),
        expected_accuracy: Nullable(Type.Number()),
        accuracy_drop: Nullable(Type.Number()),
        threshold: Type.Number({ description: 'Accuracy drop at or above which the detector fires' }),
        labels: Nullable(Type.Number()),
        window_end: Nullable(EpochMs()),
        last_event: Nullable(EventEvidence),
        estimated: Nullable(
          Type.Object(
            {
              accuracy: Nullable(Type.Number()),
              f1: Nullable(Type.Number()),
              roc_auc: Nullable(Type.Number()),
              expected_accuracy: Nullable(Type.Number()),
              events: Type.Number(),
              window_end: EpochMs(),
            },
            closed('EstimatedPerformance'),
          ),
        ),
      },
      closed('ConceptDrift'),
    ),
    retraining_recommended: Type.Boolean(),
    reason: Type.String(),
    checked_at: EpochMs(),
  },
  named('DriftReport'),
)
export type DriftReportBody = Static<typeof DriftReport>

// ---------------------------------------------------------------- /mlops/api

export const ModelInfoResponse = Type.Object(
  { success: Ok, model_info: Ref(ModelInfo) },
  closed('ModelInfoResponse'),
)
export const PerformanceResponse = Type.Object(
  { success: Ok, days: Type.Integer(), model_name: Type.String(), performance: Ref(PerformanceSummary) },
  closed('PerformanceResponse'),
)
export const DriftCheckResponse = Type.Object(
  { success: Ok, drift: Ref(DriftReport) },
  closed('DriftCheckResponse'),
)
export const RecentPredictionsResponse = Type.Object(
  { success: Ok, count: Type.Integer(), predictions: Type.Array(Ref(RecentPrediction)) },
  closed('RecentPredictionsResponse'),
)
export const AlertsResponse = Type.Object(
  { success: Ok, alerts: Type.Array(Ref(Alert)), total_count: Type.Integer() },
  closed('AlertsResponse'),
)
export const RetrainHistoryResponse = Type.Object(
  { success: Ok, history: Type.Array(Ref(Run)), total_count: Type.Integer() },
  closed('RetrainHistoryResponse'),
)
export const RetrainTriggerResponse = Type.Object(
  { success: Ok, message: Type.String(), request_id: Type.String(), model_name: Type.String() },
  closed('RetrainTriggerResponse'),
)

// ---------------------------------------------------------------- /v1 models, runs

export const ScoredPrediction = Type.Object(
  {
    request_id: Type.String(),
    patient_id: Type.String(),
    probability: Type.Number(),
    prediction: Type.Integer({ description: '0 or 1 at the threshold' }),
    risk_level: Enum(['low', 'medium', 'high']),
    model_version: Version(),
    scored_at: EpochMs(),
  },
  named('ScoredPrediction'),
)
export type ScoredPrediction = Static<typeof ScoredPrediction>

export const PredictResponse = Type.Object(
  {
    success: Ok,
    model: Type.Object(
      { model_name: Type.String(), version: Version(), threshold: Type.Number(), family: Type.String() },
      closed('ServedModel'),
    ),
    predictions: Type.Array(Ref(ScoredPrediction), { description: 'One per request, in request order' }),
  },
  closed('PredictResponse'),
)
export const ModelListResponse = Type.Object(
  {
    success: Ok,
    model_name: Type.String(),
    production_version: Nullable(Version()),
    models: Type.Array(Ref(ModelInfo), { description: 'Newest first' }),
  },
  closed('ModelListResponse'),
)
export const ModelResponse = Type.Object({ success: Ok, model: Ref(ModelInfo) }, closed('ModelResponse'))
export const PromoteResponse = Type.Object(
  {
    success: Ok,
    message: Type.String(),
    model_name: Type.String(),
    version: Version(),
    event_id: Type.String({ description: 'Stage event id' }),
  },
  closed('PromoteResponse'),
)
export const RollbackResponse = Type.Object(
  {
    success: Ok,
    message: Type.String(),
    model_name: Type.String(),
    version: Version(),
    previous_version: Nullable(Version('Production version before the rollback')),
    event_id: Type.String({ description: 'Stage event id' }),
  },
  closed('RollbackResponse'),
)
export const RunResponse = Type.Object({ success: Ok, run: Ref(Run) }, closed('RunResponse'))

// ---------------------------------------------------------------- ops

export const HealthResponse = Type.Object(
  { success: Ok, status: Type.Literal('ok'), uptime_s: Type.Integer() },
  closed('HealthResponse'),
)
export const CheckResult = Type.Object(
  {
    status: Enum(['up', 'down']),
    latency_ms: Type.Number(),
    error: Type.Optional(Type.String()),
  },
  closed('CheckResult'),
)
export type CheckResult = Static<typeof CheckResult>
/** 200 when every check is up, 503 (same shape, success false) when one is not. */
export const ReadyResponse = Type.Object(
  {
    success: Type.Boolean(),
    status: Enum(['ready', 'not_ready']),
    checks: Type.Object(
      { kafka: CheckResult, schema_registry: CheckResult, clickhouse: CheckResult },
      closed('ReadinessChecks'),
    ),
  },
  closed('ReadyResponse'),
)

// ---------------------------------------------------------------- dashboard

const Point = Type.Object(
  { t: EpochMs('Window end'), v: Type.Number(), version: Version() },
  closed('SeriesPoint'),
)
const Series = Dict(Type.Array(Point), 'Points per feature or metric, oldest first')

export const DashboardSummaryResponse = Type.Object(
  {
    success: Ok,
    model: Nullable(Ref(ModelInfo)),
    drift: Ref(DriftReport),
    performance: Ref(PerformanceSummary),
    hours: Type.Integer(),
  },
  closed('DashboardSummaryResponse'),
)
export const DashboardPsiResponse = Type.Object(
  {
    success: Ok,
    bands: Type.Object({ moderate: Type.Number(), significant: Type.Number() }, closed('PsiBands')),
    threshold: Type.Number({ description: 'DRIFT_THRESHOLD (floor of the calibrated thresholds)' }),
    series: Series,
  },
  closed('DashboardPsiResponse'),
)
export const DashboardPerformanceResponse = Type.Object(
  {
    success: Ok,
    series: Series,
    thresholds: Type.Object(
      {
        min_accuracy: Type.Number(),
        min_f1: Type.Number(),
        min_roc_auc: Type.Number(),
        concept_drift_accuracy: Nullable(Type.Number()),
      },
      closed('PerformanceThresholds'),
    ),
  },
  closed('DashboardPerformanceResponse'),
)
export const VolumeBucket = Type.Object(
  {
    t: EpochMs('Bucket start'),
    predictions: Type.Integer(),
    labelled: Type.Integer(),
    positive: Type.Integer(),
  },
  closed('VolumeBucket'),
)
export type VolumeBucket = Static<typeof VolumeBucket>
/** The newest sliding windows of one segment of one model version (lib/segments). */
export const SegmentReport = Type.Object(
  {
    segment: Type.String({
      description:
        "'<family>=<value>'; '<family>=other' holds the values past the cap; 'lane=shadow' is a shadow version's whole traffic",
    }),
    lane: Enum(
      ['champion', 'shadow'],
      'Whose scores: the served version, or a shadow (challenger) version scoring the same requests',
    ),
    model_version: Version(),
    window_end: EpochMs('End of the newest window'),
    window_size: Type.Integer({ description: 'Events in the newest window' }),
    estimated: Type.Object(
      {
        accuracy: Nullable(Type.Number()),
        f1: Nullable(Type.Number()),
        roc_auc: Nullable(Type.Number()),
        state: Nullable(Enum(['ok', 'pending', 'alert'])),
      },
      closed('SegmentEstimate'),
    ),
    // Null for the families that only estimate (age bands).
    drift: Nullable(
      Type.Object(
        {
          state: Enum(['ok', 'pending', 'alert'], 'Worst detector state over the subjects'),
          alerting: Type.Array(Type.String(), { description: 'Subjects in alert' }),
          psi: Dict(Type.Number(), 'PSI per subject'),
          psi_threshold: Dict(Type.Number(), 'Calibrated threshold per subject'),
        },
        closed('SegmentDrift'),
      ),
    ),
    overflow: Nullable(Type.Integer({ description: "Events sent to this 'other' segment past the cap" })),
    // Only the shadow lane has labels (a segment's predictions do not reach the label join).
    realised: Nullable(
      Type.Object(
        {
          accuracy: Nullable(Type.Number()),
          f1: Nullable(Type.Number()),
          roc_auc: Nullable(Type.Number()),
          labels: Type.Integer({ description: 'Labelled predictions in the newest window' }),
        },
        { ...closed('SegmentRealised'), description: 'Realised performance on the newest labelled window' },
      ),
    ),
  },
  closed('SegmentReport'),
)
export type SegmentReport = Static<typeof SegmentReport>
export const DashboardSegmentsResponse = Type.Object(
  { success: Ok, segments: Type.Array(SegmentReport) },
  closed('DashboardSegmentsResponse'),
)
export const DashboardVolumeResponse = Type.Object(
  { success: Ok, bucket_seconds: Type.Integer(), buckets: Type.Array(VolumeBucket) },
  closed('DashboardVolumeResponse'),
)
export const DashboardVersionsResponse = Type.Object(
  {
    success: Ok,
    versions: Type.Array(
      Type.Object(
        {
          version: Version(),
          stage: ModelStage,
          family: Type.String(),
          created_at: EpochMs(),
          metrics: Open('Cross-validation metrics'),
        },
        closed('VersionSummary'),
      ),
    ),
    events: Type.Array(
      Type.Object(
        {
          version: Version(),
          stage: ModelStage,
          action: Enum(
            ['register', 'promote', 'archive', 'reject', 'rollback', ''],
            "Empty ('') on events recorded before actions were",
          ),
          previous_version: Nullable(Version()),
          reason: Type.String(),
          at: EpochMs(),
        },
        closed('StageEvent'),
      ),
      { description: 'Stage transitions, oldest first' },
    ),
  },
  closed('DashboardVersionsResponse'),
)
export const DashboardRunsResponse = Type.Object(
  { success: Ok, runs: Type.Array(Ref(Run)), total_count: Type.Integer() },
  closed('DashboardRunsResponse'),
)

/** The named schemas the responses refer to; buildApp registers them (app.addSchema). */
export const sharedSchemas: readonly TSchema[] = [
  ErrorResponse,
  ModelInfo,
  PerformanceSummary,
  RecentPrediction,
  Alert,
  Run,
  DriftReport,
  ScoredPrediction,
]

/** The shared error body on every 4xx and 5xx. */
export const errorResponses = {
  '4xx': { ...Ref(ErrorResponse), description: 'Error: ErrorResponse, with the status of its code' },
  '5xx': { ...Ref(ErrorResponse), description: 'Error: ErrorResponse, with the status of its code' },
} as const

/**
 * `{ 200: ok }` (or another success status) plus the shared error body on 4xx and 5xx;
 * `exact` adds statuses that answer another shape (an exact status wins over its `5xx`).
 */
export function responses(
  ok: TSchema,
  status = 200,
  exact: Record<number, TSchema> = {},
): Record<string, TSchema> {
  const more = Object.entries(exact).map(([code, s]) => [code, described(s)])
  return { [status]: described(ok), ...errorResponses, ...Object.fromEntries(more) }
}

/** The schema with a description (the OpenAPI response's description; its title otherwise). */
const described = (s: TSchema): TSchema => ({ ...s, description: s.description ?? s.title })
