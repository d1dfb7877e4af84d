import { describe, expect, it } from 'vitest'
import { MIN_FRESH_ROWS, outOfTimeRows } from '../../../trainer/service/train-once.ts'

describe('out-of-time window', () => {
  it('holds out the newest share of the streamed rows by event time, ignoring Pima rows', () => {
    // 10 Pima rows (null), then 500 streamed rows whose times are not in row order
    const times: (number | null)[] = [
      ...Array.from({ length: 10 }, () => null),
      ...Array.from({ length: 500 }, (_, i) => ((i * 7) % 500) * 1000),
    ]
    const rows = outOfTimeRows(times, 0.2)!
    expect(rows).toHaveLength(100)
    expect(rows).toEqual([...rows].sort((a, b) => a - b))
    const held = rows.map((i) => times[i]!)
    const rest = times.filter((t, i) => t !== null && !rows.includes(i)) as number[]
    expect(Math.min(...held)).toBeGreaterThan(Math.max(...rest))
    expect(rows.every((i) => i >= 10)).toBe(true)
  })

  it('is null when the window or the rest would hold fewer than MIN_FRESH_ROWS rows', () => {
    const n = 5 * MIN_FRESH_ROWS - 1 // 20 % of it rounds up to MIN_FRESH_ROWS − 0.2 → below
    expect(
      outOfTimeRows(
        Array.from({ length: n - 5 }, (_, i) => i),
        0.2,
      ),
    ).toBeNull()
    expect(
      outOfTimeRows(
        Array.from({ length: 5 * MIN_FRESH_ROWS }, (_, i) => i),
        0.2,
      ),
    ).toHaveLength(MIN_FRESH_ROWS)
    expect(
      outOfTimeRows(
        Array.from({ length: 60 }, (_, i) => i),
        0.9,
      ),
    ).toBeNull()
    expect(outOfTimeRows([null, null], 0.2)).toBeNull()
  })
})
