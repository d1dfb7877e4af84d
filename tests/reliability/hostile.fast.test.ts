/**
 * Hostile input against the real stack: one `riskstream run monitors inference api` process with
 * normal traffic flowing while hostile API requests (bad times, coercion, huge bodies, missing or
 * wrong keys, a retrain flood) and hostile records on every consumed topic (bad times, truncated
 * Avro, bogus schema ids, reused ids, forged or replayed model versions, a gzip bomb) are fired.
 * Pass: the process stays up and stops cleanly; every hostile input is refused or dead-lettered
 * with its reason, counts exact; normal traffic is predicted exactly once and still monitored;
 * the served model is unchanged; no canary patient data in any log line.
 */
import { createServer } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { DLQ_HEADERS } from '../../lib/kafka/index.ts'
import { encodeArtifact } from '../../lib/model/artifact.ts'
import { createSigner, SIGNATURE_HEADER, signerFor } from '../../lib/model/signing.ts'
import { seqOfEventId } from '../../lib/registry/registry.ts'
import { collectMessages, uniqueId, waitFor } from '../helpers/index.ts'
import { stumpArtifact, versionEvent } from '../processors/inference/fixtures.ts'
import { findCanaries } from './support/canary.ts'
import { committed, requestEvent, sendLoad, written } from './support/load.ts'
import { ALL_OUTPUT, queryIn, spawnCli } from './support/procs.ts'
import { publishTable, recordResult } from './support/results.ts'
import { createRun, type Run } from './support/run.ts'

const FILE = 'hostile'
const N1 = 2000
const N2 = 2000
const API_KEY = 'hostile-api-key-0123456789'
const ADMIN_KEY = 'hostile-admin-key-0123456789'
const BAD_TIMES = [0, 86_400_000, 1_765_000_000, 4_102_444_800_000, 8.64e15]
let run: Run | undefined

afterAll(async () => {
  await run?.close()
  publishTable()
})

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

describe('hostile input', () => {
  it('refuses or dead-letters every hostile input while normal traffic and monitoring go on', async () => {
    run = await createRun()
    const r = run
    const { deps, admin } = r
    const topics = deps.topics
    const runId = uniqueId('rh')
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const env = {
      ...r.monitorEnv,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      API_KEYS: API_KEY,
      API_ADMIN_KEYS: ADMIN_KEY,
      // Monitors ask for a version's artifact in ClickHouse; v1 is seeded there by createRun.
      AUTO_RETRAIN_ENABLED: 'false',
    }
    const proc = spawnCli('hostile', ['run', 'monitors', 'inference', 'api'], env)
    r.procs.push(proc)
    await proc.waitForLine(/running: /, 120_000)

    // Normal traffic (with canary patient data in every 10th request) flows during the attack.
    const load1 = sendLoad(deps, { runId, n: N1, rate: 500 })

    // ---- API ----
    const json = { 'content-type': 'application/json' }
    const post = (path: string, body: unknown, key = API_KEY, raw?: string) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...json, 'x-api-key': key },
        body: raw ?? JSON.stringify(body),
      })
    const valid = { patientId: 'hostile-p', glucose: 120, bmi: 30, age: 40 }
    const api: { what: string; status: number; expected: number; detail?: string }[] = []
    const expectStatus = async (what: string, res: Response, expected: number, field?: string) => {
      const body = (await res.json().catch(() => ({}))) as { error?: string }
      api.push({ what, status: res.status, expected, detail: body.error })
      if (field) expect(body.error, what).toContain(field)
    }
    for (const eventTime of BAD_TIMES)
      await expectStatus(
        `predict eventTime ${eventTime}`,
        await post('/v1/predict', { ...valid, eventTime }),
        400,
        'body.eventTime',
      )
    await expectStatus('predict glucose "120"', await post('/v1/predict', { ...valid, glucose: '120' }), 400)
    await expectStatus('predict glucose ""', await post('/v1/predict', { ...valid, glucose: '' }), 400)
    await expectStatus('predict patientId 123', await post('/v1/predict', { ...valid, patientId: 123 }), 400)
    await expectStatus(
      'predict 600 KB patientId',
      await post('/v1/predict', { ...valid, patientId: 'x'.repeat(600 * 1024) }),
      400,
    )
    await expectStatus(
      'predict 1 MB body',
      await post('/v1/predict', null, API_KEY, JSON.stringify({ ...valid, pad: 'y'.repeat(1024 * 1024) })),
      400,
    )
    await expectStatus(
      'read without a key',
      await fetch(`${base}/mlops/api/monitoring/predictions/recent/5`),
      401,
    )
    await expectStatus('promote with a scoring key', await post('/v1/models/1/promote', {}), 403)
    // (A reused requestId with another payload → 409 is proven in tests/api/security.int.test.ts:
    // this run's registry has no production row for the API to score with.)
    const retrains = await Promise.all(
      Array.from({ length: 50 }, () => post('/mlops/api/retrain/trigger', {}, ADMIN_KEY)),
    )
    const retrainStatuses = retrains.map((x) => x.status)
    const queued = retrainStatuses.filter((x) => x === 202).length
    const refused429 = retrainStatuses.filter((x) => x === 429).length

    // ---- clinical.prediction-requests ----
    const partitions = deps.config.topics.partitions
    const req = (id: string, over: Record<string, unknown> = {}) => ({
      ...requestEvent(runId, 0),
      requestId: id,
      patientId: `hostile-${id}`,
      notes: null,
      eventTime: Date.now(),
      ...over,
    })
    const enc = (topic: string, v: unknown) => deps.serde.encode(topic, v)
    const expectedRequests = new Map<string, string>() // key → reason
    const requestMsgs: { key: string; value: Buffer; headers?: Record<string, string>; partition: number }[] =
      []
    const addReq = (key: string, value: Buffer, reason: string | null, headers?: Record<string, string>) => {
      if (reason) expectedRequests.set(key, reason)
      requestMsgs.push({ key, value, headers, partition: requestMsgs.length % partitions })
    }
    for (const [i, t] of BAD_TIMES.entries())
      addReq(`h-time-${i}`, enc(topics.requests, req(`h-time-${i}`, { eventTime: t })), 'VALIDATION_FAILED')
    const good = enc(topics.requests, req('h-trunc'))
    addReq('h-trunc', Buffer.from(good.subarray(0, 5 + Math.floor((good.length - 5) / 2))), 'DECODE_FAILED')
    for (const [i, id] of [-1, 0, 2 ** 31 - 1].entries()) {
      const b = Buffer.from(enc(topics.requests, req(`h-schema-${i}`)))
      b.writeInt32BE(id, 1)
      addReq(`h-schema-${i}`, b, 'DECODE_UNKNOWN_SCHEMA')
    }
    addReq(
      'h-600kb',
      enc(topics.requests, req('h-600kb', { notes: 'n'.repeat(600 * 1024) })),
      'VALIDATION_FAILED',
    )
    // Another request's id with another payload, on that request's partition once inference
    // scored the original: dead-lettered, the original prediction stays.
    await waitFor(async () => (await committed(admin, r.groups.inference, topics.requests)) >= 50, {
      timeoutMs: 60_000,
      message: 'inference to score the first requests',
    })
    const reusedId = `${runId}-5`
    expectedRequests.set(reusedId, 'IDEMPOTENCY_CONFLICT')
    requestMsgs.push({
      key: reusedId,
      value: enc(topics.requests, req(reusedId, { patientId: 'someone-else', glucose: 333 })),
      partition: 5 % partitions,
    })
    // An outsider's scored-by header (no MAC): ignored, the request is scored.
    addReq(`outsider-${runId}`, enc(topics.requests, req(`outsider-${runId}`)), null, {
      'riskstream-scored-by': 'api',
    })
    for (const m of requestMsgs) await deps.producer.send({ topic: topics.requests, acks: -1, messages: [m] })

    // ---- clinical.outcomes ----
    const outcome = (id: string, over: Record<string, unknown> = {}) => ({
      requestId: id,
      outcome: 1,
      labelledAt: Date.now(),
      source: 'hostile',
      ...over,
    })
    const goodOutcome = enc(topics.outcomes, outcome('o-trunc'))
    const outcomeMsgs = [
      {
        key: 'o-300',
        value: enc(topics.outcomes, outcome('o-300', { outcome: 300 })),
        reason: 'VALIDATION_FAILED',
      },
      {
        key: 'o-time',
        value: enc(topics.outcomes, outcome('o-time', { labelledAt: 8.64e15 })),
        reason: 'VALIDATION_FAILED',
      },
      {
        key: 'o-trunc',
        value: Buffer.from(goodOutcome.subarray(0, goodOutcome.length - 3)),
        reason: 'DECODE_FAILED',
      },
    ]
    await deps.producer.send({
      topic: topics.outcomes,
      acks: -1,
      messages: outcomeMsgs.map((m, i) => ({ key: m.key, value: m.value, partition: i % partitions })),
    })

    // ---- mlops.predictions ----
    const prediction = (id: string, over: Record<string, unknown> = {}) => ({
      ...req(id),
      modelName: r.model,
      modelVersion: 1,
      probability: 0.3,
      label: 0,
      threshold: 0.5,
      scoredAt: Date.now(),
      shadow: false,
      ...over,
    })
    const predictionMsgs = [
      { key: 'p-time', value: enc(topics.predictions, prediction('p-time', { eventTime: 8.64e15 })) },
      { key: 'p-prob', value: enc(topics.predictions, prediction('p-prob', { probability: 1.5, label: 7 })) },
    ]
    await deps.producer.send({
      topic: topics.predictions,
      acks: -1,
      messages: predictionMsgs.map((m, i) => ({ ...m, partition: i % partitions })),
    })

    // ---- mlops.model-versions ----
    const signer = signerFor(deps.config)
    const forger = createSigner('not-the-key-not-the-key-not-the-key')
    const v2 = versionEvent(stumpArtifact(r.model, 2))
    const bombBytes = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20), { level: 9 })
    const bomb = { ...v2, eventId: `${r.model}:2:production:99`, artifact: bombBytes }
    const big = versionEvent(stumpArtifact(r.model, 2))
    const bigEvent = {
      ...big,
      artifact: Buffer.concat([encodeArtifact(stumpArtifact(r.model, 2)).bytes, Buffer.alloc(600 * 1024)]),
    }
    const versionMsgs = [
      { what: 'forged signature', event: v2, header: forger.sign(v2, seqOfEventId(v2.eventId)) },
      { what: 'unsigned', event: v2, header: undefined },
      {
        what: 'replayed (older sequence)',
        event: { ...v2, eventId: `${r.model}:2:production:0` },
        header: signer.sign({ ...v2, eventId: `${r.model}:2:production:0` }, 0),
      },
      { what: 'gzip bomb (forged)', event: bomb, header: forger.sign(bomb, 99) },
      { what: 'oversized inline artifact', event: bigEvent, header: signer.sign(bigEvent, 1_000_000) },
    ]
    for (const m of versionMsgs)
      await deps.producer.send({
        topic: topics.modelVersions,
        acks: -1,
        messages: [
          {
            key: r.model,
            value: enc(topics.modelVersions, m.event),
            headers: m.header ? { [SIGNATURE_HEADER]: m.header } : {},
          },
        ],
      })
    const attackDoneAt = Date.now()
    await load1

    // Normal traffic after the attack: the windows must keep advancing over it.
    const runId2 = `${runId}b`
    await sendLoad(deps, { runId: runId2, n: N2, rate: 1000 })
    const requestsTotal = N1 + N2 + requestMsgs.length + 1 // + the API's idempotency request
    await waitFor(
      async () => (await committed(admin, r.groups.inference, topics.requests)) >= requestsTotal - 1,
      {
        timeoutMs: 180_000,
        message: 'inference to consume every request',
      },
    )
    const dlqRequests = await collectMessages(
      deps.kafka,
      topics.dlq.requests,
      (m) => m.length >= expectedRequests.size,
    )
    const dlqOutcomes = await collectMessages(
      deps.kafka,
      topics.dlq.outcomes,
      (m) => m.length >= outcomeMsgs.length,
    )
    const dlqPredictions = await collectMessages(
      deps.kafka,
      topics.dlq.predictions,
      (m) => m.length >= predictionMsgs.length,
    )
    await waitFor(
      async () =>
        (await committed(admin, r.groups.monitor, topics.predictions)) ===
        (await written(admin, topics.predictions)),
      { timeoutMs: 180_000, message: 'monitors to catch up on predictions' },
    )
    const metricsText = await (await fetch(`${base}/metrics`)).text()
    const metric = (re: RegExp) => [...metricsText.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0)
    const versionRefusals = metric(
      /riskstream_inference_model_reload_failures_total\{[^}]*reason="ARTIFACT_UNAUTHENTICATED"[^}]*\} (\d+)/g,
    )
    const retrainRefusedCounted = metric(
      /riskstream_api_refused_total\{route="\/mlops\/api\/retrain\/trigger",reason="retrain_pending"\} (\d+)/g,
    )
    const servedVersion = metric(/riskstream_inference_model_version\{[^}]*\} (\d+)/g)

    // Stoppable: SIGTERM, exit 0 within the shutdown bound.
    expect(proc.isRunning()).toBe(true)
    const stoppedAt = Date.now()
    await proc.stop()
    const exit = await proc.exited
    const stopS = (Date.now() - stoppedAt) / 1000

    const [counts] = await queryIn<Record<string, number>>(
      env,
      `SELECT
         (SELECT count() FROM predictions FINAL WHERE startsWith(request_id, {a:String})) AS load1,
         (SELECT count() FROM predictions FINAL WHERE startsWith(request_id, {b:String})) AS load2,
         (SELECT count() FROM predictions FINAL WHERE request_id = {o:String}) AS outsider,
         (SELECT any(patient_id) FROM predictions FINAL WHERE request_id = {reused:String}) AS reusedPatient,
         (SELECT groupUniqArray(model_version) FROM predictions FINAL) AS versions,
         (SELECT max(window_id) FROM monitor_windows FINAL WHERE window_type = 'sliding') AS lastWindow,
         (SELECT count() FROM predictions FINAL WHERE toUnixTimestamp64Milli(event_time) > {future:Int64}) AS future`,
      {
        a: `${runId}-`,
        b: `${runId2}-`,
        o: `outsider-${runId}`,
        reused: reusedId,
        future: attackDoneAt + 3_600_000,
      },
    )
    const dlqRetention = (
      await admin.describeConfigs({
        resources: [{ type: 2, name: topics.dlq.requests, configNames: ['retention.ms'] }],
        includeSynonyms: false,
      })
    ).resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue
    const canaryHits = findCanaries(ALL_OUTPUT)

    const reasonsOf = (ms: typeof dlqRequests) =>
      ms.map((m) => `${m.key}:${m.headers[DLQ_HEADERS.reason]}`).sort()
    const apiOk = api.every((a) => a.status === a.expected)
    const requestsOk =
      JSON.stringify(reasonsOf(dlqRequests)) ===
      JSON.stringify([...expectedRequests].map(([k, v]) => `${k}:${v}`).sort())
    const outcomesOk =
      JSON.stringify(reasonsOf(dlqOutcomes)) ===
      JSON.stringify(outcomeMsgs.map((m) => `${m.key}:${m.reason}`).sort())
    const predictionsOk =
      JSON.stringify(reasonsOf(dlqPredictions)) ===
      JSON.stringify(predictionMsgs.map((m) => `${m.key}:VALIDATION_FAILED`).sort())
    const normalOk = Number(counts!.load1) === N1 && Number(counts!.load2) === N2
    const windowsOk = Number(counts!.lastWindow) >= N1 + N2 - 2 * deps.config.drift.evalEvery
    const modelOk =
      servedVersion === 1 &&
      JSON.stringify(counts!.versions) === '[1]' &&
      versionRefusals === versionMsgs.length
    const processOk = exit.code === 0

    const rows: [string, string, boolean, string][] = [
      [
        '15a',
        `API: ${api.length} hostile requests`,
        apiOk,
        api.map((a) => `${a.what} → ${a.status}`).join('; '),
      ],
      [
        '15b',
        `prediction-requests: ${requestMsgs.length} hostile records`,
        requestsOk &&
          Number(counts!.outsider) === 1 &&
          String(counts!.reusedPatient) === requestEvent(runId, 5).patientId,
        `DLQ ${dlqRequests.length} (${[...new Set(dlqRequests.map((m) => m.headers[DLQ_HEADERS.reason]))].join(', ')}); outsider scored-by header ignored, scored ${counts!.outsider}×; reused requestId → IDEMPOTENCY_CONFLICT, original prediction kept`,
      ],
      ['15c', `outcomes: ${outcomeMsgs.length} hostile records`, outcomesOk, `DLQ ${dlqOutcomes.length}`],
      [
        '15d',
        `predictions: ${predictionMsgs.length} hostile records`,
        predictionsOk,
        `DLQ ${dlqPredictions.length}`,
      ],
      [
        '15e',
        `model versions: ${versionMsgs.length} forged/unsigned/replayed/bomb/oversized`,
        modelOk,
        `refused and counted ${versionRefusals}; served v${servedVersion}; predictions by versions ${JSON.stringify(counts!.versions)}`,
      ],
      [
        '15f',
        '50 retrain triggers in a row',
        queued === 1 && refused429 === 49 && retrainRefusedCounted === 49,
        `${queued} queued, ${refused429} × 429, counted ${retrainRefusedCounted}`,
      ],
      [
        '15g',
        `normal traffic during and after the attack (${N1} + ${N2})`,
        normalOk && windowsOk && Number(counts!.future) === 0,
        `predicted ${counts!.load1} + ${counts!.load2}; last sliding window at event ${counts!.lastWindow}; rows with future times ${counts!.future}`,
      ],
      [
        '15h',
        'process stays up and stops; no canary in logs; DLQ retention finite',
        processOk && canaryHits.length === 0 && dlqRetention === String(deps.config.dlq.retentionMs),
        `exit ${exit.code} after ${stopS.toFixed(1)} s; ${ALL_OUTPUT.length} log lines, ${canaryHits.length} canary hits; DLQ retention.ms ${dlqRetention}`,
      ],
    ]
    for (const [id, fault, pass, note] of rows)
      recordResult(FILE, {
        id,
        fault: `hostile: ${fault}`,
        events: 0,
        lost: 0,
        duplicated: 0,
        dlq:
          id === '15b'
            ? dlqRequests.length
            : id === '15c'
              ? dlqOutcomes.length
              : id === '15d'
                ? dlqPredictions.length
                : 0,
        recoveredS: null,
        pass,
        note,
      })

    expect(api.filter((a) => a.status !== a.expected)).toEqual([])
    expect(reasonsOf(dlqRequests)).toEqual([...expectedRequests].map(([k, v]) => `${k}:${v}`).sort())
    expect(await written(admin, topics.dlq.requests)).toBe(expectedRequests.size)
    expect(reasonsOf(dlqOutcomes)).toEqual(outcomeMsgs.map((m) => `${m.key}:${m.reason}`).sort())
    expect(await written(admin, topics.dlq.outcomes)).toBe(outcomeMsgs.length)
    expect(reasonsOf(dlqPredictions)).toEqual(predictionMsgs.map((m) => `${m.key}:VALIDATION_FAILED`).sort())
    expect(await written(admin, topics.dlq.predictions)).toBe(predictionMsgs.length)
    expect(Number(counts!.outsider)).toBe(1)
    expect(String(counts!.reusedPatient)).toBe(requestEvent(runId, 5).patientId)
    expect(versionRefusals).toBe(versionMsgs.length)
    expect(servedVersion).toBe(1)
    expect(counts!.versions).toEqual([1])
    expect({ queued, refused429, retrainRefusedCounted }).toEqual({
      queued: 1,
      refused429: 49,
      retrainRefusedCounted: 49,
    })
    expect(Number(counts!.load1)).toBe(N1)
    expect(Number(counts!.load2)).toBe(N2)
    expect(windowsOk).toBe(true)
    expect(Number(counts!.future)).toBe(0)
    expect(exit.code).toBe(0)
    expect(canaryHits).toEqual([])
    expect(dlqRetention).toBe(String(deps.config.dlq.retentionMs))
  }, 600_000)
})
