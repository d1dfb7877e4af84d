/**
 * Malformed records for robustness tests, each built to fail downstream in one predictable way
 * (see malformedPayload), so tests can check that consumers dead-letter exactly what was
 * injected. They bypass the clinical producer's validation on purpose.
 */
import avro from 'avsc'
import { FEATURE_SPECS } from '../lib/features/index.ts'
import type { AvroSerde } from '../lib/kafka/index.ts'
import type { PredictionRequestEvent } from './clinical.ts'
import type { Rng } from './rng.ts'
import type { MalformedKind } from './scenario.ts'

/** Header naming the injected kind. For test verification only: consumers must never trust it. */
export const INJECTED_HEADER = 'x-riskstream-injected'

/** Far above any id a registry hands out, so lookups answer "not found". */
export const UNKNOWN_SCHEMA_ID = 2_147_000_001

/**
 * An older, never-registered shape of the request. Decoded as PredictionRequest it always
 * fails: the ISO timestamp string's length byte is read as eventTime and its first character
 * ('2', 0x32) as the length (25) of sourceSystem, which is longer than the 23 bytes left.
 */
const WRONG_SCHEMA = avro.Type.forSchema({
  type: 'record',
  name: 'LegacyRequest',
  namespace: 'io.riskstream.legacy',
  fields: [
    { name: 'requestId', type: 'string' },
    { name: 'patientId', type: 'string' },
    { name: 'eventTime', type: 'string' },
  ],
})

/**
 * The bytes of one malformed record:
 *
 * | kind            | bytes on the wire                                         | consumer sees              |
 * |-----------------|-----------------------------------------------------------|----------------------------|
 * | badMagic        | a valid record whose magic byte is 1 instead of 0         | DECODE_BAD_MAGIC           |
 * | unknownSchemaId | a valid body under a schema id the registry never issued  | DECODE_UNKNOWN_SCHEMA      |
 * | truncated       | a valid record cut in half                                | DECODE_FAILED              |
 * | wrongSchema     | the registered id, body written with another (unregistered) schema | DECODE_FAILED     |
 * | jsonString      | the request as JSON text (no wire-format header)          | DECODE_BAD_MAGIC           |
 * | nanFeature      | valid Avro, glucose = NaN                                 | decodes; VALIDATION_FAILED (type) |
 * | outOfRange      | valid Avro, one feature far outside its bounds            | decodes; VALIDATION_FAILED (range) |
 */
export function malformedPayload(
  kind: MalformedKind,
  event: PredictionRequestEvent,
  serde: AvroSerde,
  topic: string,
  rng: Rng,
): Buffer {
  switch (kind) {
    case 'badMagic': {
      const buf = Buffer.from(serde.encode(topic, event))
      buf.writeUInt8(1, 0)
      return buf
    }
    case 'unknownSchemaId': {
      const buf = Buffer.from(serde.encode(topic, event))
      buf.writeInt32BE(UNKNOWN_SCHEMA_ID, 1)
      return buf
    }
    case 'truncated': {
      const buf = serde.encode(topic, event)
      return Buffer.from(buf.subarray(0, 5 + Math.floor((buf.length - 5) / 2)))
    }
    case 'wrongSchema': {
      const valid = serde.encode(topic, event)
      const body = WRONG_SCHEMA.toBuffer({
        requestId: event.requestId,
        patientId: event.patientId,
        eventTime: new Date(event.eventTime).toISOString(),
      })
      return Buffer.concat([valid.subarray(0, 5), body])
    }
    case 'jsonString':
      return Buffer.from(JSON.stringify(event))
    case 'nanFeature':
      return serde.encode(topic, { ...event, glucose: Number.NaN })
    case 'outOfRange': {
      const spec = FEATURE_SPECS[rng.int(FEATURE_SPECS.length)]!
      return serde.encode(topic, { ...event, [spec.name]: spec.max * 10 + 1 })
    }
  }
}
