/**
 * Monitor input without an inference process: the seeded Pima stream of the monitor tests
 * (tests/processors/monitors/streams.ts) published straight to the predictions / outcomes
 * topics, so two runs on the same seed get the same records in the same partition order.
 */
import type { Deps } from '../../../lib/runtime/index.ts'
import type { OutcomeEvent, PredictionEvent } from '../../../processors/monitors/sink/rows.ts'
import { pimaStream, type Scenario } from '../../processors/monitors/streams.ts'
import { CANARY } from './canary.ts'

export interface StreamInput {
  predictions: PredictionEvent[]
  outcomes: OutcomeEvent[]
}

/** The stream's predictions and outcomes (outcomes follow their prediction 20 events later). */
export function streamInput(o: { n: number; seed: string; model: string; scenario?: Scenario }): StreamInput {
  const predictions: PredictionEvent[] = []
  const outcomes: OutcomeEvent[] = []
  for (const item of pimaStream({
    n: o.n,
    seed: o.seed,
    scenario: o.scenario ?? { kind: 'stable' },
    modelName: o.model,
  }))
    if (item.type === 'prediction') predictions.push(item.value)
    else outcomes.push(item.value)
  return { predictions, outcomes }
}

/**
 * Every 10th prediction carries the canary patient data (an MRN as its patient id, the canary
 * glucose value): the monitor's logs must never show them (promise 8). Both runs of a
 * comparison plant them alike, so window rows stay comparable.
 */
export function withCanaries(input: StreamInput): StreamInput {
  return {
    predictions: input.predictions.map((p, i) =>
      i % 10 === 0 ? { ...p, patientId: CANARY.mrn, glucose: CANARY.glucose } : p,
    ),
    outcomes: input.outcomes,
  }
}

/** Sends records round-robin over the topic's partitions, 1,000 per produce call (acks=all). */
export async function sendValues(
  deps: Deps,
  topic: string,
  values: (PredictionEvent | OutcomeEvent)[],
): Promise<void> {
  const parts = deps.config.topics.partitions
  for (let i = 0; i < values.length; i += 1000)
    await deps.producer.send({
      topic,
      acks: -1,
      messages: values.slice(i, i + 1000).map((v, j) => ({
        key: v.requestId,
        partition: (i + j) % parts,
        value: deps.serde.encode(topic, v),
      })),
    })
}

/** Publishes the predictions (and outcomes, unless `predictionsOnly`) of a seeded stream. */
export async function publishStream(
  deps: Deps,
  o: { n: number; seed: string; model: string; predictionsOnly?: boolean },
): Promise<{ predictions: number; outcomes: number }> {
  const input = streamInput(o)
  await sendValues(deps, deps.topics.predictions, input.predictions)
  if (!o.predictionsOnly) await sendValues(deps, deps.topics.outcomes, input.outcomes)
  return { predictions: input.predictions.length, outcomes: o.predictionsOnly ? 0 : input.outcomes.length }
}
