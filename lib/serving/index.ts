/** Serving: the loaded model, request validation and mapping, and the Prediction event. */
export { FEATURE_SELECT, featuresOfRow } from './columns.ts'
export { columnMap, type LoadedModel, loadModel, type ModelIdentity } from './model.ts'
export {
  fillRow,
  type RequestHeader,
  toMatrix,
  toPrediction,
  toRequestEvent,
  unscorableError,
  validateRequest,
} from './requests.ts'
