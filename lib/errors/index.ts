/** Errors: the closed code registry and the one error class. */
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorSpec,
  isKafkaRefusal,
  isRiskStreamError,
  RiskStreamError,
  type RiskStreamErrorOptions,
  toRiskStreamError,
} from './errors.ts'
