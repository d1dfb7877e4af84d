/**
 * Child-process runner for the reliability tests: the same role factories the CLI composes
 * (cli/roles.ts), plus crash hooks that the production CLI does not carry. Run with tsx:
 *
 *   child.ts inference [--kill-after-acked=K]      inference; SIGKILL itself after the K-th batch's
 *                                                  predictions are acknowledged, before the commit
 *   child.ts monitors [--kill-before-commit=K] [--kill-before-checkpoint=K] [--group=G]
 *                     [--stall-before-checkpoint-ms=MS] [--checkpoint-every=N]
 *                                                  monitor; SIGKILL itself between the ClickHouse
 *                                                  writes and the offset commit of the K-th checkpoint
 *                                                  (or stall the sink for MS once)
 *   child.ts seed-artifact <model> <version>       stores the test stump artifact in model_artifacts
 *   child.ts query <sql> <params-json>             prints "ROWS <json>" (the child owns the chDB dir)
 *
 * Hooks come from argv, never from the environment: configuration is lib/config's alone, and a
 * crash switch must not be reachable from a production environment file.
 */
import { createClickHouse, migrate, queryRows } from '../../../lib/clickhouse/index.ts'
import { loadConfig } from '../../../lib/config/index.ts'
import { initLogging } from '../../../lib/log/index.ts'
import { encodeArtifact } from '../../../lib/model/artifact.ts'
import { insertArtifact } from '../../../lib/registry/store.ts'
import { closeDeps, createDeps, type Deps, prepare, type Service } from '../../../lib/runtime/index.ts'
import { createInferenceService } from '../../../processors/inference/index.ts'
import { createMonitorService } from '../../../processors/monitors/service.ts'
import { stumpArtifact } from '../../processors/inference/fixtures.ts'

const [command, ...rest] = process.argv.slice(2)
const flags = new Map(
  rest
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, v] = a.slice(2).split('=')
      return [k!, v ?? 'true'] as const
    }),
)
const positional = rest.filter((a) => !a.startsWith('--'))
const intFlag = (name: string): number | undefined => (flags.has(name) ? Number(flags.get(name)) : undefined)

/**
 * Consumer settings of the test runs: a 6 s session (the broker's minimum, as the production
 * default) set explicitly, so the crash runs keep their timing whatever the default, and small
 * fetches so a backlog is worked off in many batches (a fault can then land mid-run).
 */
const CONSUMER = { sessionTimeout: 6000, heartbeatInterval: 1000, maxBytesPerPartition: 32 * 1024 }

const config = loadConfig()
initLogging({ level: config.logLevel })

/** The crash: no flush, no commit, no exit handlers, exactly like `kill -9` from outside. */
function die(where: string): never {
  console.log(`crash-hook: SIGKILL ${where}`)
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable')
}

/**
 * One line per start-up step ("step: <what>"), so a life that hangs before it runs names the
 * step it hangs in (the runs once saw a restarted monitor print nothing at all).
 */
const step = (what: string) => console.log(`step: ${what}`)

/**
 * Prints every consumer group join of this process ("group-join: <group> member <id>"), so a
 * test can count rebalances from outside. Wraps the Kafka client's consumer factory: the roles
 * create their consumers from deps.kafka and need no hook of their own.
 */
function traceGroupJoins(deps: Deps): void {
  const make = deps.kafka.consumer.bind(deps.kafka)
  deps.kafka.consumer = (cfg) => {
    const c = make(cfg)
    // kafkajs reports no generation id: each join is one generation of this member.
    c.on(c.events.GROUP_JOIN, (e) => console.log(`group-join: ${cfg.groupId} member ${e.payload.memberId}`))
    c.on(c.events.CRASH, (e) =>
      console.log(`consumer-crash: ${cfg.groupId} restart=${e.payload.restart} ${e.payload.error.name}`),
    )
    return c
  }
}

async function runRole(make: (deps: Deps) => Service): Promise<void> {
  step(`pid ${process.pid} loaded`)
  const deps = await createDeps(config)
  step('producer connected')
  traceGroupJoins(deps)
  const service = make(deps)
  try {
    await prepare(deps, (m) => step(`prepare: ${m}`))
    step('topics, contracts and migrations ready')
    await service.start()
    console.log(`running: ${service.name}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
  } finally {
    await service.stop().catch((err) => console.error(`stop: ${String(err)}`))
    await closeDeps(deps)
  }
}

switch (command) {
  case 'inference': {
    const killAt = intFlag('kill-after-acked')
    let batches = 0
    await runRole((deps) =>
      createInferenceService(deps, {
        consumerConfig: CONSUMER,
        hooks: {
          afterPredictionsAcked: () => {
            batches++
            if (batches === killAt)
              die(`after predictions of batch ${batches} were acknowledged, before the commit`)
          },
        },
      }),
    )
    break
  }
  case 'monitors': {
    const killCommit = intFlag('kill-before-commit')
    const killCheckpoint = intFlag('kill-before-checkpoint')
    const stallMs = intFlag('stall-before-checkpoint-ms')
    const every = intFlag('checkpoint-every')
    let commits = 0
    let checkpoints = 0
    let stalled = false
    await runRole((deps) =>
      createMonitorService(deps, {
        groupId: flags.get('group'),
        consumerConfig: CONSUMER,
        // Several checkpoints per run even when the whole input is processed within 2 s.
        checkpoint: every ? { everyEvents: every, everyMs: 2000 } : undefined,
        beforeCheckpoint: async () => {
          checkpoints++
          if (checkpoints === killCheckpoint)
            die(`after the ClickHouse writes of checkpoint ${checkpoints}, before the checkpoint`)
          if (stallMs && !stalled && checkpoints >= 2) {
            stalled = true
            console.log(`stall-hook: sink stalls ${stallMs} ms`)
            await new Promise((r) => setTimeout(r, stallMs))
            console.log('stall-hook: sink resumes')
          }
        },
        beforeCommit: () => {
          commits++
          // The tests watch checkpoints from outside (the chDB directory belongs to this process).
          console.log(`checkpoint-hook: checkpoint ${commits} of this process is durable`)
          if (commits === killCommit) die(`after checkpoint ${commits} was written, before the offset commit`)
        },
      }),
    )
    break
  }
  case 'seed-artifact': {
    const [model, version] = positional
    const ch = createClickHouse(config)
    await migrate(ch)
    const { bytes, sha256 } = encodeArtifact(stumpArtifact(model!, Number(version)))
    await insertArtifact(ch, model!, Number(version), sha256, Buffer.from(bytes), Date.now())
    await ch.close()
    console.log('seeded')
    break
  }
  case 'query': {
    const [sql, params] = positional
    const ch = createClickHouse(config)
    const rows = await queryRows(ch, sql!, JSON.parse(params ?? '{}'))
    await ch.close()
    console.log(`ROWS ${JSON.stringify(rows)}`)
    break
  }
  default:
    console.error(`child.ts: unknown command ${command}`)
    process.exitCode = 2
}
