/**
 * Reading the API's OpenAPI document (/docs/json) in tests: its operations, the response
 * schema it declares for a status, and a check of a real response body against that schema
 * with Ajv. Closed shapes declare `additionalProperties: false`, so a body carrying a
 * property the schema does not declare (one the compiled serializer would drop) fails.
 */
import { Ajv, type ValidateFunction } from 'ajv'

interface MediaType {
  schema?: object
}
interface Operation {
  parameters?: { in: string; name: string; schema?: object }[]
  requestBody?: { content?: Record<string, MediaType> }
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>
}
export interface OpenApiDoc {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, object> }
}

/** `schema` with its `#/components/schemas/…` references replaced by the schemas they name. */
export function deref(doc: OpenApiDoc, schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s) => deref(doc, s))
  if (!schema || typeof schema !== 'object') return schema
  const ref = (schema as { $ref?: unknown }).$ref
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '')
    const target = doc.components?.schemas?.[name]
    if (!target) throw new Error(`unresolved $ref ${ref}`)
    return deref(doc, target)
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, deref(doc, v)]))
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** Every operation of the document, keyed `GET /v1/models/{version}`. */
export function operations(doc: OpenApiDoc): { key: string; method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({
      key: `${m.toUpperCase()} ${path}`,
      method: m,
      path,
      op: item[m]!,
    })),
  )
}

/** The schema declared for `status` (the exact status, else its class `4XX`), for `mediaType`. */
export function declaredSchema(
  doc: OpenApiDoc,
  method: string,
  path: string,
  status: number,
  mediaType = 'application/json',
): object | undefined {
  const responses = doc.paths[path]?.[method.toLowerCase()]?.responses ?? {}
  const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`]
  const schema = declared?.content?.[mediaType]?.schema
  return schema && (deref(doc, schema) as object)
}

/** Validates bodies against the document's declared response schemas; returns Ajv's errors as text. */
export function responseChecker(doc: OpenApiDoc) {
  const ajv = new Ajv({ strict: false, allErrors: true })
  const compiled = new Map<object, ValidateFunction>()
  return (method: string, path: string, status: number, body: unknown, mediaType?: string): string[] => {
    const schema = declaredSchema(doc, method, path, status, mediaType)
    if (!schema) return [`${method} ${path} declares no ${mediaType ?? 'JSON'} schema for ${status}`]
    let validate = compiled.get(schema)
    if (!validate) {
      validate = ajv.compile(schema)
      compiled.set(schema, validate)
    }
    if (validate(body)) return []
    return (validate.errors ?? []).map(
      (e) => `${method} ${path} ${status}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
    )
  }
}

/** Values that differ between two runs by nature (process uptime, probe latency, a random id). */
const VOLATILE = new Set(['uptime_s', 'latency_ms', 'request_id'])

/** `body` with its volatile values replaced by their type, for comparing two apps' answers. */
export function stable(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(stable)
  if (!body || typeof body !== 'object') return body
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, VOLATILE.has(k) ? typeof v : stable(v)]))
}
