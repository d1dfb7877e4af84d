/**
 * Consumer lag from the admin API (pure logic over a fake admin): only this process's groups,
 * high watermark minus committed offset, low watermark when nothing is committed, deleted topics
 * skipped; and the window label.
 */
import type { Admin } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { consumerLag, roleGroupPrefixes } from '../../../lib/metrics/index.ts'

const admin = {
  listGroups: async () => ({
    groups: [
      { groupId: 'p.riskstream-monitor', protocolType: 'consumer' },
      { groupId: 'p.riskstream-inference-diabetes-risk', protocolType: 'consumer' },
      { groupId: 'other.riskstream-monitor', protocolType: 'consumer' },
    ],
  }),
  fetchOffsets: async ({ groupId }: { groupId: string }) =>
    groupId === 'p.riskstream-monitor'
      ? [
          {
            topic: 'p.mlops.predictions',
            partitions: [
              { partition: 0, offset: '90' },
              { partition: 1, offset: '-1' },
            ],
          },
          { topic: 'p.deleted', partitions: [{ partition: 0, offset: '5' }] },
        ]
      : [{ topic: 'p.clinical.prediction-requests', partitions: [{ partition: 0, offset: '40' }] }],
  fetchTopicOffsets: async (topic: string) => {
    if (topic === 'p.deleted') throw new Error('This server does not host this topic-partition')
    return [
      { partition: 0, offset: '100', high: '100', low: '0' },
      { partition: 1, offset: '30', high: '30', low: '10' },
    ]
  },
} as unknown as Admin

describe('consumer lag', () => {
  it("reads the lag of this process's groups only", async () => {
    const prefixes = roleGroupPrefixes('p.', ['monitors', 'inference', 'api'])
    expect(prefixes).toEqual(['p.riskstream-monitor', 'p.riskstream-inference-'])
    expect(await consumerLag(admin, prefixes)).toEqual([
      {
        group: 'p.riskstream-inference-diabetes-risk',
        topic: 'p.clinical.prediction-requests',
        partition: 0,
        lag: 60,
      },
      { group: 'p.riskstream-monitor', topic: 'p.mlops.predictions', partition: 0, lag: 10 },
      { group: 'p.riskstream-monitor', topic: 'p.mlops.predictions', partition: 1, lag: 20 },
    ])
  })

  it('an api-only process owns no group', () => {
    expect(roleGroupPrefixes('', ['api'])).toEqual([])
  })
})
