/**
 * Writes the golden files of refactor.test.ts: `npx tsx tests/processors/monitors/golden/make.ts`.
 * Run it only when an output change is intended, and say so in the commit.
 */
import { writeFileSync } from 'node:fs'
import { CHECKPOINT_AT, digest, feed, fixedStream, newEngine, SCENARIOS } from './scenarios.ts'

const outputs: Record<string, unknown> = {}
for (const name of Object.keys(SCENARIOS)) {
  const items = [...fixedStream(name)]
  outputs[name] = digest(feed(newEngine(), items))
}
const items = [...fixedStream('glucose')]
const engine = newEngine()
feed(engine, items.slice(0, CHECKPOINT_AT))
const checkpoint = JSON.parse(JSON.stringify(engine.snapshot()))
const continuation = digest(feed(engine, items.slice(CHECKPOINT_AT)))
// A fresh engine restored from the checkpoint (the join is not in it: the service rebuilds it).
const resumed = newEngine()
resumed.restore(checkpoint)
const afterRestore = digest(feed(resumed, items.slice(CHECKPOINT_AT)))
const dir = new URL('.', import.meta.url).pathname
writeFileSync(`${dir}outputs.json`, `${JSON.stringify({ outputs, continuation, afterRestore }, null, 2)}\n`)
writeFileSync(`${dir}checkpoint-glucose.json`, `${JSON.stringify(checkpoint)}\n`)
