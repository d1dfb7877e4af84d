import { defineConfig } from 'vitest/config'
import { testMode } from './lib/config/index.ts'

/**
 * RISKSTREAM_TEST_MODE chooses the suites: `unit` (pure logic, no services),
 * `integration` (real Kafka, registry and ClickHouse), `reliability` (fault injection),
 * `all` (unit + integration + the fast reliability tests). An unknown mode is an error.
 * File names carry the kind: `*.test.ts` unit, `*.int.test.ts` integration,
 * `tests/reliability/**` reliability (`*.fast.test.ts` also run by `all`).
 */
const mode = testMode()
const unit = ['tests/**/*.test.ts']
const integration = ['tests/**/*.int.test.ts']
const reliabilityAll = ['tests/reliability/**/*.test.ts']
const reliabilityFast = ['tests/reliability/**/*.fast.test.ts']

const include = {
  unit,
  integration,
  reliability: reliabilityAll,
  all: [...unit, ...integration, ...reliabilityFast],
}[mode]
const exclude = {
  unit: ['**/*.int.test.ts', 'tests/reliability/**'],
  integration: ['tests/reliability/**'],
  reliability: [],
  all: ['tests/reliability/**/!(*.fast).test.ts'],
}[mode]

export default defineConfig({
  test: {
    include,
    exclude: ['**/node_modules/**', ...exclude],
    // One process per test file: chDB allows one engine per process, and each file gets its own.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: mode === 'unit' ? [] : ['tests/setup/stack.ts'],
    setupFiles: ['tests/setup/logging.ts'],
    // No retries: a test that passes only on a second try hides a bug (the last one was chDB
    // keeping a dedup token on its session, which dropped window rows now and then).
    retry: 0,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
})
