/**
 * Quiet logs in tests: the level comes from LOG_LEVEL (default warn), so a failing test's output
 * is not buried under info lines. Tests that check log content build their own logger.
 */
import { initLogging } from '../../lib/log/index.ts'

initLogging({ level: process.env.LOG_LEVEL ?? 'warn' })
