/**
 * What careless and hostile clients send to POST /v1/predict (and the other bodies), through
 * app.inject() over in-memory fakes: each gets a 400 whose `details` name the actual problem
 * once (the problems of the shape the client meant: an object with `requests` is a batch,
 * anything else one request) and whose message never echoes a value sent.
 */
import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import type { ApiServices } from '../../api/services.ts'
import { SECONDS_HINT } from '../../lib/events/domain.ts'
import { fakePublisher, fakeScorer, fakeServices } from './fakes.ts'
import { deref, type OpenApiDoc } from './openapi-check.ts'
import { ADMIN_KEY, API_KEY, MODEL, registryWithHistory, unitApps, unitConfig } from './unit-app.ts'

const NOW = 1_765_000_000_000
const build = unitApps()
let app: FastifyInstance | undefined

async function start(over: Partial<ApiServices> = {}) {
  const pub = fakePublisher()
  const services = fakeServices(unitConfig(), {
    registry: registryWithHistory().registry,
    publisher: pub.publisher,
    now: () => NOW,
    ...over,
  })
  app = await build(services)
  return pub
}

/** POSTs `body` as JSON, or `raw` text as it is (what JSON.stringify cannot produce). */
async function post(body: unknown, opts: { raw?: string; url?: string; key?: string } = {}) {
  const res = await app!.inject({
    method: 'POST',
    url: opts.url ?? '/v1/predict',
    payload: opts.raw ?? JSON.stringify(body),
    headers: { 'x-api-key': opts.key ?? API_KEY, 'content-type': 'application/json' },
  })
  return { status: res.statusCode, body: res.json(), text: res.body }
}

// Canary values: none of them may come back in an answer.
const PATIENT = 'canary-patient-93817'
const patient = (over: Record<string, unknown> = {}) => ({
  requestId: 'canary-request-1',
  patientId: PATIENT,
  eventTime: NOW - 60_000,
  glucose: 148,
  bmi: 33.6,
  age: 50,
  ...over,
})
const { patientId: _, ...noPatient } = patient()
const rows = (n: number, over: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_x, i) => patient({ requestId: `canary-request-${i}`, ...over }))

const p = (field: string, rule: string, message: string) => ({ field, rule, message })

interface Case {
  name: string
  body?: unknown
  raw?: string
  code: 'BAD_REQUEST' | 'VALIDATION_FAILED'
  details: { field: string; rule: string; message: string }[] | undefined
  /** Sent values the answer must not contain (the canary patient id is always checked). */
  values?: string[]
}

const CASES: Case[] = [
  {
    name: 'a number as a string',
    body: patient({ glucose: '120.75' }),
    code: 'BAD_REQUEST',
    details: [p('body.glucose', 'type', 'body.glucose must be a number or null')],
    values: ['120.75'],
  },
  {
    name: 'NaN as a string',
    body: patient({ bmi: 'NaN' }),
    code: 'BAD_REQUEST',
    details: [p('body.bmi', 'type', 'body.bmi must be a number or null')],
    values: ['NaN'],
  },
  {
    name: 'Infinity as a string',
    body: patient({ age: '-Infinity' }),
    code: 'BAD_REQUEST',
    details: [p('body.age', 'type', 'body.age must be a number or null')],
    values: ['Infinity'],
  },
  {
    name: 'a boolean feature',
    body: patient({ insulin: true }),
    code: 'BAD_REQUEST',
    details: [p('body.insulin', 'type', 'body.insulin must be a number or null')],
  },
  {
    name: 'a missing required field',
    body: noPatient,
    code: 'BAD_REQUEST',
    details: [p('body.patientId', 'required', 'body.patientId is required')],
  },
  {
    name: 'an empty object (one request without its patient)',
    body: {},
    code: 'BAD_REQUEST',
    details: [p('body.patientId', 'required', 'body.patientId is required')],
  },
  {
    name: 'an unknown field',
    body: patient({ cholesterol: 201.5 }),
    code: 'BAD_REQUEST',
    details: [p('body.cholesterol', 'additionalProperties', 'body.cholesterol is not a known field')],
    values: ['201.5'],
  },
  {
    name: 'an unknown field of 200 characters with a control character',
    body: patient({ [`\u0007${'k'.repeat(200)}`]: 1 }),
    code: 'BAD_REQUEST',
    details: [
      p(`body.?${'k'.repeat(63)}…`, 'additionalProperties', `body.?${'k'.repeat(63)}… is not a known field`),
    ],
  },
  {
    name: 'a null body',
    body: null,
    code: 'BAD_REQUEST',
    details: [p('body', 'type', 'body must be an object')],
  },
  {
    name: 'an array body',
    body: [patient()],
    code: 'BAD_REQUEST',
    details: [p('body', 'type', 'body must be an object')],
  },
  {
    name: 'a string body',
    body: PATIENT,
    code: 'BAD_REQUEST',
    details: [p('body', 'type', 'body must be an object')],
  },
  {
    name: 'eventTime in seconds',
    body: patient({ eventTime: Math.floor(NOW / 1000) - 60 }),
    code: 'VALIDATION_FAILED',
    details: [
      p('body.eventTime', 'too_old', `body.eventTime is more than 365 days in the past: ${SECONDS_HINT}`),
    ],
    values: [String(Math.floor(NOW / 1000) - 60)],
  },
  {
    name: 'eventTime with a fraction',
    body: patient({ eventTime: NOW - 0.5 }),
    code: 'BAD_REQUEST',
    details: [p('body.eventTime', 'type', 'body.eventTime must be an integer')],
  },
  {
    name: 'eventTime a day ahead',
    body: patient({ eventTime: NOW + 86_400_000 }),
    code: 'VALIDATION_FAILED',
    details: [p('body.eventTime', 'future', 'body.eventTime is more than 5 minutes in the future')],
  },
  {
    name: 'a huge number',
    body: patient({ glucose: 1.2345e300 }),
    code: 'VALIDATION_FAILED',
    details: [p('body.glucose', 'range', 'body.glucose is outside its physiological bounds [20, 600] mg/dL')],
    values: ['1.2345e+300'],
  },
  {
    name: 'a number too large for a double (Infinity once parsed)',
    raw: `{"patientId":"${PATIENT}","glucose":1e999}`,
    code: 'VALIDATION_FAILED',
    details: [p('body.glucose', 'type', 'body.glucose must be a finite number')],
    values: ['1e999'],
  },
  {
    name: 'a bare NaN (not JSON)',
    raw: `{"patientId":"${PATIENT}","glucose":NaN}`,
    code: 'BAD_REQUEST',
    details: undefined,
  },
  {
    name: 'a blank patient id',
    body: patient({ patientId: '   ' }),
    code: 'VALIDATION_FAILED',
    details: [p('body.patientId', 'missing', 'body.patientId is required (and not blank)')],
  },
  {
    name: 'a batch with one bad row among good ones',
    body: { requests: [patient(), patient({ requestId: 'canary-request-2', glucose: '99.5' }), patient()] },
    code: 'BAD_REQUEST',
    details: [p('body.requests.1.glucose', 'type', 'body.requests.1.glucose must be a number or null')],
    values: ['99.5'],
  },
  {
    name: 'a batch with a row out of bounds',
    body: { requests: [patient(), patient({ requestId: 'canary-request-2', bmi: 250.25 })] },
    code: 'VALIDATION_FAILED',
    details: [
      p(
        'body.requests.1.bmi',
        'range',
        'body.requests.1.bmi is outside its physiological bounds [10, 90] kg/m²',
      ),
    ],
    values: ['250.25'],
  },
  {
    name: 'a batch with a null row',
    body: { requests: [null] },
    code: 'BAD_REQUEST',
    details: [p('body.requests.0', 'type', 'body.requests.0 must be an object')],
  },
  {
    name: 'a batch with a field beside requests',
    body: { requests: [patient()], patientId: PATIENT },
    code: 'BAD_REQUEST',
    details: [p('body.patientId', 'additionalProperties', 'body.patientId is not a known field')],
  },
  {
    name: 'an empty batch',
    body: { requests: [] },
    code: 'BAD_REQUEST',
    details: [p('body.requests', 'minItems', 'body.requests must hold at least 1 item')],
  },
  {
    name: 'a batch that is not an array',
    body: { requests: patient() },
    code: 'BAD_REQUEST',
    details: [p('body.requests', 'type', 'body.requests must be an array')],
  },
  {
    name: 'a batch of 501',
    body: { requests: rows(501) },
    code: 'BAD_REQUEST',
    details: [p('body.requests', 'maxItems', 'body.requests must hold at most 500 items')],
  },
]

describe('POST /v1/predict: one 400 naming the actual problem', () => {
  it.each(CASES)('$name', async (c) => {
    const pub = await start()
    const { status, body, text } = await post(c.body, { raw: c.raw })
    expect(status).toBe(400)
    expect(body).toMatchObject({ success: false, code: c.code })
    expect(body.details).toEqual(c.details)
    // Each problem named once in the message, and nothing of the other shape or of Ajv's anyOf.
    for (const d of c.details ?? []) expect(body.error.split(d.message)).toHaveLength(2)
    expect(text).not.toMatch(/anyOf|must match|schema/)
    const batch = c.body !== null && typeof c.body === 'object' && 'requests' in c.body
    if (!batch) expect(text).not.toContain('requests')
    for (const value of [PATIENT, ...(c.values ?? [])]) expect(text).not.toContain(value)
    expect(pub.sent).toEqual([])
  })

  it('a batch under another key is told the batch shape, naming the key (never its rows)', async () => {
    const pub = await start()
    for (const key of ['request', 'Requests', 'rows']) {
      const { status, body, text } = await post({ [key]: rows(2) })
      expect(status).toBe(400)
      expect(body.code).toBe('BAD_REQUEST')
      expect(body.details).toEqual([
        p('body.patientId', 'required', 'body.patientId is required'),
        p(`body.${key}`, 'batch_shape', `body.${key} holds a list: a batch is sent as {"requests": [...]}`),
      ])
      expect(body.error).toContain(`body.${key} holds a list`)
      expect(text).not.toContain(PATIENT)
    }
    // A list in a field a row has is that field's type problem, not a batch.
    const { body } = await post(patient({ glucose: [120] }))
    expect(body.details).toEqual([p('body.glucose', 'type', 'body.glucose must be a number or null')])
    expect(pub.sent).toEqual([])
  })

  it('a batch with many bad rows: every problem in details, the first ten in the message', async () => {
    await start()
    const { status, body } = await post({ requests: rows(30, { glucose: 5000 }) })
    expect(status).toBe(400)
    expect(body.details).toHaveLength(30)
    expect(body.details[29]).toMatchObject({ field: 'body.requests.29.glucose', rule: 'range' })
    expect(body.error).toContain('body.requests.9.glucose is outside')
    expect(body.error).not.toContain('body.requests.10.')
    expect(body.error).toMatch(/; and 20 more \(see details\)$/)
  })

  it('a request the model cannot score names its row', async () => {
    const { registry } = registryWithHistory()
    await start({ registry, scorer: fakeScorer(registry, MODEL, Number.NaN) })
    const { status, body } = await post({ requests: [patient(), patient({ requestId: 'canary-request-2' })] })
    expect(status).toBe(400)
    expect(body.code).toBe('VALIDATION_FAILED')
    expect(body.details.map((d: { field: string; rule: string }) => [d.field, d.rule])).toEqual([
      ['body.requests.0', 'too_few_features'],
      ['body.requests.1', 'too_few_features'],
    ])
  })

  it('a requestId reused with another payload names its row in a batch (409)', async () => {
    await start()
    expect((await post(patient())).status).toBe(200)
    const { status, body } = await post({
      requests: [patient({ requestId: 'canary-request-2' }), patient({ glucose: 149 })],
    })
    expect(status).toBe(409)
    expect(body.details).toEqual([
      p(
        'body.requests.1.requestId',
        'conflict',
        'body.requests.1.requestId was already used with a different payload',
      ),
    ])
  })
})

describe('the other bodies: object or null, one problem each', () => {
  it.each([
    ['/mlops/api/retrain/trigger', { reason: 5 }, p('body.reason', 'type', 'body.reason must be a string')],
    ['/mlops/api/retrain/trigger', 'now', p('body', 'type', 'body must be an object or null')],
    [
      '/v1/models/3/promote',
      { reason: 'ok', force: true },
      p('body.force', 'additionalProperties', 'body.force is not a known field'),
    ],
    ['/v1/models/1/rollback', [], p('body', 'type', 'body must be an object or null')],
  ])('%s %j', async (url, payload, problem) => {
    await start()
    const { status, body } = await post(payload, { url, key: ADMIN_KEY })
    expect(status).toBe(400)
    expect(body).toMatchObject({ code: 'BAD_REQUEST', details: [problem] })
    expect(body.error).not.toContain('anyOf')
  })
})

describe('the published body schema', () => {
  it('is the union of one request and a batch, and accepts exactly what the route accepts', async () => {
    await start()
    const doc: OpenApiDoc = (await app!.inject({ method: 'GET', url: '/docs/json' })).json()
    const op = doc.paths['/v1/predict']!.post!
    const schema = deref(doc, op.requestBody!.content!['application/json']!.schema) as {
      anyOf: { title: string }[]
      description: string
    }
    // anyOf, not if/then/else: generated clients type the body as the union.
    expect(schema.anyOf.map((s) => s.title)).toEqual(['PredictRequest', 'PredictBatch'])
    expect(schema.description).toContain('`requests`')
    expect(JSON.stringify(schema)).not.toMatch(/"(if|then|else)"/)
    const published = new Ajv({ strict: false }).compile(schema)
    const bodies = [
      patient(),
      { requests: rows(2) },
      ...CASES.filter((c) => c.raw === undefined).map((c) => c.body),
    ]
    for (const body of bodies) {
      const { body: answer } = await post(body)
      // The route's schema refused it exactly when the published schema does.
      expect(answer.code === 'BAD_REQUEST', JSON.stringify(body).slice(0, 80)).toBe(!published(body))
    }
  })
})
