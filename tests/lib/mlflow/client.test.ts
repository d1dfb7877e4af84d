/**
 * The MLflow REST client's contract with its callers, against a local HTTP server that answers
 * as MLflow does (or fails as a broken one does): errors carry the registry code and the
 * retriable flag, MLflow's error_code is kept, a silent server times out, batches respect
 * MLflow's per-request limits, and artifact URIs map onto the artifact proxy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RiskStreamError } from '../../../lib/errors/index.ts'
import { createMlflowClient, LOG_BATCH_LIMITS } from '../../../lib/mlflow/index.ts'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void
let handler: Handler = (_req, _body, res) => res.end('{}')
const seen: { method: string; url: string; body: string; auth: string | undefined }[] = []
let server: Server
let url = ''

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => {
      body += d.toString()
    })
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization })
      handler(req, body, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function failure(p: Promise<unknown>): Promise<RiskStreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RiskStreamError)
  return err as RiskStreamError
}

describe('the MLflow client', () => {
  it('maps MLflow refusals to MLFLOW_REJECTED (not retriable) with MLflow error_code', async () => {
    handler = (_req, _body, res) =>
      json(res, 400, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: 'Changing param values is not allowed',
      })
    const e = await failure(createMlflowClient({ trackingUri: url }).updateRun('r1', 'FINISHED', 1))
    expect(e.code).toBe('MLFLOW_REJECTED')
    expect(e.retriable).toBe(false)
    expect(e.details.mlflowCode).toBe('INVALID_PARAMETER_VALUE')
    expect(e.message).toContain('Changing param values is not allowed')
  })

  it('maps 5xx, 429 and a closed port to MLFLOW_UNAVAILABLE (retriable)', async () => {
    for (const status of [503, 429, 500]) {
      handler = (_req, _body, res) => {
        res.writeHead(status)
        res.end('<html>bad gateway</html>')
      }
      const e = await failure(createMlflowClient({ trackingUri: url }).getRun('r1'))
      expect([e.code, e.retriable], String(status)).toEqual(['MLFLOW_UNAVAILABLE', true])
    }
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const e = await failure(createMlflowClient({ trackingUri: `http://127.0.0.1:${port}` }).getRun('r1'))
    expect([e.code, e.retriable]).toEqual(['MLFLOW_UNAVAILABLE', true])
  })

  it('gives up on a server that does not answer within the timeout', async () => {
    handler = () => {
      // never answers
    }
    const t0 = Date.now()
    const e = await failure(createMlflowClient({ trackingUri: url, timeoutMs: 300 }).getRun('r1'))
    expect(e.code).toBe('MLFLOW_UNAVAILABLE')
    expect(e.message).toMatch(/no answer within 300 ms/)
    expect(Date.now() - t0).toBeLessThan(5_000)
  })

  it('finds or creates the experiment, tolerating a concurrent creation', async () => {
    let created = false
    handler = (req, _body, res) => {
      if (req.url!.startsWith('/api/2.0/mlflow/experiments/get-by-name'))
        return created
          ? json(res, 200, { experiment: { experiment_id: '7' } })
          : json(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' })
      created = true // someone else won the race
      json(res, 400, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' })
    }
    expect(await createMlflowClient({ trackingUri: url }).ensureExperiment('x')).toBe('7')
  })

  it('splits log-batch within MLflow limits and sends auth', async () => {
    seen.length = 0
    handler = (_req, _body, res) => json(res, 200, {})
    const metrics = Array.from({ length: 2500 }, (_, i) => ({
      key: `m${i}`,
      value: i,
      timestamp: 1,
      step: 0,
    }))
    const params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) }))
    await createMlflowClient({ trackingUri: url, token: 'tok' }).logBatch('r1', { metrics, params })
    const bodies = seen.map(
      (s) => JSON.parse(s.body) as { metrics: unknown[]; params: unknown[]; tags: unknown[] },
    )
    for (const b of bodies) {
      expect(b.metrics.length + b.params.length + b.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.total)
      expect(b.params.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.params)
    }
    expect(bodies.reduce((n, b) => n + b.metrics.length, 0)).toBe(2500)
    expect(bodies.reduce((n, b) => n + b.params.length, 0)).toBe(150)
    expect(seen.every((s) => s.auth === 'Bearer tok')).toBe(true)
  })

  it('uploads artifacts through the proxy path of an mlflow-artifacts URI', async () => {
    seen.length = 0
    handler = (_req, _body, res) => json(res, 200, {})
    const c = createMlflowClient({ trackingUri: url, username: 'u', password: 'p' })
    await c.uploadArtifact(
      'mlflow-artifacts:/3/abc/artifacts',
      'model/m v1.json.gz',
      'bytes',
      'application/gzip',
    )
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/model/m%20v1.json.gz',
      body: 'bytes',
      auth: `Basic ${Buffer.from('u:p').toString('base64')}`,
    })
    const e = await failure(
      c.uploadArtifact('s3://bucket/3/abc/artifacts', 'run.json', '{}', 'application/json'),
    )
    expect(e.code).toBe('MLFLOW_REJECTED')
    expect(e.message).toMatch(/--serve-artifacts/)
  })
})
