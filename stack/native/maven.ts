/** Maven runs for the native stack (jars, the registry tarball); ~/.m2 makes later runs offline. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { RiskStreamError } from '../../lib/errors/index.ts'
import { createSerializer } from '../../lib/runtime/serialize.ts'
import type { StackOptions } from '../options.ts'
import { nativePaths } from './paths.ts'
import { run } from './process.ts'

// Two mvn processes filling the same ~/.m2 at once can race on shared plugin downloads: queue them.
const oneMvnAtATime = createSerializer()

export function mvn(opts: StackOptions, args: string[], what: string): Promise<void> {
  return oneMvnAtATime(() => mvnNow(opts, args, what))
}

async function mvnNow(opts: StackOptions, args: string[], what: string): Promise<void> {
  const logFile = join(nativePaths(opts).logsDir, 'mvn.log')
  mkdirSync(dirname(logFile), { recursive: true })
  opts.log(`${what}: mvn ${args.join(' ')}`)
  const t0 = Date.now()
  const r = await run('mvn', ['-B', '-q', ...args])
  writeFileSync(logFile, `\n==== ${new Date().toISOString()} mvn ${args.join(' ')}\n${r.output}`, {
    flag: 'a',
  })
  if (r.error)
    throw new RiskStreamError('STACK_FAILED', `cannot run mvn (is Maven installed?): ${r.error.message}`)
  if (r.status !== 0) {
    throw new RiskStreamError('STACK_FAILED', `${what} failed (mvn exit ${r.status}); see ${logFile}`, {
      details: { logFile, tail: r.output.split('\n').slice(-15).join('\n') },
    })
  }
  opts.log(`${what}: done in ${Date.now() - t0} ms`)
}
