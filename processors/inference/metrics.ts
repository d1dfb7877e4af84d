/**
 * Prometheus metrics of the inference consumer. They live in a prom-client Registry that the
 * service either receives (all-in-one mode: the API's /metrics serves one registry for every
 * role) or creates. Creating the metrics twice on one registry (two services in a process)
 * reuses the existing ones instead of throwing "already registered".
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { METRIC } from '../../lib/metrics/names.ts'

export interface InferenceMetrics {
  /** Served predictions acknowledged by the broker, by model version. */
  predictions: Counter<'model' | 'version'>
  /** Shadow predictions acknowledged, by shadow version. */
  shadowPredictions: Counter<'model' | 'version'>
  /** Records dead-lettered, by reason code (decode failures and validation failures alike). */
  deadLettered: Counter<'reason'>
  /** Shadow scoring that threw (never affects the served prediction). */
  shadowFailures: Counter<'model'>
  /** Seconds from receiving a partition batch to its predictions being acknowledged. */
  batchSeconds: Histogram<'model'>
  batchSize: Histogram<'model'>
  /** Version currently served (0 = none loaded yet). */
  servedVersion: Gauge<'model'>
  /** Version being shadow-scored (0 = none). */
  shadowVersion: Gauge<'model'>
  /** Successful model swaps (serving and shadow). */
  reloads: Counter<'model' | 'slot'>
  /** Refused artifacts and undecodable model-version events, by reason code. */
  reloadFailures: Counter<'model' | 'slot' | 'reason'>
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  const registers = [registry]
  return {
    predictions: reuse(
      registry,
      METRIC.inferencePredictions,
      () =>
        new Counter({
          name: METRIC.inferencePredictions,
          help: 'Predictions produced and acknowledged',
          labelNames: ['model', 'version'],
          registers,
        }),
    ),
    shadowPredictions: reuse(
      registry,
      METRIC.inferenceShadowPredictions,
      () =>
        new Counter({
          name: METRIC.inferenceShadowPredictions,
          help: 'Shadow predictions produced and acknowledged',
          labelNames: ['model', 'version'],
          registers,
        }),
    ),
    deadLettered: reuse(
      registry,
      METRIC.inferenceDlq,
      () =>
        new Counter({
          name: METRIC.inferenceDlq,
          help: 'Prediction requests dead-lettered, by reason code',
          labelNames: ['reason'],
          registers,
        }),
    ),
    shadowFailures: reuse(
      registry,
      METRIC.inferenceShadowFailures,
      () =>
        new Counter({
          name: METRIC.inferenceShadowFailures,
          help: 'Shadow scoring failures (served predictions unaffected)',
          labelNames: ['model'],
          registers,
        }),
    ),
    batchSeconds: reuse(
      registry,
      METRIC.inferenceBatchSeconds,
      () =>
        new Histogram({
          name: METRIC.inferenceBatchSeconds,
          help: 'Partition batch latency: decode done to predictions acknowledged',
          labelNames: ['model'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    batchSize: reuse(
      registry,
      METRIC.inferenceBatchSize,
      () =>
        new Histogram({
          name: METRIC.inferenceBatchSize,
          help: 'Requests per partition batch',
          labelNames: ['model'],
          buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
          registers,
        }),
    ),
    servedVersion: reuse(
      registry,
      METRIC.servedVersion,
      () =>
        new Gauge({
          name: METRIC.servedVersion,
          help: 'Model version being served (0 = none)',
          labelNames: ['model'],
          registers,
        }),
    ),
    shadowVersion: reuse(
      registry,
      METRIC.shadowVersion,
      () =>
        new Gauge({
          name: METRIC.shadowVersion,
          help: 'Model version being shadow-scored (0 = none)',
          labelNames: ['model'],
          registers,
        }),
    ),
    reloads: reuse(
      registry,
      METRIC.modelReloads,
      () =>
        new Counter({
          name: METRIC.modelReloads,
          help: 'Model versions loaded and swapped in',
          labelNames: ['model', 'slot'],
          registers,
        }),
    ),
    reloadFailures: reuse(
      registry,
      METRIC.modelReloadFailures,
      () =>
        new Counter({
          name: METRIC.modelReloadFailures,
          help: 'Model versions refused (corrupt or missing artifact, undecodable event)',
          labelNames: ['model', 'slot', 'reason'],
          registers,
        }),
    ),
  }
}
