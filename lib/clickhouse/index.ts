export {
  type ClickHouseClient,
  type ClickHouseOptions,
  createClickHouse,
  pingClickHouse,
  queryRows,
} from './client.ts'
export {
  appliedMigrations,
  assertMigrated,
  MIGRATIONS_DIR,
  type Migration,
  migrate,
  readMigrations,
  splitStatements,
} from './migrate.ts'
