/** DateTime64(3, 'UTC') text for ClickHouse inserts ('2024-05-01 12:00:00.123'). */
export const chTimeText = (ms: number = Date.now()): string =>
  new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
