import { readFileSync } from 'node:fs'
import path from 'node:path'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import avro from 'avsc'
import type { Config } from '../config/index.ts'
import { REPO_ROOT } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body. */
const MAGIC = 0
const HEADER_BYTES = 5

export type SchemaName =
  | 'PredictionRequest'
  | 'OutcomeLabel'
  | 'Prediction'
  | 'DriftEvent'
  | 'ModelVersion'
  | 'RetrainRequest'
  | 'RetrainResult'

const schemaCache = new Map<string, { json: object; type: avro.Type }>()

function loadLocal(name: string) {
  let entry = schemaCache.get(name)
  if (!entry) {
    const json = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', `${name}.avsc`), 'utf8')) as object
    entry = { json, type: avro.Type.forSchema(json as avro.Schema) }
    schemaCache.set(name, entry)
  }
  return entry
}

/** The local (reader) schema of a record, parsed once from schemas/<name>.avsc. */
export function localSchema(name: SchemaName | string): avro.Type {
  return loadLocal(name).type
}

/** The schema JSON exactly as written in schemas/<name>.avsc (docs and defaults included). */
export function localSchemaJson(name: SchemaName | string): Record<string, unknown> {
  return structuredClone(loadLocal(name).json) as Record<string, unknown>
}

export interface Decoded<T> {
  schemaId: number
  value: T
}

/**
 * Avro serde through the schema registry. Subjects are always passed explicitly as
 * `<topic>-value` (never the library's namespace-derived default), and encoding uses the
 * avsc type directly so the hot path is one buffer copy, not a registry call.
 */
export class AvroSerde {
  readonly registry: SchemaRegistry
  private readonly writers = new Map<string, { id: number; type: avro.Type }>()
  private readonly resolvers = new Map<string, avro.Type | avro.Resolver>()
  private readonly writerTypes = new Map<number, avro.Type>()

  constructor(registryUrl: string) {
    this.registry = new SchemaRegistry({ host: registryUrl, clientId: 'riskstream' })
  }

  /** Registers `schema` under `<topic>-value` (idempotent) and uses it for encoding on that topic. */
  async register(topic: string, schemaName: SchemaName, schema: object = localSchemaJson(schemaName)) {
    const subject = `${topic}-value`
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject },
      )
      const type = avro.Type.forSchema(schema as avro.Schema)
      this.writers.set(topic, { id, type })
      this.writerTypes.set(id, type)
      return id
    } catch (err) {
      throw classifyRegistryError(err, subject)
    }
  }

  /** Encodes a value for `topic`; throws VALIDATION_FAILED naming the bad field paths. */
  encode(topic: string, value: unknown): Buffer {
    const writer = this.writers.get(topic)
    if (!writer) throw new RiskStreamError('INTERNAL', `no schema registered for topic ${topic}`)
    const paths: string[] = []
    if (!writer.type.isValid(value, { errorHook: (p) => paths.push(p.join('.')) })) {
      throw new RiskStreamError('VALIDATION_FAILED', `invalid fields: ${paths.join(', ')}`, {
        details: { fields: paths },
      })
    }
    const body = writer.type.toBuffer(value)
    const out = Buffer.allocUnsafe(HEADER_BYTES + body.length)
    out.writeUInt8(MAGIC, 0)
    out.writeInt32BE(writer.id, 1)
    body.copy(out, HEADER_BYTES)
    return out
  }

  /**
   * Decodes a record written with any registered schema into the reader's local schema
   * (Avro schema resolution), so old and new producers interoperate.
   */
  async decode<T = Record<string, unknown>>(
    buffer: Buffer | null,
    readerName?: SchemaName,
  ): Promise<Decoded<T>> {
    if (!buffer || buffer.length < HEADER_BYTES || buffer.readUInt8(0) !== MAGIC) {
      throw new RiskStreamError('DECODE_BAD_MAGIC', 'missing magic byte or schema id')
    }
    const schemaId = buffer.readInt32BE(1)
    const writer = await this.writerType(schemaId)
    const body = buffer.subarray(HEADER_BYTES)
    try {
      if (!readerName) return { schemaId, value: writer.fromBuffer(body) as T }
      const reader = localSchema(readerName)
      const key = `${schemaId}:${readerName}`
      let resolver = this.resolvers.get(key)
      if (!resolver) {
        resolver = reader.equals(writer) ? reader : reader.createResolver(writer)
        this.resolvers.set(key, resolver)
      }
      const value =
        resolver === reader
          ? reader.fromBuffer(body)
          : reader.fromBuffer(body, resolver as avro.Resolver, true)
      return { schemaId, value: value as T }
    } catch (err) {
      throw new RiskStreamError('DECODE_FAILED', `schema id ${schemaId}: ${(err as Error).message}`, {
        cause: err,
        details: { schemaId },
      })
    }
  }

  private async writerType(schemaId: number): Promise<avro.Type> {
    const cached = this.writerTypes.get(schemaId)
    if (cached) return cached
    try {
      // getSchema answers with an avsc Type: its toString() is only the record's name, so
      // rebuild ours from the full schema() (a JSON string from other registry clients).
      const schema = (await this.registry.getSchema(schemaId)) as unknown as {
        schema?: () => object
        toString(): string
      }
      const json = typeof schema.schema === 'function' ? schema.schema() : JSON.parse(schema.toString())
      const type = avro.Type.forSchema(json as avro.Schema)
      this.writerTypes.set(schemaId, type)
      return type
    } catch (err) {
      const e = classifyRegistryError(err, `schema id ${schemaId}`)
      if (e.code === 'REGISTRY_UNAVAILABLE') throw e
      throw new RiskStreamError('DECODE_UNKNOWN_SCHEMA', `schema id ${schemaId}`, {
        cause: err,
        details: { schemaId },
      })
    }
  }
}

function classifyRegistryError(err: unknown, what: string): RiskStreamError {
  const status = (err as { status?: number }).status
  const name = (err as { name?: string }).name ?? ''
  if (status === 409 || name.includes('Compatibility')) {
    return new RiskStreamError('SCHEMA_INCOMPATIBLE', what, { cause: err })
  }
  if (name.includes('Argument') || name.includes('InvalidSchema')) {
    return new RiskStreamError('VALIDATION_FAILED', `${what}: ${(err as Error).message}`, { cause: err })
  }
  // The registry client reports a refused connection as HTTP 400, so look at the message too.
  const unreachable =
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed/i.test(
      (err as Error).message ?? '',
    )
  if (status === undefined || status >= 500 || unreachable) {
    return new RiskStreamError('REGISTRY_UNAVAILABLE', `${what}: ${(err as Error).message}`, { cause: err })
  }
  return new RiskStreamError('DECODE_UNKNOWN_SCHEMA', `${what}: HTTP ${status}`, {
    cause: err,
    retriable: false,
  })
}

export function createSerde(config: Pick<Config, 'registry'>): AvroSerde {
  return new AvroSerde(config.registry.url)
}

/**
 * Registers every contract under its topic's `<topic>-value` subject (idempotent).
 * Run by `riskstream contracts register` and by each process on start-up.
 */
export async function registerContracts(
  serde: AvroSerde,
  topics: object,
  schemas: Record<string, string>,
): Promise<Record<string, number>> {
  const ids: Record<string, number> = {}
  for (const [key, schemaName] of Object.entries(schemas)) {
    const topic = (topics as Record<string, unknown>)[key]
    if (typeof topic === 'string') ids[topic] = await serde.register(topic, schemaName as SchemaName)
  }
  return ids
}
