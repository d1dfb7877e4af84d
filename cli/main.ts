/** Runs one `riskstream` command line and returns its exit code (the entry exits with it). */
import { EXIT } from './exit-codes.ts'
import { buildProgram, describeFailure, type ProgramContext } from './program.ts'
import { installShutdown } from './shutdown.ts'

export async function main(argv: readonly string[]): Promise<number> {
  const shutdown = installShutdown()
  const ctx: ProgramContext = { shutdown, exitCode: EXIT.OK }
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    const { code, line } = describeFailure(err)
    if (line) process.stderr.write(`${line}\n`)
    return code
  } finally {
    shutdown.dispose()
  }
}
