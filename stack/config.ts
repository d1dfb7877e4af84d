import type { Config } from '../lib/config/index.ts'
import type { StackOptions } from './options.ts'

/** Stack options from the validated configuration (the CLI and the test setup both use this). */
export function stackOptionsFrom(config: Readonly<Config>, log: (m: string) => void): StackOptions {
  return {
    dataDir: config.stack.dataDir,
    kafkaPort: config.stack.kafkaPort,
    kafkaControllerPort: config.stack.kafkaControllerPort,
    registryPort: config.stack.registryPort,
    javaHome: config.stack.javaHome,
    clickhouseUrl: config.clickhouse.url,
    clickhousePassword: config.clickhouse.password || undefined,
    clickhouseApiPassword: config.clickhouse.api.password || undefined,
    mode: config.stack.mode,
    log,
  }
}
