/**
 * How registry events are laid out on the compacted model-versions topic (1 partition).
 *
 * Compaction keeps only the newest record per KEY, so the key decides what survives:
 * - `<model>`            the serving slot. Its newest record is the current state: a
 *                        `production` event for v means "serve v". Only production events,
 *                        or the demotion of the serving version without a replacement, use it.
 * - `<model>#shadow`     the shadow slot. A `candidate` with `shadow: true` means "shadow-score
 *                        this version"; any other record there (shadow: false) empties the slot.
 * - `<model>#v<version>` every other stage change (rejected, archived, plain candidates), so a
 *                        rejection published after a promotion never overwrites the serving slot.
 */
import type { Kafka } from 'kafkajs'
import { readToEnd } from '../kafka/consumer.ts'
import type { AvroSerde } from '../kafka/serde.ts'
import type { ModelVersionEvent } from './types.ts'

export const servingKey = (modelName: string): string => modelName
export const shadowKey = (modelName: string): string => `${modelName}#shadow`
export const versionKey = (modelName: string, version: number): string => `${modelName}#v${version}`

/** Deterministic event id: the same registry state always yields the same id. */
export const eventIdFor = (modelName: string, version: number, stage: string, seq: number): string =>
  `${modelName}:${version}:${stage}:${seq}`

/**
 * Reads the compacted topic to its end and returns the newest `production` event on the
 * serving key of `modelName` (null if none, or if the serving version was demoted with no
 * replacement). A fresh process recovers what to serve from the topic alone.
 */
export async function latestProductionFromTopic(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
  modelName: string,
): Promise<ModelVersionEvent | null> {
  let latest: ModelVersionEvent | null = null
  await readToEnd(kafka, topic, async (m) => {
    if (m.key?.toString() !== servingKey(modelName) || !m.value) return // other slots, tombstones
    const { value } = await serde.decode<ModelVersionEvent>(m.value, 'ModelVersion')
    // A non-production record on the serving key means "nothing to serve" from here on.
    latest = value.stage === 'production' ? value : null
  })
  return latest
}
