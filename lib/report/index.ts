export {
  buildDriftReport,
  type DriftReport,
  type Histogram,
  type PerformancePoint,
  type SubjectDrift,
} from './drift.ts'
export { renderDriftReport } from './drift-html.ts'
export { type DriftReportOptions, driftReport } from './run.ts'
