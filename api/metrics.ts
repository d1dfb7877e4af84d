/**
 * Prometheus metrics of the API (its own prom-client Registry) and the /metrics body, which
 * appends every injected registry (in all-in-one mode inference and the monitors pass theirs:
 * consumer lag, predictions/s, DLQ counts, served version).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { METRIC } from '../lib/metrics/names.ts'

export interface ApiMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  latency: Histogram<'method' | 'route'>
  predictions: Counter<'model' | 'version'>
  productionVersion: Gauge<'model'>
  /** Requests refused for a reason worth counting: retrain_pending, idempotency_conflict. */
  refused: Counter<'route' | 'reason'>
}

export function createApiMetrics(
  options: { defaultMetrics?: boolean; registry?: Registry } = {},
): ApiMetrics {
  // `registry`: the process's registry in `riskstream run` (so METRICS_PORT serves these too).
  const registry = options.registry ?? new Registry()
  // Process metrics once per process: with several registries they would be duplicated.
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    requests: new Counter({
      name: METRIC.apiRequests,
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: METRIC.apiRequestDuration,
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    predictions: new Counter({
      name: METRIC.apiPredictions,
      help: 'Predictions served synchronously by /v1/predict',
      labelNames: ['model', 'version'],
      registers,
    }),
    productionVersion: new Gauge({
      name: METRIC.apiProductionVersion,
      help: 'Production model version the API scores with (0 = none loaded)',
      labelNames: ['model'],
      registers,
    }),
    refused: new Counter({
      name: METRIC.apiRefused,
      help: 'Requests refused by a bound or an idempotency rule',
      labelNames: ['route', 'reason'],
      registers,
    }),
  }
}

/** Prometheus text of the API registry followed by each injected registry (duplicates skipped). */
export async function metricsText(own: Registry, injected: Registry[]): Promise<string> {
  const seen = new Set<Registry>([own])
  const parts = [await own.metrics()]
  for (const r of injected) {
    if (seen.has(r)) continue
    seen.add(r)
    parts.push(await r.metrics())
  }
  return `${parts
    .map((p) => p.trimEnd())
    .filter(Boolean)
    .join('\n')}\n`
}
