export {
  type ClickHouseClient,
  type ClickHouseOptions,
  chTime,
  createClickHouse,
  queryRows,
} from './client.ts'
export {
  appliedMigrations,
  MIGRATIONS_DIR,
  type Migration,
  migrate,
  readMigrations,
  splitStatements,
} from './migrate.ts'
