/** Logging: one pino root, a child logger per module. */
export {
  createRootLogger,
  currentLogSettings,
  getLogger,
  initLogging,
  type Logger,
  type LoggerOptions,
  type LogSettings,
  scrub,
} from './log.ts'
