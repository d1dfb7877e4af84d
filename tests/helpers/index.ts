/** Shared test helpers (common.ts): unique names, per-file configuration, waiting for conditions. */
export {
  type CollectedMessage,
  collectMessages,
  preparedDeps,
  testChdbPath,
  testConfig,
  uniqueId,
  type WaitOptions,
  waitFor,
} from './common.ts'
