/**
 * Contract evolution through the real registry (global compatibility BACKWARD): an optional
 * field with a default is accepted and old/new writers and readers interoperate; a breaking
 * change is refused with SCHEMA_INCOMPATIBLE. Each test uses a fresh topic, so a fresh subject.
 */
import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { createSerde, localSchemaJson } from '../../lib/kafka/index.ts'
import { testConfig, uniqueId } from '../helpers/index.ts'

const config = testConfig()
const base = localSchemaJson('PredictionRequest') as { fields: Record<string, unknown>[] }
const withField = (field: Record<string, unknown>) => ({ ...base, fields: [...base.fields, field] })
/** v2: a new optional field with a default (a compatible change). */
const v2 = withField({ name: 'clinicId', type: ['null', 'string'], default: null, doc: 'Sending clinic' })

const request = {
  requestId: 'req-evolution-1',
  patientId: 'pat-evolution-1',
  eventTime: 1_700_000_000_000,
  sourceSystem: 'test',
  pregnancies: 1,
  glucose: 99,
  bloodPressure: 70,
  skinThickness: null,
  insulin: null,
  bmi: 24.5,
  diabetesPedigreeFunction: 0.3,
  age: 30,
  notes: null,
}

describe('PredictionRequest schema evolution', () => {
  it('adding an optional field with a default: old and new producers and consumers interoperate', async () => {
    const topic = `${config.topics.prefix}${uniqueId('evo')}`
    const oldSide = createSerde(config)
    const newSide = createSerde(config)
    const oldId = await oldSide.register(topic, 'PredictionRequest')
    const newId = await newSide.register(topic, 'PredictionRequest', v2)
    expect(newId).not.toBe(oldId)

    // new writer → old reader: the local (v1) schema resolves the v2 record, dropping clinicId.
    const fromNew = newSide.encode(topic, { ...request, requestId: 'req-new', clinicId: 'clinic-7' })
    expect(fromNew.readInt32BE(1)).toBe(newId)
    const readByOld = await oldSide.decode<Record<string, unknown>>(fromNew, 'PredictionRequest')
    expect(readByOld.schemaId).toBe(newId)
    expect(readByOld.value).toMatchObject({ requestId: 'req-new', glucose: 99 })
    expect(readByOld.value).not.toHaveProperty('clinicId')

    // old writer → new reader: the writer schema comes from the registry by id, the reader is v2.
    const fromOld = oldSide.encode(topic, request)
    const writer = await newSide.decode<Record<string, unknown>>(fromOld)
    expect(writer.schemaId).toBe(oldId)
    const registered = (await newSide.registry.getSchema(writer.schemaId)) as unknown as avro.Type
    const writerType = avro.Type.forSchema(registered.schema() as avro.Schema)
    const reader = avro.Type.forSchema(v2 as avro.Schema)
    const readByNew = reader.fromBuffer(fromOld.subarray(5), reader.createResolver(writerType)) as Record<
      string,
      unknown
    >
    expect(readByNew).toMatchObject({ requestId: 'req-evolution-1', bmi: 24.5, clinicId: null })
  })

  it('adding a required field without a default is rejected by the registry', async () => {
    const topic = `${config.topics.prefix}${uniqueId('evo')}`
    const serde = createSerde(config)
    await serde.register(topic, 'PredictionRequest')
    const breaking = withField({ name: 'clinicId', type: 'string' })
    await expect(serde.register(topic, 'PredictionRequest', breaking)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      retriable: false,
    })
    // …and the subject still encodes with the accepted version.
    expect(() => serde.encode(topic, request)).not.toThrow()
  })

  it('changing a field type (requestId string → long) is rejected by the registry', async () => {
    const topic = `${config.topics.prefix}${uniqueId('evo')}`
    const serde = createSerde(config)
    await serde.register(topic, 'PredictionRequest')
    const retyped = {
      ...base,
      fields: base.fields.map((f) => (f.name === 'requestId' ? { ...f, type: 'long' } : f)),
    }
    await expect(serde.register(topic, 'PredictionRequest', retyped)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
    })
  })
})
