/**
 * Model-version signatures and the artifact's decompression cap (pure, no services).
 */
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeArtifact, sha256Hex } from '../../../lib/model/artifact.ts'
import { createSigner, type SignedVersionFields } from '../../../lib/model/signing.ts'

const event: SignedVersionFields = {
  eventId: 'm:2:production:7',
  modelName: 'm',
  version: 2,
  stage: 'production',
  threshold: 0.42,
  artifactSha256: 'a'.repeat(64),
  artifactRef: 'clickhouse:model_artifacts/m/2',
  shadow: false,
}
const signer = createSigner('k'.repeat(32))

describe('model-version signatures', () => {
  it('verify returns the signed sequence', () => {
    expect(signer.verify(event, signer.sign(event, 7))).toBe(7)
  })

  it('refuses a missing, malformed, other-key or tampered signature', () => {
    const code = (f: () => unknown) => {
      try {
        f()
        return 'accepted'
      } catch (e) {
        return (e as { code: string }).code
      }
    }
    expect(code(() => signer.verify(event, undefined))).toBe('ARTIFACT_UNAUTHENTICATED')
    expect(code(() => signer.verify(event, 'v1.7.zz'))).toBe('ARTIFACT_UNAUTHENTICATED')
    expect(code(() => signer.verify(event, createSigner('x'.repeat(32)).sign(event, 7)))).toBe(
      'ARTIFACT_UNAUTHENTICATED',
    )
    // A signature moved to a higher sequence (to win the ordering) does not verify.
    const [, , mac] = signer.sign(event, 7).split('.')
    expect(code(() => signer.verify(event, `v1.8.${mac}`))).toBe('ARTIFACT_UNAUTHENTICATED')
  })

  it('any change to a signed field breaks the signature', () => {
    const header = signer.sign(event, 7)
    const fields = fc.constantFrom<keyof SignedVersionFields>(
      'eventId',
      'modelName',
      'version',
      'stage',
      'threshold',
      'artifactSha256',
      'artifactRef',
      'shadow',
    )
    fc.assert(
      fc.property(fields, (f) => {
        const v = event[f]
        const changed = typeof v === 'number' ? v + 1 : typeof v === 'boolean' ? !v : `${v}x`
        expect(() => signer.verify({ ...event, [f]: changed }, header)).toThrow(/not authentic/)
      }),
    )
  })
})

describe('artifact decompression cap', () => {
  it('a gzip bomb is refused as corrupt, not inflated into memory', () => {
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20))
    expect(() => decodeArtifact(bomb, sha256Hex(bomb))).toThrow(/ARTIFACT_CORRUPT|failed verification/)
  })
})
