/**
 * JSON schemas (TypeBox) for every route's params, query and body. Fastify validates with
 * them before a handler runs and publishes them in the OpenAPI document. Bounds live here:
 * `:limit` ≤ 1000, `:days` ≤ 365, at most MAX_BATCH requests per predict call.
 */
import { type Static, type TObject, Type } from '@sinclair/typebox'
import type { FEATURES } from '../lib/features/index.ts'
import { LANE_FAMILY, SEGMENT_FAMILIES } from '../lib/segments/index.ts'
import { type FieldProblem, propertyName } from './errors.ts'

export const MAX_LIMIT = 1000
export const MAX_DAYS = 365
export const MAX_BATCH = 500

/** Path-parameter strings are coerced to integers by Ajv; "abc" and "1.5" fail `type: integer`. */
export const LimitParams = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: 'How many (1–1000)' }),
})
export const DaysParams = Type.Object({
  days: Type.Integer({ minimum: 1, maximum: MAX_DAYS, description: 'Look-back period in days (1–365)' }),
})
export const VersionParams = Type.Object({
  version: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Model version number' }),
})
export const RunParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, description: 'Training run id' }),
})

export const AlertsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 50 }),
    kind: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Only this kind (data_drift, concept_drift, data_quality, retrain_recommended)',
      }),
    ),
  },
  { additionalProperties: false },
)
export const HistoryQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 50 }) },
  { additionalProperties: false },
)
export const RangeQuery = Type.Object(
  {
    hours: Type.Integer({
      minimum: 1,
      maximum: MAX_DAYS * 24,
      default: 24,
      description: 'Look-back period in hours',
    }),
  },
  { additionalProperties: false },
)

/** The segments' report: the period, and optionally one segment key or one family (lib/segments). */
export const SegmentsQuery = Type.Object(
  {
    hours: Type.Integer({
      minimum: 1,
      maximum: MAX_DAYS * 24,
      default: 24,
      description: 'Look-back period in hours',
    }),
    segment: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 80,
        description: "One segment key, e.g. 'source=clinic-a' or 'age=30-39'",
      }),
    ),
    family: Type.Optional(
      Type.String({
        enum: [...SEGMENT_FAMILIES, LANE_FAMILY],
        description: "One segment family; 'lane': the shadow versions' own rows",
      }),
    ),
  },
  { additionalProperties: false },
)

// `type: ['number', 'null']` rather than anyOf: with type coercion on, Ajv would turn a null
// into 0 in an anyOf's number branch — and 0 is "measured as zero", not "not measured".
const feature = (doc: string) =>
  Type.Optional(
    Type.Unsafe<number | null>({
      type: ['number', 'null'],
      description: `${doc}; null or absent = not measured`,
    }),
  )
/** Spelled out (not generated from FEATURES) so the request type names each feature. */
const featureProps = {
  pregnancies: feature('Number of pregnancies'),
  glucose: feature('Plasma glucose 2 h after OGTT, mg/dL'),
  bloodPressure: feature('Diastolic blood pressure, mmHg'),
  skinThickness: feature('Triceps skin-fold thickness, mm'),
  insulin: feature('2-hour serum insulin, µU/mL'),
  bmi: feature('Body-mass index, kg/m²'),
  diabetesPedigreeFunction: feature('Diabetes pedigree function'),
  age: feature('Age in years'),
} satisfies Record<(typeof FEATURES)[number], unknown>

export const PredictRequest = Type.Object(
  {
    requestId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Idempotency key; generated when absent' }),
    ),
    patientId: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Pseudonymous patient id (never an MRN)',
    }),
    eventTime: Type.Optional(
      Type.Integer({ minimum: 0, description: 'When the measurements were taken (epoch ms); default now' }),
    ),
    sourceSystem: Type.Optional(
      Type.String({ maxLength: 64, description: 'Sending system (default "api")' }),
    ),
    ...featureProps,
  },
  { additionalProperties: false, title: 'PredictRequest' },
)
export type PredictRequest = Static<typeof PredictRequest>

export const PredictBatch = Type.Object(
  { requests: Type.Array(PredictRequest, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false, title: 'PredictBatch' },
)

/**
 * Where a body is validated with another schema than the one it publishes: `app.ts` compiles
 * `schema[VALIDATED_AS]` when there is one. The two accept the same bodies and differ only in
 * the errors Ajv reports; a symbol key never reaches the OpenAPI document.
 */
export const VALIDATED_AS = Symbol('riskstream.validatedAs')

/** The schema a body is validated with (the published one unless it names another). */
export function validationSchema(schema: unknown): unknown {
  return (schema as { [VALIDATED_AS]?: unknown } | null)?.[VALIDATED_AS] ?? schema
}

/**
 * One request object, or `{ requests: [...] }` for a batch. Published as an `anyOf` (generated
 * clients type it as the union; `if/then/else` would leave it `unknown`), validated by the
 * presence of `requests`: an anyOf makes Ajv report every branch's problems, so a single row
 * with one mistake would also be told it lacks `requests`. With `if/then/else`, Ajv reports the
 * problems of the branch the client meant only.
 */
export const PredictBody = {
  ...Type.Union([PredictRequest, PredictBatch], {
    description:
      'One request, or `{ requests: [...] }` (1–500) for a batch. An object with a `requests` ' +
      'property is a batch and is checked as one; anything else is checked as one request.',
  }),
  [VALIDATED_AS]: {
    if: { type: 'object', required: ['requests'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's keyword, never awaited
    then: PredictBatch,
    else: PredictRequest,
  },
}
export type PredictBody = Static<typeof PredictBody>

/**
 * A single-row body with a list under a key a row does not have (`{"request": [...]}`,
 * `{"rows": [...]}`) was meant as a batch: Ajv, stopping at the first problem, would only say
 * `body.patientId is required`. This names the key and the batch's shape.
 */
export function batchShapeHints(body: unknown): FieldProblem[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || 'requests' in body) return []
  const rowFields = new Set(Object.keys(PredictRequest.properties))
  const key = Object.keys(body).find(
    (k) => !rowFields.has(k) && Array.isArray((body as Record<string, unknown>)[k]),
  )
  if (key === undefined) return []
  const field = `body.${propertyName(key)}`
  return [
    { field, rule: 'batch_shape', message: `${field} holds a list: a batch is sent as {"requests": [...]}` },
  ]
}

// `type: ['object', 'null']` rather than an anyOf with null: the same bodies and the same
// generated type, but Ajv names the one problem instead of one per branch.
const objectOrNull = <T extends TObject>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: ['object', 'null'] })

export const RetrainBody = objectOrNull(
  Type.Object(
    {
      reason: Type.Optional(Type.String({ maxLength: 500 })),
      requested_by: Type.Optional(Type.String({ maxLength: 128 })),
    },
    { additionalProperties: false },
  ),
)
export type RetrainBody = Static<typeof RetrainBody>

export const StageChangeBody = objectOrNull(
  Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
)
export type StageChangeBody = Static<typeof StageChangeBody>

export type LimitParams = Static<typeof LimitParams>
export type DaysParams = Static<typeof DaysParams>
export type VersionParams = Static<typeof VersionParams>
export type RunParams = Static<typeof RunParams>
export type AlertsQuery = Static<typeof AlertsQuery>
export type HistoryQuery = Static<typeof HistoryQuery>
export type RangeQuery = Static<typeof RangeQuery>
export type SegmentsQuery = Static<typeof SegmentsQuery>
