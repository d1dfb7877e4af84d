/**
 * Where the native stack keeps everything, under StackOptions.dataDir: jars, Kafka config and log
 * dirs, the unpacked registry and its H2 database, pid files (run/) and process output (logs/).
 */
import { join, resolve } from 'node:path'
import type { StackOptions } from '../options.ts'

export type NativeServiceName = 'kafka' | 'registry'

export function nativePaths(opts: Pick<StackOptions, 'dataDir' | 'kafkaLibsDir'>) {
  const root = resolve(opts.dataDir)
  return {
    root,
    runDir: join(root, 'run'),
    logsDir: join(root, 'logs'),
    kafkaLibs: opts.kafkaLibsDir ? resolve(opts.kafkaLibsDir) : join(root, 'kafka-libs'),
    kafkaDir: join(root, 'kafka'),
    kafkaData: join(root, 'kafka', 'data'),
    kafkaConfig: join(root, 'kafka', 'server.properties'),
    kafkaLog4j: join(root, 'kafka', 'log4j2.properties'),
    registryApp: join(root, 'registry', 'app'),
    registryDb: join(root, 'registry', 'db'),
    registryTmp: join(root, 'registry', 'tmp'),
    pidFile: (s: NativeServiceName) => join(root, 'run', `${s}.pid`),
    logFile: (s: NativeServiceName) => join(root, 'logs', `${s}.log`),
  }
}
