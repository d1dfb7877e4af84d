/**
 * Event field ↔ ClickHouse column for the features of a stored prediction (FEATURE_COLUMNS of
 * lib/features): the select list and the vector read back from a row.
 */
import { FEATURE_COLUMNS, FEATURES, type FeatureName } from '../features/index.ts'

/** The feature columns of `predictions`, in FEATURES order, for a SELECT list. */
export const FEATURE_SELECT = FEATURES.map((f) => FEATURE_COLUMNS[f]).join(', ')

/** The feature values of a row selected with FEATURE_SELECT, by event field. */
export function featuresOfRow(row: Record<string, unknown>): Record<FeatureName, unknown> {
  return Object.fromEntries(FEATURES.map((f) => [f, row[FEATURE_COLUMNS[f]]])) as Record<FeatureName, unknown>
}
