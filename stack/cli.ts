/**
 * tsx stack/cli.ts up|down|status [--data-dir D] [--kafka-port N] [--kafka-controller-port N]
 *                                 [--registry-port N] [--clickhouse-url URL] [--mode auto|native|docker]
 * Exit codes: 0 ok, 1 failure (status: some service is down), 2 usage.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { stackDown, stackStatus, stackUp } from './index.ts'
import { defaultStackOptions, type StackMode, type StackOptions } from './options.ts'

const USAGE =
  'usage: tsx stack/cli.ts up|down|status [--data-dir D] [--kafka-port N] [--kafka-controller-port N] ' +
  '[--registry-port N] [--clickhouse-url URL] [--mode auto|native|docker]'

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${flag}: not a port: ${value}`)
  return n
}

export function optionsFromArgs(argv: string[]): { command: string; opts: StackOptions } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      'kafka-port': { type: 'string' },
      'kafka-controller-port': { type: 'string' },
      'registry-port': { type: 'string' },
      'clickhouse-url': { type: 'string' },
      mode: { type: 'string' },
    },
  })
  const command = positionals[0] ?? ''
  if (!['up', 'down', 'status'].includes(command) || positionals.length > 1) throw new Error(USAGE)
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const d = defaultStackOptions(repoRoot, (msg) => console.log(`[stack] ${msg}`))
  const mode = (values.mode ?? d.mode) as StackMode
  if (!['auto', 'native', 'docker'].includes(mode)) throw new Error(`--mode: auto|native|docker, got ${mode}`)
  const opts: StackOptions = {
    ...d,
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : d.dataDir,
    kafkaPort: port(values['kafka-port'], d.kafkaPort, '--kafka-port'),
    kafkaControllerPort: port(
      values['kafka-controller-port'],
      d.kafkaControllerPort,
      '--kafka-controller-port',
    ),
    registryPort: port(values['registry-port'], d.registryPort, '--registry-port'),
    mode,
  }
  if (values['clickhouse-url']) opts.clickhouseUrl = values['clickhouse-url']
  return { command, opts }
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof optionsFromArgs>
  try {
    parsed = optionsFromArgs(process.argv.slice(2))
  } catch (err) {
    console.error((err as Error).message)
    return 2
  }
  const { command, opts } = parsed
  if (command === 'up') await stackUp(opts)
  else if (command === 'down') await stackDown(opts)
  else return (await stackStatus(opts)).ok ? 0 : 1
  return 0
}

// Only run when executed directly, so the lead's CLI can import optionsFromArgs.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = err as Error & { details?: { tail?: string } }
      console.error(`[stack] ${e.message}`)
      if (e.details?.tail) console.error(e.details.tail)
      process.exit(1)
    },
  )
}
