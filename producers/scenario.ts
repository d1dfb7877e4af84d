/**
 * Drift scenarios: YAML files (producers/scenarios/*.yaml) declaring how the simulated
 * stream departs from the Pima data. Parsed with `yaml`, validated with a TypeBox schema
 * (ajv); any problem is a CONFIG_INVALID error that names the file and the field.
 *
 * Timing: a drift is sudden (`at: k`, in effect from event k on) or gradual (`from: k1`,
 * `to: k2`: its strength ramps linearly from 0 at k1 to full at k2 and stays full after).
 * A missing-value burst is on for events `start` ≤ i < `end` only. Event indexes count
 * every event of the run, valid or malformed, from 0.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Static, Type as T, type TSchema } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { RiskStreamError } from '../lib/errors/index.ts'
import { FEATURES } from '../lib/features/index.ts'

export const SCENARIO_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scenarios')

/** Kinds of malformed records the simulator can inject (see malformed.ts for what each is). */
export const MALFORMED_KINDS = [
  'badMagic',
  'unknownSchemaId',
  'truncated',
  'wrongSchema',
  'jsonString',
  'nanFeature',
  'outOfRange',
] as const
export type MalformedKind = (typeof MALFORMED_KINDS)[number]

const Feature = T.Union(
  FEATURES.map((f) => T.Literal(f)),
  { description: 'one of the eight features' },
)
const Index = T.Integer({ minimum: 0 })
const Timing = {
  at: T.Optional(Index),
  from: T.Optional(Index),
  to: T.Optional(Index),
}
const Condition = T.Object(
  {
    feature: Feature,
    op: T.Union([T.Literal('>='), T.Literal('>'), T.Literal('<='), T.Literal('<')]),
    value: T.Number(),
  },
  { additionalProperties: false },
)

const DRIFT_SCHEMAS = {
  /** Data drift: value → mean + (value − mean)·scale + shift, clipped to the bounds. */
  'feature-shift': T.Object(
    {
      kind: T.Literal('feature-shift'),
      feature: Feature,
      shift: T.Optional(T.Number({ default: 0 })),
      scale: T.Optional(T.Number({ exclusiveMinimum: 0, default: 1 })),
      ...Timing,
    },
    { additionalProperties: false },
  ),
  /** Covariate mix change: rows matching `when` are drawn `weight` times as often. */
  'covariate-mix': T.Object(
    {
      kind: T.Literal('covariate-mix'),
      when: Condition,
      weight: T.Number({ exclusiveMinimum: 0 }),
      ...Timing,
    },
    { additionalProperties: false },
  ),
  /** Prevalence (label) shift: rows are drawn so that this share has Outcome = 1. */
  prevalence: T.Object(
    { kind: T.Literal('prevalence'), positiveRate: T.Number({ minimum: 0, maximum: 1 }), ...Timing },
    { additionalProperties: false },
  ),
  /** Concept drift: the outcome of rows matching `when` is flipped with this probability. */
  'concept-flip': T.Object(
    {
      kind: T.Literal('concept-flip'),
      when: Condition,
      probability: T.Number({ minimum: 0, maximum: 1 }),
      ...Timing,
    },
    { additionalProperties: false },
  ),
  /** Missing-value burst: each listed feature becomes null with this probability in [start, end). */
  'missing-burst': T.Object(
    {
      kind: T.Literal('missing-burst'),
      features: T.Array(Feature, { minItems: 1, uniqueItems: true }),
      probability: T.Number({ minimum: 0, maximum: 1 }),
      start: Index,
      end: Index,
    },
    { additionalProperties: false },
  ),
} satisfies Record<string, TSchema>

export type DriftKind = keyof typeof DRIFT_SCHEMAS
export type FeatureShiftDrift = Static<(typeof DRIFT_SCHEMAS)['feature-shift']>
export type CovariateMixDrift = Static<(typeof DRIFT_SCHEMAS)['covariate-mix']>
export type PrevalenceDrift = Static<(typeof DRIFT_SCHEMAS)['prevalence']>
export type ConceptFlipDrift = Static<(typeof DRIFT_SCHEMAS)['concept-flip']>
export type MissingBurstDrift = Static<(typeof DRIFT_SCHEMAS)['missing-burst']>
export type Drift =
  | FeatureShiftDrift
  | CovariateMixDrift
  | PrevalenceDrift
  | ConceptFlipDrift
  | MissingBurstDrift
export type Condition = Static<typeof Condition>

const ScenarioSchema = T.Object(
  {
    name: T.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    description: T.String({ minLength: 1 }),
    /** Run options a scenario suggests; command-line options win. */
    defaults: T.Optional(
      T.Object(
        {
          count: T.Optional(T.Integer({ minimum: 1 })),
          rate: T.Optional(T.Number({ minimum: 0 })),
          labelShare: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
          labelDelayMs: T.Optional(T.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    drifts: T.Optional(
      T.Array(
        T.Object(
          { kind: T.Union(Object.keys(DRIFT_SCHEMAS).map((k) => T.Literal(k))) },
          { additionalProperties: true },
        ),
      ),
    ),
    malformed: T.Optional(
      T.Object(
        {
          /** One of each kind in every block of this many events (so 1000 = "1 in 1,000 of each kind"). */
          every: T.Integer({ minimum: MALFORMED_KINDS.length }),
          kinds: T.Array(T.Union(MALFORMED_KINDS.map((k) => T.Literal(k))), {
            minItems: 1,
            uniqueItems: true,
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export interface Scenario {
  name: string
  description: string
  defaults: { count?: number; rate?: number; labelShare?: number; labelDelayMs?: number }
  drifts: Drift[]
  malformed?: { every: number; kinds: MalformedKind[] }
}

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true })
const validateTop = ajv.compile(ScenarioSchema)
const validateDrift = Object.fromEntries(
  Object.entries(DRIFT_SCHEMAS).map(([k, s]) => [k, ajv.compile(s as TSchema)]),
) as Record<DriftKind, ReturnType<typeof ajv.compile>>

function describe(errors: ErrorObject[] | null | undefined, prefix: string): string {
  return (errors ?? [])
    .map((e) => {
      const where = `${prefix}${e.instancePath}` || '(top level)'
      const extra =
        e.keyword === 'additionalProperties'
          ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"`
          : ''
      return `${where} ${e.message}${extra}`
    })
    .join('; ')
}

/** Parses and validates scenario YAML text; `origin` names the file in error messages. */
export function parseScenario(text: string, origin = 'scenario'): Scenario {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new RiskStreamError(
      'CONFIG_INVALID',
      `${origin}: not valid YAML (${(err as Error).message.split('\n')[0]})`,
      {
        cause: err,
      },
    )
  }
  const bad = (msg: string) =>
    new RiskStreamError('CONFIG_INVALID', `${origin}: ${msg}`, { details: { origin } })
  if (!validateTop(doc)) throw bad(describe(validateTop.errors, ''))
  const top = doc as Static<typeof ScenarioSchema>
  const drifts: Drift[] = []
  ;(top.drifts ?? []).forEach((d, i) => {
    const kind = d.kind as DriftKind
    const validate = validateDrift[kind]
    if (!validate(d)) throw bad(describe(validate.errors, `/drifts/${i}`))
    const drift = d as unknown as Drift
    if (drift.kind === 'missing-burst') {
      if (drift.end <= drift.start) throw bad(`/drifts/${i} end must be greater than start`)
    } else {
      const sudden = drift.at !== undefined
      const gradual = drift.from !== undefined || drift.to !== undefined
      if (sudden === gradual)
        throw bad(`/drifts/${i} needs either "at" (sudden) or "from" and "to" (gradual)`)
      if (gradual && (drift.from === undefined || drift.to === undefined || drift.to <= drift.from)) {
        throw bad(`/drifts/${i} gradual drift needs "from" < "to"`)
      }
    }
    drifts.push(drift)
  })
  if (drifts.filter((d) => d.kind === 'prevalence').length > 1) throw bad('at most one prevalence drift')
  return {
    name: top.name,
    description: top.description,
    defaults: top.defaults ?? {},
    drifts,
    malformed: top.malformed as Scenario['malformed'],
  }
}

/** Names of the scenarios shipped in producers/scenarios. */
export function listScenarios(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort()
}

/** Loads a shipped scenario by name (`glucose-shift`) or any scenario file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const isName = /^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)
  const file = isName ? path.join(SCENARIO_DIR, `${nameOrPath}.yaml`) : path.resolve(nameOrPath)
  if (!existsSync(file)) {
    throw new RiskStreamError(
      'CONFIG_INVALID',
      isName
        ? `unknown scenario "${nameOrPath}"; shipped scenarios: ${listScenarios().join(', ')}`
        : `scenario file ${file} does not exist`,
    )
  }
  return parseScenario(readFileSync(file, 'utf8'), isName ? `scenario ${nameOrPath}` : file)
}

/**
 * Strength of a sudden or gradual drift at event `i`: 0 before it starts, 1 once in full
 * effect, a linear ramp in between.
 */
export function driftStrength(d: Exclude<Drift, MissingBurstDrift>, i: number): number {
  if (d.at !== undefined) return i >= d.at ? 1 : 0
  const from = d.from!
  const to = d.to!
  if (i < from) return 0
  if (i >= to) return 1
  return (i - from) / (to - from)
}

export function matches(c: Condition, x: number | null): boolean {
  if (x === null) return false
  switch (c.op) {
    case '>=':
      return x >= c.value
    case '>':
      return x > c.value
    case '<=':
      return x <= c.value
    case '<':
      return x < c.value
  }
}
