import { describe, expect, it } from 'vitest'
import { validateFeatures } from '../../lib/features/index.ts'
import { type AvroSerde, localSchema } from '../../lib/kafka/index.ts'
import type { PredictionRequestEvent } from '../../producers/index.ts'
import { malformedPayload, UNKNOWN_SCHEMA_ID } from '../../producers/malformed.ts'
import { createRng, uuidFrom } from '../../producers/rng.ts'

/** Stands in for the registry-backed serde: wire format with schema id 7 and the local schema. */
const type = localSchema('PredictionRequest')
const fakeSerde = {
  encode: (_topic: string, value: unknown) => {
    const body = type.toBuffer(value)
    const head = Buffer.alloc(5)
    head.writeInt32BE(7, 1)
    return Buffer.concat([head, body])
  },
} as unknown as AvroSerde

const rng = createRng('malformed-test')
const request = (): PredictionRequestEvent => ({
  requestId: uuidFrom(rng),
  patientId: uuidFrom(rng),
  eventTime: 1_700_000_000_000 + rng.int(1e9),
  sourceSystem: 'test',
  notes: null,
  pregnancies: 2,
  glucose: 130,
  bloodPressure: 70,
  skinThickness: null,
  insulin: null,
  bmi: 31.5,
  diabetesPedigreeFunction: 0.4,
  age: 44,
})
const body = (buf: Buffer) => buf.subarray(5)

describe('malformed records fail the way they are meant to', () => {
  it('badMagic and jsonString have no valid magic byte', () => {
    expect(malformedPayload('badMagic', request(), fakeSerde, 't', rng)[0]).toBe(1)
    const json = malformedPayload('jsonString', request(), fakeSerde, 't', rng)
    expect(json[0]).toBe('{'.charCodeAt(0))
  })

  it('unknownSchemaId keeps a valid body under an id no registry issued', () => {
    const buf = malformedPayload('unknownSchemaId', request(), fakeSerde, 't', rng)
    expect(buf[0]).toBe(0)
    expect(buf.readInt32BE(1)).toBe(UNKNOWN_SCHEMA_ID)
    expect(() => type.fromBuffer(body(buf))).not.toThrow()
  })

  it('truncated and wrongSchema never decode with the registered schema (200 random requests)', () => {
    for (let i = 0; i < 200; i++) {
      const t = malformedPayload('truncated', request(), fakeSerde, 't', rng)
      expect(t.readInt32BE(1)).toBe(7)
      expect(() => type.fromBuffer(body(t))).toThrow()
      const w = malformedPayload('wrongSchema', request(), fakeSerde, 't', rng)
      expect(w.readInt32BE(1)).toBe(7)
      expect(() => type.fromBuffer(body(w))).toThrow()
    }
  })

  it('nanFeature and outOfRange decode but fail feature validation (type / range)', () => {
    const nan = type.fromBuffer(body(malformedPayload('nanFeature', request(), fakeSerde, 't', rng)))
    expect(validateFeatures(nan)).toEqual([expect.objectContaining({ feature: 'glucose', rule: 'type' })])
    for (let i = 0; i < 20; i++) {
      const out = type.fromBuffer(body(malformedPayload('outOfRange', request(), fakeSerde, 't', rng)))
      const issues = validateFeatures(out)
      expect(issues).toHaveLength(1)
      expect(issues[0]!.rule).toBe('range')
    }
  })
})
