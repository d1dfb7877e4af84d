/**
 * What the routes depend on, each narrow enough for an in-memory fake (tests/api/fakes.ts):
 * the model registry, the warehouse reader, the production scorer, a publisher and the
 * readiness checks. `coreServices` wires them over the process's core Deps (Kafka, the schema
 * registry, ClickHouse).
 */
import type { IHeaders } from 'kafkajs'
import type { Registry } from 'prom-client'
import { type ClickHouseClient, createClickHouse } from '../lib/clickhouse/index.ts'
import { readOnlyClickHouse } from '../lib/clickhouse/readonly.ts'
import type { Config } from '../lib/config/index.ts'
import { BatchSender } from '../lib/kafka/batcher.ts'
import type { SchemaName, TopicNames } from '../lib/kafka/index.ts'
import { createRegistry, type ModelRegistry } from '../lib/registry/index.ts'
import type { Deps } from '../lib/runtime/index.ts'
import { createReadCache, type ReadCache } from './cache.ts'
import { createWarehouseReader, type WarehouseReader } from './queries.ts'
import type { ProductionScorer } from './scoring.ts'

/** Records for one topic, encoded with its contract `schema`. */
export interface PublishBatch {
  topic: string
  schema: SchemaName
  records: { key: string; value: unknown; headers?: IHeaders }[]
}

export interface Publisher {
  /**
   * Registers each contract once per process, encodes the batches and resolves once the broker
   * acknowledged all their records (they may share a produce request with concurrent calls).
   */
  publish(batches: PublishBatch[]): Promise<void>
}

/** /ready's checks: each resolves when its service answers, rejects otherwise. */
export interface ReadinessChecks {
  kafka(signal: AbortSignal): Promise<void>
  schemaRegistry(signal: AbortSignal): Promise<void>
  clickhouse(signal: AbortSignal): Promise<void>
}

/** The narrow dependencies of the API. */
export interface ApiServices {
  config: Readonly<Config>
  topics: TopicNames
  /** Reads and stage changes; read routes see it through the app's read cache. */
  registry: ModelRegistry
  /** Warehouse reads; already behind `cache` when one is given. */
  warehouse: WarehouseReader
  /** The read cache `warehouse` uses, so registry writes can clear it (default: a new one). */
  cache?: ReadCache
  /** Default: the production model from `registry`, re-checked every scorerRefreshMs. */
  scorer?: ProductionScorer
  publisher: Publisher
  ready: ReadinessChecks
  /** Metrics registries of other roles in this process, appended to /metrics. */
  metricsRegistries?: Registry[]
  /** Clock (epoch ms) for "now" in period queries; tests pin it. */
  now?: () => number
  /** Releases what these services opened (called when the app closes). */
  close?(): Promise<void>
}

/** The core Deps plus optional pieces injected by the composing process or by tests. */
export interface CoreApiDeps extends Deps {
  metricsRegistries?: Registry[]
  now?: () => number
  /** A registry to use instead of `createRegistry(deps)`. */
  registry?: ModelRegistry
  /** Client for reads; default: read-only credentials in server mode, the shared client embedded. */
  readClickhouse?: ClickHouseClient
}

/** buildApp takes either the narrow services or the core Deps to wire them from. */
export type ApiDeps = ApiServices | CoreApiDeps

export function isApiServices(deps: ApiDeps): deps is ApiServices {
  return 'warehouse' in deps && 'publisher' in deps
}

/** The services over Kafka, the schema registry and ClickHouse. */
export function coreServices(deps: CoreApiDeps): ApiServices {
  const { config, serde, producer } = deps
  // Reads use the API's read-only ClickHouse user where a server is used (embedded chDB has no users).
  const ownReader =
    !deps.readClickhouse && config.clickhouse.url ? createClickHouse(config, { readOnly: true }) : undefined
  // Embedded chDB has no users: reads run with the query-level setting readonly = 1 and the
  // writing methods are refused (lib/clickhouse/readonly.ts). Fails closed either way.
  const client = deps.readClickhouse ?? ownReader ?? readOnlyClickHouse(deps.clickhouse)
  // One cache per app, never module-wide: two apps in one process must not share results.
  const cache = createReadCache({ ttlMs: config.api.cacheTtlMs })
  const registry =
    deps.registry ??
    createRegistry({ serde, topics: deps.topics, producer, clickhouse: deps.clickhouse, config })

  const schemas = new Map<string, Promise<number>>()
  const ensureSchema = (topic: string, schema: SchemaName): Promise<number> => {
    const key = `${topic}|${schema}`
    let p = schemas.get(key)
    if (!p) {
      p = serde.register(topic, schema)
      // A failed registration (registry down) is retried on the next request.
      p.catch(() => schemas.delete(key))
      schemas.set(key, p)
    }
    return p
  }

  // Concurrent requests share one produce request: while one is in flight (the producer is
  // idempotent, one request at a time) the next ones queue and leave together when it returns,
  // so throughput is no longer one broker round trip per HTTP request. A request is still
  // answered only after its own records are acknowledged (acks=all).
  const sender = new BatchSender(producer, { batchSize: 2000, lingerMs: 0 })

  // One admin client, connected on first use and dropped after a failure (a fresh connect next time).
  let admin: ReturnType<typeof deps.kafka.admin> | undefined

  return {
    config,
    topics: deps.topics,
    registry,
    warehouse: createWarehouseReader({ client, cache }),
    cache,
    metricsRegistries: deps.metricsRegistries,
    now: deps.now,
    publisher: {
      async publish(batches) {
        await Promise.all(batches.map((b) => ensureSchema(b.topic, b.schema)))
        // All encoded before any is queued: a record that cannot be encoded sends nothing.
        const messages = batches.flatMap((b) =>
          b.records.map((r) => ({
            topic: b.topic,
            key: r.key,
            value: serde.encode(b.topic, r.value),
            headers: r.headers,
          })),
        )
        const acked = new Set<Promise<void>>()
        for (const m of messages) acked.add(sender.enqueue(m))
        await Promise.all(acked)
      },
    },
    ready: {
      async kafka() {
        try {
          admin ??= deps.kafka.admin({ retry: { retries: 0 } })
          await admin.connect()
          await admin.describeCluster()
        } catch (err) {
          const a = admin
          admin = undefined
          void a?.disconnect().catch(() => undefined)
          throw err
        }
      },
      async schemaRegistry(signal) {
        const res = await fetch(`${config.registry.url}/subjects`, { signal })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        await res.body?.cancel()
      },
      async clickhouse() {
        const r = await client.ping()
        if (!r.success) throw r.error
      },
    },
    async close() {
      await sender.close().catch(() => undefined)
      await admin?.disconnect().catch(() => undefined)
      await ownReader?.close()
    },
  }
}
