import { describe, expect, it } from 'vitest'
import type { DriftEventRecord, RetrainRequestEvent } from '../../../lib/events/index.ts'
import type { DecodedRecord } from '../../../lib/kafka/index.ts'
import { driftTrigger, requestTrigger } from '../../../trainer/service/consumers.ts'

function record<T>(value: T): DecodedRecord<T> {
  return { value, schemaId: 1, key: null, topic: 'in', partition: 2, offset: '41', timestamp: 0, headers: {} }
}

describe('trigger of a record', () => {
  it('names a drift trigger by its event id and keeps where it came from', () => {
    const e = { eventId: 'e1', modelName: 'm', kind: 'data_drift', severity: 'significant', modelVersion: 3 }
    expect(driftTrigger(record(e as unknown as DriftEventRecord))).toEqual({
      id: 'drift:e1',
      kind: 'drift',
      modelName: 'm',
      reason: 'data_drift (significant) on v3',
      source: { topic: 'in', partition: 2, offset: '41' },
    })
    expect(driftTrigger(record({ ...e, eventId: '' } as unknown as DriftEventRecord))).toBeNull()
  })

  it('names a retrain request by its request id, with its reason and requester', () => {
    const q = { requestId: 'r1', modelName: 'm', reason: 'new labels', requestedBy: 'ops' }
    expect(requestTrigger(record(q as unknown as RetrainRequestEvent))).toMatchObject({
      id: 'request:r1',
      kind: 'manual',
      reason: 'new labels by ops',
    })
    const bare = { requestId: 'r2', modelName: 'm', reason: '', requestedBy: '' }
    expect(requestTrigger(record(bare as unknown as RetrainRequestEvent))?.reason).toBe('manual request')
    expect(requestTrigger(record({ ...q, requestId: '' } as unknown as RetrainRequestEvent))).toBeNull()
  })
})
