/** Experiment tracking: training runs and promotion decisions in ClickHouse (tracking.ts). */
export { getRun, listRuns, type RunStatus, type TrainingRun } from '../../lib/registry/index.ts'
export {
  formatRunsTable,
  getPromotion,
  type PromotionDecision,
  recordPromotion,
  recordRun,
} from './tracking.ts'
