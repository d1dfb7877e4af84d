/**
 * The drift report as one self-contained HTML file: inline CSS and SVG charts, no script, no
 * external resource, so it opens offline and can be attached to a ticket. Each feature (and the
 * predicted probability) gets reference-vs-current bars per reference bin plus the missing slot,
 * every registered drift statistic against its threshold and its missing shares; flagged subjects carry
 * `data-drifted="true"`.
 */
import { ALARM_STATISTIC, DRIFT_STATISTICS, type DriftStatisticName } from '../stats/index.ts'
import type { DriftReport, Histogram, PerformancePoint, SubjectDrift } from './drift.ts'

/** The statistics in registry order; the alarm statistic's threshold may be the monitors' calibrated one. */
const STATISTICS = Object.values(DRIFT_STATISTICS).map((s) => ({
  ...s,
  key: s.name as DriftStatisticName,
  isAlarm: s.name === ALARM_STATISTIC.name,
}))
const OTHERS = STATISTICS.filter((s) => !s.isAlarm)
const ALARM = STATISTICS.find((s) => s.isAlarm)!

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–')
const pct = (x: number) => `${(100 * x).toFixed(1)} %`
const short = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toFixed(3)

const REF = '#4c78a8'
const CUR = '#f58518'

function binLabels(h: Histogram): string[] {
  const e = h.edges
  const labels: string[] = []
  for (let i = 0; i <= e.length; i++) {
    if (e.length === 0) labels.push('all')
    else if (i === 0) labels.push(`≤ ${short(e[0]!)}`)
    else if (i === e.length) labels.push(`> ${short(e[e.length - 1]!)}`)
    else labels.push(`${short(e[i - 1]!)}–${short(e[i]!)}`)
  }
  labels.push('missing')
  return labels
}

function barChart(s: SubjectDrift): string {
  const labels = binLabels(s.reference)
  const ref = [...s.reference.shares, s.reference.missingShare]
  const cur = [...s.current.shares, s.current.missingShare]
  const W = 560
  const H = 220
  const left = 40
  const bottom = 48
  const top = 10
  const plotH = H - bottom - top
  const max = Math.max(0.01, ...ref, ...cur)
  const slot = (W - left - 10) / labels.length
  const bw = Math.max(2, slot * 0.38)
  const y = (v: number) => top + plotH - (v / max) * plotH
  const parts: string[] = []
  for (const t of [0, 0.5, 1]) {
    const v = t * max
    parts.push(
      `<line x1="${left}" x2="${W - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${(100 * v).toFixed(0)}%</text>`,
    )
  }
  labels.forEach((label, i) => {
    const x0 = left + i * slot + (slot - 2 * bw) / 2
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${y(ref[i]!).toFixed(1)}" width="${bw.toFixed(1)}" height="${(top + plotH - y(ref[i]!)).toFixed(1)}" fill="${REF}"><title>reference ${esc(label)}: ${pct(ref[i]!)}</title></rect>`,
      `<rect x="${(x0 + bw).toFixed(1)}" y="${y(cur[i]!).toFixed(1)}" width="${bw.toFixed(1)}" height="${(top + plotH - y(cur[i]!)).toFixed(1)}" fill="${CUR}"><title>current ${esc(label)}: ${pct(cur[i]!)}</title></rect>`,
      `<text x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - bottom + 14}" text-anchor="end" font-size="9" transform="rotate(-35 ${(left + i * slot + slot / 2).toFixed(1)} ${H - bottom + 14})">${esc(label)}</text>`,
    )
  })
  return `<svg role="img" aria-label="${esc(s.name)}: reference and current shares per bin" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
}

function lineChart(points: PerformancePoint[]): string {
  const series: [string, string, string][] = [
    ['accuracy', 'accuracy', '#4c78a8'],
    ['f1', 'F1', '#54a24b'],
    ['roc_auc', 'ROC-AUC', '#b279a2'],
    ['estimated_accuracy', 'estimated accuracy', '#f58518'],
    ['expected_accuracy', 'validation accuracy', '#888'],
  ]
  const W = 760
  const H = 240
  const left = 40
  const top = 10
  const plotW = W - left - 150
  const plotH = H - top - 30
  const n = points.length
  const x = (i: number) => left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW)
  const y = (v: number) => top + plotH - v * plotH
  const parts: string[] = []
  for (const v of [0, 0.25, 0.5, 0.75, 1])
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(2)}</text>`,
    )
  series.forEach(([key, label, color], k) => {
    const pts = points
      .map((p, i) => [i, p.metrics[key]] as const)
      .filter((p): p is readonly [number, number] => p[1] !== undefined && Number.isFinite(p[1]))
    if (pts.length > 0) {
      const d = pts
        .map(([i, v], j) => `${j === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`)
        .join(' ')
      parts.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${key === 'expected_accuracy' ? ' stroke-dasharray="5 4"' : ''}/>`,
      )
    }
    parts.push(
      `<rect x="${left + plotW + 14}" y="${top + k * 18}" width="12" height="4" fill="${color}"/>`,
      `<text x="${left + plotW + 30}" y="${top + k * 18 + 6}" font-size="11">${label}</text>`,
    )
  })
  if (n > 0)
    parts.push(
      `<text x="${left}" y="${H - 6}" font-size="10">${esc(points[0]!.windowEnd)}</text>`,
      `<text x="${left + plotW}" y="${H - 6}" font-size="10" text-anchor="end">${esc(points[n - 1]!.windowEnd)}</text>`,
    )
  return `<svg role="img" aria-label="performance over time" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
}

const STATE = ['ok', 'pending', 'alert']

function card(s: SubjectDrift): string {
  const row = (name: string, v: number, t: number, note = '') =>
    `<tr class="${Number.isFinite(v) && v >= t ? 'over' : ''}"><th>${name}</th><td>${fmt(v)}</td><td>${fmt(t)}${note}</td></tr>`
  const mon =
    s.monitor && (s.monitor.psi !== undefined || s.monitor.state !== undefined)
      ? `<p class="muted">Monitors, newest sliding window: PSI ${fmt(s.monitor.psi ?? Number.NaN)}, detector ${STATE[s.monitor.state ?? -1] ?? '–'}.</p>`
      : ''
  return `<section class="card${s.drifted ? ' drifted' : ''}" data-feature="${esc(s.name)}" data-drifted="${s.drifted}">
<h3>${esc(s.name)} <span class="badge ${s.drifted ? 'bad' : 'good'}">${s.drifted ? 'DRIFT' : 'no drift'}</span></h3>
${barChart(s)}
<table class="stats"><tr><th>statistic</th><th>value</th><th>threshold</th></tr>
${STATISTICS.map((st) =>
  row(
    st.display.label,
    s[st.key],
    s.thresholds[st.key],
    st.isAlarm ? (s.psiThresholdSource === 'calibrated' ? ' (calibrated)' : ' (default)') : '',
  ),
).join('\n')}
<tr><th>missing</th><td>${pct(s.current.missingShare)}</td><td>reference ${pct(s.reference.missingShare)}</td></tr>
</table>${mon}
</section>`
}

export function renderDriftReport(r: DriftReport): string {
  const subjects = [...r.features, r.prediction]
  const summary = subjects
    .map(
      (s) =>
        `<tr class="${s.drifted ? 'over' : ''}"><td>${esc(s.name)}</td><td>${fmt(s[ALARM.key])}</td><td>${fmt(s.thresholds[ALARM.key])}</td>${OTHERS.map((st) => `<td>${fmt(s[st.key])}</td>`).join('')}<td>${pct(s.current.missingShare)}</td><td>${s.drifted ? '<b>drift</b>' : 'ok'}</td></tr>`,
    )
    .join('\n')
  const verdict =
    r.drifted.length > 0
      ? `<p class="verdict bad">Drift in ${r.drifted.map(esc).join(', ')}.</p>`
      : `<p class="verdict good">No feature over its ${ALARM.display.label} threshold.</p>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report: ${esc(r.model)} v${r.version}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1240px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}
.muted{color:#666}.verdict{font-size:16px;font-weight:600}.bad{color:#b00020}.good{color:#1b7f3b}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
tr.over td{background:#fde8e8}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(590px,1fr));gap:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:12px}.card.drifted{border:2px solid #b00020}
.badge{font-size:12px;padding:1px 8px;border-radius:10px;color:#fff}.badge.bad{background:#b00020;color:#fff}.badge.good{background:#1b7f3b;color:#fff}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 12px}
</style></head><body>
<h1>Drift report: ${esc(r.model)} v${r.version} <span class="muted">(${esc(r.family)})</span></h1>
<p class="muted">Generated ${esc(r.generatedAt)}. Current: the newest ${r.current.rows} predictions of v${r.version} (event time ${esc(r.current.from ?? '–')} to ${esc(r.current.to ?? '–')}); reference: the training data stored in the model artifact, binned on its frozen quantile edges.</p>
${verdict}
<h2>Summary</h2>
<table><tr><th>feature</th><th>${ALARM.display.label}</th><th>${ALARM.display.label} threshold</th>${OTHERS.map((st) => `<th>${st.display.label}</th>`).join('')}<th>missing</th><th>verdict</th></tr>
${summary}</table>
<p class="muted">${ALARM.display.label} thresholds are the monitors' calibrated thresholds for this version (false-alarm budget per million events) where they have evaluated a window, otherwise the statistic's default (${fmt(ALARM.reportThreshold, 2)}); ${OTHERS.map((st) => st.display.label).join(', ')} are shown against their defaults (${OTHERS.map((st) => fmt(st.reportThreshold, 2)).join(', ')}). <code>prediction</code> is the predicted probability (prediction drift).</p>
<h2>Per feature: reference vs current</h2>
<p class="legend"><span style="background:${REF}"></span>reference (training)<span style="background:${CUR}"></span>current</p>
<div class="grid">
${subjects.map(card).join('\n')}
</div>
<h2>Performance over time (sliding windows)</h2>
${r.performance.length > 0 ? lineChart(r.performance) : '<p class="muted">No performance windows yet (labels have not arrived).</p>'}
</body></html>
`
}
