/**
 * Failed MLflow mirror operations of this process, by operation (`run`, `registry`), read by
 * the /metrics collector (riskstream_mlflow_mirror_failures_total). A failure never fails
 * training or promotion; this count and a warning are what make it visible.
 */
export type MirrorOperation = 'run' | 'registry'

const counts = new Map<MirrorOperation, number>()

export function countMirrorFailure(operation: MirrorOperation): void {
  counts.set(operation, (counts.get(operation) ?? 0) + 1)
}

/** The counts so far (a copy). */
export function mirrorFailures(): ReadonlyMap<MirrorOperation, number> {
  return new Map(counts)
}
