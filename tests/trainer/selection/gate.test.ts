import { describe, expect, it } from 'vitest'
import { type GateThresholds, gate } from '../../../trainer/selection/gate.ts'

const T: GateThresholds = {
  minAccuracy: 0.75,
  minRocAuc: 0.8,
  minF1: 0.65,
  margin: 0.01,
  primaryMetric: 'roc_auc',
}
const good = { accuracy: 0.78, roc_auc: 0.84, f1: 0.69, log_loss: 0.47 }

describe('gate', () => {
  it('passes a candidate meeting every floor when there is no champion', () => {
    expect(gate(good, null, T)).toEqual({ passed: true, reasons: [] })
  })

  it('gives one reason per unmet floor', () => {
    expect(gate({ ...good, accuracy: 0.7 }, null, T).reasons).toEqual(['accuracy 0.7000 < minimum 0.75'])
    expect(gate({ ...good, roc_auc: 0.79 }, null, T).reasons).toEqual(['roc_auc 0.7900 < minimum 0.8'])
    expect(gate({ ...good, f1: 0.6 }, null, T).reasons).toEqual(['f1 0.6000 < minimum 0.65'])
    const all = gate({ accuracy: 0.5, roc_auc: 0.5, f1: 0.1 }, null, T)
    expect(all.passed).toBe(false)
    expect(all.reasons).toHaveLength(3)
  })

  it('fails NaN metrics instead of letting them through', () => {
    const r = gate({ ...good, roc_auc: Number.NaN }, null, T)
    expect(r.passed).toBe(false)
    expect(r.reasons[0]).toMatch(/roc_auc NaN/)
  })

  it('requires beating the champion on the primary metric by the margin', () => {
    expect(gate(good, { ...good, roc_auc: 0.83 }, T).passed).toBe(true) // +0.01 ≥ margin
    const r = gate(good, { ...good, roc_auc: 0.835 }, T)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual([
      'roc_auc 0.8400 does not beat champion 0.8350 by margin 0.01 (improvement 0.0050)',
    ])
    // a champion better than the candidate
    expect(gate(good, { ...good, roc_auc: 0.9 }, { ...T, margin: 0 }).passed).toBe(false)
  })

  it('treats log_loss as lower-is-better in the champion comparison', () => {
    const t = { ...T, primaryMetric: 'log_loss' as const, margin: 0.01 }
    expect(gate(good, { ...good, log_loss: 0.5 }, t).passed).toBe(true)
    expect(gate(good, { ...good, log_loss: 0.475 }, t).reasons[0]).toMatch(
      /^log_loss 0.4700 does not beat champion 0.4750/,
    )
  })

  it('reports floor failures and the champion comparison together', () => {
    const r = gate({ ...good, f1: 0.5 }, { ...good, roc_auc: 0.9 }, T)
    expect(r.reasons).toHaveLength(2)
  })
})
