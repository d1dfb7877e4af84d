/**
 * Record headers that carry meaning between roles.
 * `riskstream-scored-by: api` marks a request the API already scored synchronously (POST /v1/predict)
 * and published together with its prediction: streaming inference must not score it again,
 * or the request would have two predictions on the wire.
 */
export const SCORED_BY_HEADER = 'riskstream-scored-by'
export const SCORED_BY_API = 'api'
