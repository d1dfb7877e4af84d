/**
 * Record headers that carry meaning between roles.
 * `riskstream-scored-by: api` marks a request the API already scored synchronously (POST /v1/predict)
 * and published together with its prediction: streaming inference must not score it again,
 * or the request would have two predictions on the wire.
 */
export const SCORED_BY_HEADER = 'riskstream-scored-by'
export const SCORED_BY_API = 'api'
/**
 * The API's proof that it set `riskstream-scored-by` itself: a MAC of the request id under the
 * signing key (lib/model/signing.ts). Inference skips a request only when both headers are
 * present and the MAC matches; an outsider's scored-by header is ignored and the request scored.
 */
export const SCORED_BY_MAC_HEADER = 'riskstream-scored-by-mac'

export function scoredByMac(
  signer: { mac(purpose: string, data: string): string },
  requestId: string,
): string {
  return signer.mac('scored-by', requestId)
}
