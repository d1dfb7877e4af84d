/**
 * One active process among several, elected by a Kafka consumer group: the member assigned
 * partition 0 of a one-partition lock topic is active, the others are standbys. The group
 * coordinator does the election and the liveness (a dead member's session expires, the group
 * rebalances, a standby is assigned the partition); the only rule of ours is the assignment
 * (chooseActive): the active member keeps the partition when a standby joins (no flapping),
 * otherwise the member waiting longest gets it.
 */
import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs'
import { toRiskStreamError } from '../errors/index.ts'
import type { Logger } from '../log/index.ts'

export interface Leadership {
  /** Resolves once this process is the active one. */
  acquired: Promise<void>
  /** True while this process holds the partition. */
  isActive(): boolean
  /** Leaves the group: a standby stops waiting, an active process hands over at once. */
  release(): Promise<void>
}

export interface CampaignOptions {
  /** One-partition lock topic (created if missing). */
  topic: string
  groupId: string
  replicationFactor: number
  log: Logger
  /**
   * Called once if this process was active and is no longer (its membership expired, e.g. an
   * event loop stalled past the session, and a standby took over). The caller must stop writing
   * at once: another process is active now.
   */
  onLost: (why: string) => void
}

/** The lock topic and group that elect the active process of a role (one election per prefix). */
export function activeLock(prefix: string, role: string): { topic: string; groupId: string } {
  return { topic: `${prefix}riskstream.active.${role}`, groupId: `${prefix}riskstream-active-${role}` }
}

export interface Claim {
  active: boolean
  /** When this process started waiting (ms); the longest waiting standby is next. */
  since: number
  /** When it became active (ms; 0 = never). */
  acquiredAt: number
}

/**
 * The member that gets the lock partition. An active member keeps it. Two claim it only when
 * one was dropped from the group while alive (a stall past the session) and a standby took
 * over: the later holder wins, since it went on from the last checkpoint while the other was
 * gone, and the stalled one, told it lost the lock, exits. Clocks of different hosts only need
 * to agree within a session (takeovers are a session apart). Else the longest waiting standby.
 */
export function chooseActive(claims: (Claim & { memberId: string })[]): string | undefined {
  const ranked = [...claims].sort(
    (a, b) =>
      Number(b.active) - Number(a.active) ||
      (a.active ? b.acquiredAt - a.acquiredAt : 0) ||
      a.since - b.since ||
      a.memberId.localeCompare(b.memberId),
  )
  return ranked[0]?.memberId
}

const ASSIGNER = 'riskstream-leader'

/** Partition 0 to the active member if there is one, else to the member waiting longest. */
function leaderAssigner(topic: string, claim: () => Claim): PartitionAssigner {
  return () => ({
    name: ASSIGNER,
    version: 1,
    async assign({ members }) {
      const claims = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
        let c: Claim = { active: false, since: Number.MAX_SAFE_INTEGER, acquiredAt: 0 }
        try {
          c = JSON.parse(meta?.userData.toString('utf8') || '{}') as Claim
        } catch {
          /* a member without a claim waits behind every other */
        }
        return { memberId: m.memberId, ...c }
      })
      const winner = chooseActive(claims)
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: m.memberId === winner ? { [topic]: [0] } : {},
          userData: Buffer.alloc(0),
        }),
      }))
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify(claim())),
        }),
      }
    },
  })
}

/**
 * A topic just created may not be in the broker's metadata yet (KRaft publishes it
 * asynchronously, seconds later on a loaded machine): retried for up to 10 s meanwhile.
 */
async function untilKnown(step: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await step()
      return
    } catch (err) {
      if (!isUnknownTopic(err) || attempt >= 40) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

function isUnknownTopic(err: unknown): boolean {
  // kafkajs wraps the broker's answer once its own retries give up (cause / originalError).
  for (
    let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined, d = 0;
    e && d < 4;
    d++
  ) {
    if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true
    e = (e.cause ?? e.originalError) as typeof e
  }
  return false
}

/** Joins the election; `acquired` resolves when this process becomes the active one. */
export async function campaign(kafka: Kafka, o: CampaignOptions): Promise<Leadership> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic: o.topic, numPartitions: 1, replicationFactor: o.replicationFactor }],
      waitForLeaders: true,
    })
    await untilKnown(() => admin.fetchTopicMetadata({ topics: [o.topic] }))
  } finally {
    await admin.disconnect()
  }
  const claim: Claim = { active: false, since: Date.now(), acquiredAt: 0 }
  let lost = false
  let released = false
  let resolveAcquired!: () => void
  const acquired = new Promise<void>((r) => (resolveAcquired = r))
  let resolveJoined!: () => void
  let rejectJoined!: (err: unknown) => void
  let hasJoined = false
  const joined = new Promise<void>((resolve, reject) => {
    resolveJoined = () => {
      hasJoined = true
      resolve()
    }
    rejectJoined = reject
  })
  const consumer: Consumer = kafka.consumer({
    groupId: o.groupId,
    allowAutoTopicCreation: false,
    partitionAssigners: [leaderAssigner(o.topic, () => claim)],
    maxWaitTimeInMs: 1_000,
  })
  const loseIt = (why: string) => {
    if (!claim.active || lost || released) return
    lost = true
    claim.active = false
    o.onLost(why)
  }
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    resolveJoined()
    const mine = (e.payload.memberAssignment[o.topic] ?? []).includes(0)
    if (mine && !claim.active) {
      claim.active = true
      claim.acquiredAt = Date.now()
      o.log.info({ groupId: o.groupId }, 'active: this process holds the lock partition')
      resolveAcquired()
    } else if (!mine) loseIt('the group assigned the lock partition to another member')
  })
  // A crash kafkajs restarts from (a broker outage) rejoins with this claim and keeps the lock
  // unless a standby holds it by then (the next join says so); a crash for good loses it.
  consumer.on(consumer.events.CRASH, (e) => {
    // Stopped for good before the first join: the campaign fails instead of waiting for ever.
    if (!e.payload.restart && !hasJoined) rejectJoined(toRiskStreamError(e.payload.error))
    if (!e.payload.restart) loseIt(`the lock consumer stopped: ${toRiskStreamError(e.payload.error).message}`)
  })
  await consumer.connect()
  await untilKnown(() => consumer.subscribe({ topic: o.topic, fromBeginning: false }))
  // The lock topic stays empty: the consumer only keeps the membership alive (heartbeats).
  await consumer.run({ autoCommit: false, eachBatch: async () => {} })
  // Returns once the group has answered, so isActive() tells active from standby. A join that
  // takes long is said, not waited out in silence, so a stuck start-up names its cause.
  const slow = setInterval(
    () => o.log.warn({ groupId: o.groupId }, 'still joining the election group; waiting for the broker'),
    20_000,
  )
  try {
    await joined
  } finally {
    clearInterval(slow)
  }
  return {
    acquired,
    isActive: () => claim.active,
    async release() {
      released = true
      claim.active = false
      await consumer.disconnect()
    },
  }
}
