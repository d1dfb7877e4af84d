// RiskStream dashboard: fetches /v1/dashboard/* every 5 s and draws with Chart.js (no build step).
// When read routes need a key, open /dashboard/#key=<api key>: it is kept in sessionStorage only.

const REFRESH_MS = 5000
const COLORS = [
  '#1971c2',
  '#e8590c',
  '#2f9e44',
  '#9c36b5',
  '#c2255c',
  '#0c8599',
  '#f08c00',
  '#5c7cfa',
  '#495057',
]
// One row per event kind; estimated and segment alarms on rows of their own, never on data_drift's.
const KIND_LABELS = [
  'data_drift',
  'concept_drift',
  'data_quality',
  'retrain_recommended',
  'estimated_performance_drop',
  'segment_data_drift',
  'segment_estimated_performance_drop',
]
const SEVERITY_COLORS = { significant: '#d6336c', moderate: '#f08c00', none: '#868e96' }
const ACTION_STYLE = {
  promote: { pointStyle: 'triangle', color: '#2f9e44' },
  rollback: { pointStyle: 'crossRot', color: '#d6336c' },
  register: { pointStyle: 'circle', color: '#1971c2' },
  archive: { pointStyle: 'rect', color: '#868e96' },
  reject: { pointStyle: 'rect', color: '#e8590c' },
}

;(function rememberKey() {
  const m = /key=([^&]+)/.exec(location.hash)
  if (m) {
    sessionStorage.setItem('riskstream-key', decodeURIComponent(m[1]))
    history.replaceState(null, '', location.pathname)
  }
})()

async function getJson(path) {
  const key = sessionStorage.getItem('riskstream-key')
  const res = await fetch(path, { headers: key ? { 'x-api-key': key } : {} })
  const body = await res.json()
  if (!res.ok || body.success === false) throw new Error(`${path}: ${body.error || res.status}`)
  return body
}

const fmtTime = (ms) => {
  const d = new Date(ms)
  const pad = (n) => String(n).padStart(2, '0')
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}
const fmt = (x, digits = 3) =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits)
const pct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`)

const timeAxis = (extra = {}) => ({
  type: 'linear',
  ticks: { callback: (v) => fmtTime(v), maxTicksLimit: 8, maxRotation: 0 },
  grid: { color: '#f1f3f5' },
  ...extra,
})

function baseOptions(extra = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    parsing: false,
    normalized: true,
    interaction: { mode: 'nearest', intersect: false },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } },
      tooltip: { callbacks: { title: (items) => (items.length ? fmtTime(items[0].parsed.x) : '') } },
      ...(extra.plugins || {}),
    },
    scales: extra.scales,
  }
}

const charts = {}

function makeCharts() {
  charts.psi = new Chart(document.getElementById('chart-psi'), {
    type: 'line',
    data: { datasets: [] },
    options: baseOptions({
      scales: { x: timeAxis(), y: { min: 0, suggestedMax: 0.35, title: { display: true, text: 'PSI' } } },
      plugins: {
        // One legend entry per feature; its dashed threshold line shares the colour.
        legend: {
          position: 'bottom',
          labels: { boxWidth: 12, usePointStyle: true, filter: (item) => !item.text.endsWith(' threshold') },
        },
      },
    }),
  })
  charts.performance = new Chart(document.getElementById('chart-performance'), {
    type: 'line',
    data: { datasets: [] },
    options: baseOptions({
      scales: { x: timeAxis(), y: { suggestedMin: 0.4, max: 1, title: { display: true, text: 'score' } } },
    }),
  })
  charts.volume = new Chart(document.getElementById('chart-volume'), {
    type: 'bar',
    data: { datasets: [] },
    options: baseOptions({
      scales: {
        x: timeAxis({ offset: true }),
        y: { beginAtZero: true, title: { display: true, text: 'predictions' } },
        y2: {
          position: 'right',
          min: 0,
          max: 1,
          grid: { drawOnChartArea: false },
          ticks: { callback: (v) => `${Math.round(v * 100)}%` },
          title: { display: true, text: 'label coverage' },
        },
      },
    }),
  })
  charts.alerts = new Chart(document.getElementById('chart-alerts'), {
    type: 'scatter',
    data: { datasets: [] },
    options: baseOptions({
      scales: {
        x: timeAxis(),
        y: {
          min: -0.5,
          max: KIND_LABELS.length - 0.5,
          // One tick per alert kind (the axis is categorical, drawn on a linear scale for scatter points).
          afterBuildTicks: (scale) => {
            scale.ticks = KIND_LABELS.map((_, i) => ({ value: i }))
          },
          ticks: { callback: (v) => KIND_LABELS[v] || '' },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? fmtTime(items[0].parsed.x) : ''),
            label: (item) => item.raw.label,
          },
        },
      },
    }),
  })
  charts.versions = new Chart(document.getElementById('chart-versions'), {
    type: 'line',
    data: { datasets: [] },
    options: baseOptions({
      scales: {
        x: timeAxis(),
        y: {
          ticks: { stepSize: 1, callback: (v) => (Number.isInteger(v) ? `v${v}` : '') },
          title: { display: true, text: 'version' },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? fmtTime(items[0].parsed.x) : ''),
            label: (item) => item.raw.label || `v${item.raw.y}`,
          },
        },
      },
    }),
  })
  charts.runs = new Chart(document.getElementById('chart-runs'), {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
      scales: { y: { min: 0, max: 1 } },
    },
  })
}

/** Replaces a chart's datasets in place, keeping colours stable per series name. */
function setDatasets(chart, datasets) {
  chart.data.datasets = datasets
  chart.update('none')
}

function renderSummary(s) {
  const m = s.model
  document.getElementById('c-model').textContent = m ? `v${m.version} · ${m.family}` : 'none'
  document.getElementById('c-model-hint').textContent = m
    ? `${m.model_name}, since ${fmtTime(m.updated_at)} UTC`
    : 'no production version'
  document.getElementById('c-metrics').textContent = m
    ? `${fmt(m.metrics.roc_auc)} / ${fmt(m.metrics.f1)} / ${fmt(m.metrics.accuracy)}`
    : '–'
  document.getElementById('c-threshold').textContent = m ? `decision threshold ${fmt(m.threshold)}` : ''
  const p = s.performance
  document.getElementById('c-volume').textContent = String(p.total_predictions)
  document.getElementById('c-coverage').textContent =
    `${p.labelled_predictions} labelled (${pct(p.label_coverage)}), ${pct(p.prediction_distribution.positive_rate)} predicted positive`
  document.getElementById('c-accuracy').textContent = fmt(p.accuracy)
  document.getElementById('c-auc').textContent = `ROC-AUC ${fmt(p.roc_auc)} · F1 ${fmt(p.f1_score)}`
  const d = s.drift
  const card = document.getElementById('card-drift')
  const significant = d.data_drift.drift_detected || d.concept_drift.drift_detected
  card.className = `card ${significant ? 'bad' : 'ok'}`
  document.getElementById('c-drift').textContent = d.retraining_recommended ? 'retrain recommended' : 'stable'
  document.getElementById('c-drift-hint').textContent = d.reason
}

/**
 * PSI per feature, and per feature the threshold its monitor alarms at: calibrated for that
 * feature's reference and the window size (the drift report's `threshold`), not a fixed band.
 */
function renderPsi(body, dataDrift) {
  const names = Object.keys(body.series).sort()
  const xs = names.flatMap((n) => body.series[n].map((p) => p.t))
  const lines = names.map((name, i) => ({
    label: name,
    data: body.series[name].map((p) => ({ x: p.t, y: p.v })),
    borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length],
    borderWidth: 1.5,
    pointRadius: 0,
    tension: 0.2,
  }))
  const thresholds = names
    .map((name, i) => {
      const line = horizontal(
        `${name} threshold`,
        dataDrift.feature_psi[name]?.threshold,
        xs,
        COLORS[i % COLORS.length],
      )
      return line && { ...line, borderWidth: 1, borderDash: [3, 4] }
    })
    .filter(Boolean)
  setDatasets(charts.psi, [...lines, ...thresholds])
}

/** Every monitored drift statistic per feature (the registry's list, from the drift report), newest window. */
function renderSegments(body) {
  const tbody = document.querySelector('#segments-table tbody')
  tbody.replaceChildren(
    ...body.segments.map((s) => {
      const tr = document.createElement('tr')
      const cells = [
        s.overflow === null ? s.segment : `${s.segment} (${s.overflow} past the cap)`,
        `v${s.model_version}`,
        String(s.window_size),
        // A shadow version has labels: its realised figure beside the estimate.
        s.realised
          ? `${fmt(s.estimated.accuracy)} (realised ${fmt(s.realised.accuracy)})`
          : fmt(s.estimated.accuracy),
        s.realised ? `${fmt(s.estimated.f1)} (realised ${fmt(s.realised.f1)})` : fmt(s.estimated.f1),
        s.realised
          ? `${fmt(s.estimated.roc_auc)} (realised ${fmt(s.realised.roc_auc)})`
          : fmt(s.estimated.roc_auc),
        s.drift ? s.drift.state : '–',
        s.drift ? s.drift.alerting.join(', ') || '–' : '–',
      ]
      cells.forEach((text, i) => {
        const td = document.createElement('td')
        td.textContent = text
        if (i >= 2 && i <= 5) td.className = 'num'
        tr.append(td)
      })
      if (s.drift?.state === 'alert') tr.className = 'over'
      return tr
    }),
  )
}

function renderDriftTable(dataDrift) {
  const stats = dataDrift.statistics
  const head = document.querySelector('#drift-table thead tr')
  head.replaceChildren(
    ...['Feature', ...stats.map((s) => s.label), 'Threshold', 'State'].map((text, i) => {
      const th = document.createElement('th')
      th.textContent = text
      if (i > 0 && i <= stats.length) th.title = stats[i - 1].description
      return th
    }),
  )
  const tbody = document.querySelector('#drift-table tbody')
  tbody.replaceChildren(
    ...Object.keys(dataDrift.feature_psi)
      .sort()
      .map((name) => {
        const f = dataDrift.feature_psi[name]
        const tr = document.createElement('tr')
        const cells = [
          name,
          ...stats.map((s) => fmt(f.statistics[s.name], s.digits)),
          fmt(f.threshold),
          f.state || '–',
        ]
        cells.forEach((text, i) => {
          const td = document.createElement('td')
          td.textContent = text
          if (i > 0 && i <= stats.length + 1) td.className = 'num'
          tr.append(td)
        })
        if (f.drift) tr.className = 'over'
        return tr
      }),
  )
}

function horizontal(label, y, xs, color) {
  if (y === null || y === undefined || xs.length === 0) return null
  return {
    label,
    data: [
      { x: Math.min(...xs), y },
      { x: Math.max(...xs), y },
    ],
    borderColor: color,
    borderDash: [6, 4],
    borderWidth: 1.2,
    pointRadius: 0,
  }
}

function renderPerformance(body) {
  const s = body.series
  const xs = [...s.accuracy, ...s.f1, ...s.roc_auc].map((p) => p.t)
  const line = (label, points, color) => ({
    label,
    data: points.map((p) => ({ x: p.t, y: p.v })),
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    pointRadius: 1.5,
    tension: 0.2,
  })
  const estimatedLine = (label, points, color) =>
    points?.length ? { ...line(label, points, color), borderDash: [4, 3] } : null
  setDatasets(
    charts.performance,
    [
      line('accuracy', s.accuracy, '#1971c2'),
      line('F1', s.f1, '#e8590c'),
      line('ROC-AUC', s.roc_auc, '#2f9e44'),
      // Estimated from the served probabilities (CBPE), dashed in a lighter shade of each metric.
      estimatedLine('accuracy (estimated, before labels)', s.estimated_accuracy, '#74c0fc'),
      estimatedLine('F1 (estimated, before labels)', s.estimated_f1, '#ffa94d'),
      estimatedLine('ROC-AUC (estimated, before labels)', s.estimated_roc_auc, '#8ce99a'),
      horizontal('min accuracy (gate)', body.thresholds.min_accuracy, xs, '#495057'),
      horizontal('concept-drift line', body.thresholds.concept_drift_accuracy, xs, '#d6336c'),
    ].filter(Boolean),
  )
}

function renderVolume(body) {
  const b = body.buckets
  setDatasets(charts.volume, [
    {
      type: 'bar',
      label: 'predictions',
      data: b.map((x) => ({ x: x.t, y: x.predictions })),
      backgroundColor: 'rgba(25, 113, 194, 0.55)',
      yAxisID: 'y',
      barPercentage: 1,
      categoryPercentage: 0.9,
    },
    {
      type: 'bar',
      label: 'labelled',
      data: b.map((x) => ({ x: x.t, y: x.labelled })),
      backgroundColor: 'rgba(47, 158, 68, 0.65)',
      yAxisID: 'y',
      barPercentage: 1,
      categoryPercentage: 0.9,
    },
    {
      type: 'line',
      label: 'label coverage',
      data: b.map((x) => ({ x: x.t, y: x.predictions ? x.labelled / x.predictions : 0 })),
      borderColor: '#9c36b5',
      backgroundColor: '#9c36b5',
      yAxisID: 'y2',
      pointRadius: 0,
      borderWidth: 1.5,
    },
  ])
}

function renderAlerts(body) {
  const bySeverity = {}
  for (const a of body.alerts) {
    const y = KIND_LABELS.indexOf(a.kind)
    if (y < 0) continue
    const detail = a.features.length ? ` (${a.features.join(', ')})` : ''
    bySeverity[a.severity] = bySeverity[a.severity] || []
    bySeverity[a.severity].push({
      x: a.detected_at,
      y,
      label: `${a.kind} · ${a.severity} · v${a.model_version}${detail}`,
    })
  }
  setDatasets(
    charts.alerts,
    Object.entries(bySeverity).map(([severity, data]) => ({
      label: severity,
      data,
      backgroundColor: SEVERITY_COLORS[severity] || '#495057',
      borderColor: SEVERITY_COLORS[severity] || '#495057',
      pointRadius: 5,
      pointHoverRadius: 7,
    })),
  )
}

function renderVersions(body) {
  // The production version as a step line, and each stage event as a marker.
  const prod = body.events
    .filter((e) => e.stage === 'production')
    .map((e) => ({ x: e.at, y: e.version, label: `v${e.version} ${e.action || 'production'}: ${e.reason}` }))
  const last = prod[prod.length - 1]
  if (last) prod.push({ x: Date.now(), y: last.y, label: `v${last.y} in production` })
  const markers = {}
  for (const e of body.events) {
    const action = e.action || 'register'
    markers[action] = markers[action] || []
    markers[action].push({
      x: e.at,
      y: e.version,
      label: `v${e.version} ${action} → ${e.stage}: ${e.reason}`,
    })
  }
  setDatasets(charts.versions, [
    {
      label: 'in production',
      data: prod,
      stepped: 'before',
      borderColor: '#2f9e44',
      backgroundColor: '#2f9e44',
      borderWidth: 2,
      pointRadius: 0,
    },
    ...Object.entries(markers).map(([action, data]) => {
      const st = ACTION_STYLE[action] || ACTION_STYLE.register
      return {
        label: action,
        data,
        showLine: false,
        pointStyle: st.pointStyle,
        pointRadius: 7,
        borderColor: st.color,
        backgroundColor: st.color,
      }
    }),
  ])
}

function renderRuns(body) {
  const runs = [...body.runs].reverse()
  charts.runs.data.labels = runs.map((r) => `${fmtTime(r.started_at)}${r.version ? ` v${r.version}` : ''}`)
  charts.runs.data.datasets = [
    {
      label: 'ROC-AUC',
      data: runs.map((r) => r.metrics.roc_auc ?? null),
      backgroundColor: runs.map((r) => (r.gate_passed ? '#2f9e44' : '#adb5bd')),
    },
    {
      label: 'F1',
      data: runs.map((r) => r.metrics.f1 ?? null),
      backgroundColor: runs.map((r) => (r.gate_passed ? '#e8590c' : '#dee2e6')),
    },
  ]
  charts.runs.update('none')
  const tbody = document.querySelector('#runs-table tbody')
  tbody.replaceChildren(
    ...body.runs.map((r) => {
      const tr = document.createElement('tr')
      const cells = [
        fmtTime(r.started_at),
        r.run_id,
        r.trigger,
        null,
        r.chosen_family || '–',
        r.version ? `v${r.version}` : '–',
        fmt(r.metrics.roc_auc),
        fmt(r.metrics.f1),
        (r.duration_ms / 1000).toFixed(1),
        r.gate_passed ? 'passed' : r.gate_reasons.join('; ') || '–',
      ]
      cells.forEach((text, i) => {
        const td = document.createElement('td')
        if (i === 3) {
          const span = document.createElement('span')
          span.className = `pill ${r.status}`
          span.textContent = r.status
          td.append(span)
        } else {
          td.textContent = text
        }
        if (i >= 6 && i <= 8) td.className = 'num'
        tr.append(td)
      })
      return tr
    }),
  )
}

let inFlight = false
async function refresh() {
  if (inFlight) return
  inFlight = true
  const hours = document.getElementById('range').value
  const q = `?hours=${hours}`
  const family = document.getElementById('segment-family').value
  const status = document.getElementById('status')
  try {
    const [summary, psi, perf, volume, alerts, versions, runs, segments] = await Promise.all([
      getJson(`/v1/dashboard/summary${q}`),
      getJson(`/v1/dashboard/psi${q}`),
      getJson(`/v1/dashboard/performance${q}`),
      getJson(`/v1/dashboard/volume${q}`),
      getJson(`/v1/dashboard/alerts${q}`),
      getJson('/v1/dashboard/versions'),
      getJson('/v1/dashboard/runs'),
      getJson(`/v1/dashboard/segments${q}${family ? `&family=${encodeURIComponent(family)}` : ''}`),
    ])
    renderSummary(summary)
    renderPsi(psi, summary.drift.data_drift)
    renderDriftTable(summary.drift.data_drift)
    renderPerformance(perf)
    renderVolume(volume)
    renderAlerts(alerts)
    renderVersions(versions)
    renderRuns(runs)
    renderSegments(segments)
    status.textContent = `updated ${new Date().toLocaleTimeString()}`
    status.className = 'status'
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1)
  } catch (err) {
    status.textContent = `error: ${err.message}`
    status.className = 'status error'
  } finally {
    inFlight = false
  }
}

window.addEventListener('DOMContentLoaded', () => {
  makeCharts()
  document.getElementById('range').addEventListener('change', refresh)
  document.getElementById('segment-family').addEventListener('change', refresh)
  refresh()
  setInterval(refresh, REFRESH_MS)
})
