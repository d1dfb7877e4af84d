/** The engine's inputs (the decoded Prediction and OutcomeLabel events) and outputs (window rows, drift events). */
import type {
  DriftEventRecord as DriftEvent,
  OutcomeLabelEvent as OutcomeEvent,
  PredictionEvent,
} from '../../../lib/events/index.ts'
import type { MonitorName, WindowType } from '../../../lib/warehouse/index.ts'

export type { OutcomeEvent, PredictionEvent, WindowType }

/** An event time as epoch ms (decoders may hand a Date). */
export const toMs = (t: Date | number): number => (typeof t === 'number' ? t : t.getTime())

/** 'estimate': performance estimated from the served probabilities before labels arrive (CBPE). */
export type MonitorKind = MonitorName
/** 'estimated_performance_drop': the concept-drift rule on the accuracy estimated without labels (CBPE). */
export type DriftKind =
  | 'data_drift'
  | 'concept_drift'
  | 'data_quality'
  | 'retrain_recommended'
  | 'estimated_performance_drop'
  /** The same rules on one segment's windows (lib/segments): evidence, never a retrain trigger. */
  | 'segment_data_drift'
  | 'segment_estimated_performance_drop'
  /** The concept-drift rule on a shadow version's realised performance (lane=shadow): evidence only. */
  | 'segment_concept_drift'

/**
 * One number about one window: (model version × window × subject × metric). The key
 * (model, version, monitor, window_type, window_width, window_id, subject, metric) is
 * deterministic in the input, so re-processing rewrites the same rows.
 */
export interface WindowRow {
  modelName: string
  modelVersion: number
  monitor: MonitorKind
  windowType: WindowType
  /** Sliding: window size in events; tumbling: width in ms. */
  windowWidth: number
  /** Sliding: events (or labels) seen for the version at evaluation; tumbling: window start ms. */
  windowId: number
  windowStart: number
  windowEnd: number
  /** Events (or labelled predictions) actually in the window. */
  windowSize: number
  /** Feature name, '__probability', or '' for model-level metrics. */
  subject: string
  metric: string
  value: number
  /** Segment key (lib/segments, e.g. 'source=clinic-a'); absent for the whole population. */
  segment?: string
}

/**
 * schemas/DriftEvent.avsc (lib/events) with the monitors' narrower kinds. `detectedAt` is the
 * event time of the window end: deterministic, so a re-run produces the identical event.
 */
export type DriftEventRecord = Omit<DriftEvent, 'kind' | 'severity' | 'windowType'> & {
  kind: DriftKind
  severity: 'none' | 'moderate' | 'significant'
  windowType: WindowType
}

/** Deterministic event id: model, version, kind and the window that decided it. */
export function driftEventId(
  modelName: string,
  modelVersion: number,
  kind: DriftKind,
  windowType: WindowType,
  windowWidth: number,
  windowId: number,
  segment = '',
): string {
  const id = `${modelName}:v${modelVersion}:${kind}:${windowType}:${windowWidth}:${windowId}`
  return segment === '' ? id : `${id}:${segment}`
}
