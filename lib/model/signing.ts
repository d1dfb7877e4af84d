/**
 * Authenticated model versions: every ModelVersion event carries `riskstream-signature:
 * v1.<seq>.<hmac>`, an HMAC-SHA256 of the fields that decide what is served (artifact sha256
 * included, so the artifact bytes are authenticated too) plus `seq`, the registry's per-model
 * event sequence. Consumers verify before decoding and order by the signed `seq`, so a
 * re-published old event cannot roll the served model back. Key: MODEL_SIGNING_KEY, else one
 * generated into `<DATA_DIR>/model-signing.key` (0600).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { IHeaders } from 'kafkajs'
import type { Config } from '../config/index.ts'
import { RiskStreamError } from '../errors/index.ts'
import { canonicalJson } from './artifact.ts'

export const SIGNATURE_HEADER = 'riskstream-signature'

/** The event fields a signature covers (a subset of ModelVersionEvent). */
export interface SignedVersionFields {
  eventId: string
  modelName: string
  version: number
  stage: string
  threshold: number
  artifactSha256: string
  artifactRef: string
  shadow: boolean
}

export interface VersionSigner {
  /** Header value for `event` at sequence `seq`. */
  sign(event: SignedVersionFields, seq: number): string
  /**
   * The signed sequence of `event`, or ARTIFACT_UNAUTHENTICATED when the header is missing,
   * malformed or does not match (the message never carries the key or the MAC).
   */
  verify(event: SignedVersionFields, header: string | undefined): number
  /** Purpose-bound MAC for other authenticated markers (e.g. the API's scored-by header). */
  mac(purpose: string, data: string): string
}

function payload(e: SignedVersionFields, seq: number): string {
  return canonicalJson({
    artifactRef: e.artifactRef,
    artifactSha256: e.artifactSha256,
    eventId: e.eventId,
    modelName: e.modelName,
    seq,
    shadow: e.shadow,
    stage: e.stage,
    threshold: e.threshold,
    version: e.version,
  })
}

const unauthenticated = (reason: string) =>
  new RiskStreamError('ARTIFACT_UNAUTHENTICATED', reason, { details: { reason } })

export function createSigner(key: Buffer | string): VersionSigner {
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  const hmac = (s: string) => createHmac('sha256', k).update(s, 'utf8').digest()
  return {
    sign(event, seq) {
      return `v1.${seq}.${hmac(payload(event, seq)).toString('hex')}`
    },
    verify(event, header) {
      if (header === undefined || header === '') throw unauthenticated('unsigned model-version event')
      const m = /^v1\.(\d{1,15})\.([0-9a-f]{64})$/.exec(header)
      if (!m) throw unauthenticated('malformed signature header')
      const seq = Number(m[1])
      const expected = hmac(payload(event, seq))
      if (!timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')))
        throw unauthenticated('signature does not match the event')
      return seq
    },
    mac(purpose, data) {
      return hmac(`${purpose}\u0000${data}`).toString('hex').slice(0, 32)
    },
  }
}

/** The signature header of a Kafka record, if any. */
export function signatureOf(headers: IHeaders | undefined): string | undefined {
  const v = headers?.[SIGNATURE_HEADER]
  if (v === undefined) return undefined
  return (Array.isArray(v) ? v[0] : v)?.toString()
}

const keyFile = (config: Pick<Config, 'data'>) => path.join(config.data.dir, 'model-signing.key')

/**
 * MODEL_SIGNING_KEY, else the machine's generated key file (created atomically on first use:
 * written to a temporary name, then hard-linked into place, so a concurrent reader never
 * sees a half-written key and two first users agree on one key).
 */
export function loadSigningKey(config: Pick<Config, 'signing' | 'data'>): Buffer {
  if (config.signing.key) return Buffer.from(config.signing.key, 'utf8')
  const file = keyFile(config)
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  try {
    linkSync(tmp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex')
}

const signers = new WeakMap<object, VersionSigner>()
/** The signer of a configuration (memoised per config object). */
export function signerFor(config: Pick<Config, 'signing' | 'data'>): VersionSigner {
  let s = signers.get(config)
  if (!s) {
    s = createSigner(loadSigningKey(config))
    signers.set(config, s)
  }
  return s
}
