import type { Config } from '../../lib/config/index.ts'
import type { StackOptions } from '../../stack/index.ts'

export function stackOptionsFrom(config: Readonly<Config>, log: (m: string) => void): StackOptions {
  return {
    dataDir: config.stack.dataDir,
    kafkaPort: config.stack.kafkaPort,
    kafkaControllerPort: config.stack.kafkaControllerPort,
    registryPort: config.stack.registryPort,
    clickhouseUrl: config.clickhouse.url,
    mode: config.stack.mode,
    log,
  }
}
