import { describe, expect, it } from 'vitest'
import { formatRunsTable, type TrainingRun } from '../../../trainer/tracking/index.ts'

const run = (over: Partial<TrainingRun>): TrainingRun => ({
  runId: 'run-a',
  modelName: 'diabetes-risk',
  trigger: 'drift',
  triggerEventId: 'drift:e1',
  status: 'succeeded',
  startedAt: Date.UTC(2024, 4, 1, 12, 0, 0),
  finishedAt: Date.UTC(2024, 4, 1, 12, 0, 42),
  durationMs: 42_000,
  params: {},
  candidates: [],
  chosenFamily: 'random_forest',
  gatePassed: true,
  gateReasons: [],
  version: 3,
  metrics: { roc_auc: 0.8312, f1: 0.6712, accuracy: 0.7701 },
  dataset: {},
  error: '',
  updatedAt: 0,
  ...over,
})

describe('formatRunsTable', () => {
  it('prints one aligned row per run with metrics, version and the gate outcome', () => {
    const text = formatRunsTable([
      run({}),
      run({
        runId: 'run-b',
        status: 'rejected',
        gatePassed: false,
        gateReasons: ['roc_auc 0.8312 < minimum 0.99'],
        version: 4,
      }),
      run({
        runId: 'run-c',
        status: 'failed',
        error: 'Training failed: boom',
        version: null,
        metrics: {},
        chosenFamily: '',
      }),
    ])
    const lines = text.split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^RUN\s+STARTED \(UTC\)\s+TRIGGER\s+STATUS/)
    expect(lines[1]).toContain('2024-05-01 12:00:00')
    expect(lines[1]).toContain('v3')
    expect(lines[1]).toContain('0.831')
    expect(lines[1]).toContain('42.0')
    expect(lines[1]).toMatch(/passed$/)
    expect(lines[2]).toContain('roc_auc 0.8312 < minimum 0.99')
    expect(lines[3]).toContain('Training failed: boom')
    // Columns line up: STATUS starts at the same offset on every line.
    const col = lines[0]!.indexOf('STATUS')
    expect(lines.slice(1).map((l) => l.slice(col, col + 9).trim())).toEqual([
      'succeeded',
      'rejected',
      'failed',
    ])
  })

  it('says so when there are no runs', () => {
    expect(formatRunsTable([])).toBe('no training runs yet')
  })
})
