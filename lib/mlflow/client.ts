/**
 * A small typed client of MLflow's REST API 2.0 (tracking, artifacts proxy, model registry):
 * only the calls the mirror needs (lib/mlflow/mirror.ts). Every request has a timeout; a failure
 * is a RiskStreamError: MLFLOW_UNAVAILABLE (retriable: network, timeout, 429, 5xx) or
 * MLFLOW_REJECTED (not retriable: MLflow's error_code, e.g. RESOURCE_ALREADY_EXISTS, is in
 * `details.mlflowCode`). No retries here: the mirror's caller never waits on MLflow for long,
 * and `riskstream runs export --mlflow` is the recovery path.
 */
import { RiskStreamError } from '../errors/index.ts'

/** One request to MLflow gives up after this long (training and promotion do not wait longer). */
export const MLFLOW_REQUEST_TIMEOUT_MS = 10_000

/** MLflow's limits per runs/log-batch request (docs: REST API, Log Batch). */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const
/** MLflow refuses longer param values (6000 characters in MLflow 2/3) and tag values (8000). */
export const MAX_PARAM_VALUE = 6000
export const MAX_TAG_VALUE = 8000

export interface MlflowClientOptions {
  /** http[s]://host:port of the tracking server (no trailing slash needed). */
  trackingUri: string
  token?: string
  username?: string
  password?: string
  timeoutMs?: number
}

export interface KeyValue {
  key: string
  value: string
}
export interface Metric {
  key: string
  value: number
  timestamp: number
  step: number
}
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED'

export interface RunInfo {
  run_id: string
  experiment_id: string
  run_name?: string
  status: RunStatus
  start_time?: number
  end_time?: number
  artifact_uri: string
  lifecycle_stage: string
}
export interface Run {
  info: RunInfo
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }
  inputs?: { dataset_inputs?: { dataset: Dataset; tags?: KeyValue[] }[] }
}
export interface Dataset {
  name: string
  digest: string
  source_type: string
  source: string
  schema?: string
  profile?: string
}
export interface ModelVersion {
  name: string
  version: string
  source: string
  run_id?: string
  status?: string
  tags?: KeyValue[]
  aliases?: string[]
}
export interface RegisteredModel {
  name: string
  aliases?: { alias: string; version: string }[]
  tags?: KeyValue[]
}
export interface FileInfo {
  path: string
  is_dir: boolean
  file_size?: number
}

export interface MlflowClient {
  readonly trackingUri: string
  /** The experiment's id, created when missing (a concurrent creation is not an error). */
  ensureExperiment(name: string): Promise<string>
  createRun(opts: {
    experimentId: string
    startTime: number
    runName?: string
    tags?: KeyValue[]
  }): Promise<RunInfo>
  getRun(runId: string): Promise<Run>
  /** Every active run of the experiments matching `filter` (follows the page tokens). */
  searchRuns(experimentIds: string[], filter: string): Promise<Run[]>
  /** Split into requests within LOG_BATCH_LIMITS. */
  logBatch(runId: string, data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void>
  logInputs(runId: string, datasets: { dataset: Dataset; tags?: KeyValue[] }[]): Promise<void>
  updateRun(runId: string, status: RunStatus, endTime: number): Promise<void>
  /** PUT through the server's artifact proxy (`mlflow-artifacts:` URIs, the default since MLflow 2). */
  uploadArtifact(
    artifactUri: string,
    relPath: string,
    bytes: Buffer | string,
    contentType: string,
  ): Promise<void>
  listArtifacts(runId: string, relPath?: string): Promise<FileInfo[]>
  /** The registered model, created when missing. */
  ensureRegisteredModel(name: string, description?: string): Promise<RegisteredModel>
  getRegisteredModel(name: string): Promise<RegisteredModel | null>
  createModelVersion(opts: {
    name: string
    source: string
    runId: string
    tags?: KeyValue[]
    description?: string
  }): Promise<ModelVersion>
  searchModelVersions(name: string): Promise<ModelVersion[]>
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>
  setAlias(name: string, alias: string, version: string): Promise<void>
  deleteAlias(name: string, alias: string): Promise<void>
}

const API = '/api/2.0/mlflow'

/** MLflow's error body: `{ error_code, message }`. */
interface ErrorBody {
  error_code?: string
  message?: string
}

export function createMlflowClient(opts: MlflowClientOptions): MlflowClient {
  const base = opts.trackingUri.replace(/\/+$/, '')
  const timeoutMs = opts.timeoutMs ?? MLFLOW_REQUEST_TIMEOUT_MS
  const auth = opts.token
    ? `Bearer ${opts.token}`
    : opts.username
      ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`
      : undefined

  async function call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    route: string,
    options: {
      query?: Record<string, string | number>
      body?: unknown
      raw?: Buffer | string
      type?: string
    } = {},
  ): Promise<T> {
    const url = new URL(`${base}${route}`)
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, String(v))
    const headers: Record<string, string> = {}
    if (auth) headers.authorization = auth
    let body: string | Buffer | undefined
    if (options.raw !== undefined) {
      body = options.raw
      headers['content-type'] = options.type ?? 'application/octet-stream'
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] = 'application/json'
    }
    const what = `${method} ${route}`
    let res: Response
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError'
      throw new RiskStreamError(
        'MLFLOW_UNAVAILABLE',
        `${what} at ${base}: ${timedOut ? `no answer within ${timeoutMs} ms` : (err as Error).message}`,
        { cause: err, details: { route } },
      )
    }
    const text = await res.text()
    if (!res.ok) {
      let parsed: ErrorBody = {}
      try {
        parsed = JSON.parse(text) as ErrorBody
      } catch {
        // An HTML or empty error page (a proxy in front of MLflow): the status says enough.
      }
      const transient = res.status === 429 || res.status >= 500
      throw new RiskStreamError(
        transient ? 'MLFLOW_UNAVAILABLE' : 'MLFLOW_REJECTED',
        `${what}: HTTP ${res.status}${parsed.error_code ? ` ${parsed.error_code}` : ''}: ${(parsed.message ?? text).slice(0, 300)}`,
        { details: { route, status: res.status, mlflowCode: parsed.error_code ?? '' } },
      )
    }
    try {
      return (text ? JSON.parse(text) : {}) as T
    } catch (err) {
      throw new RiskStreamError('MLFLOW_REJECTED', `${what}: the answer is not JSON`, { cause: err })
    }
  }

  const isCode = (err: unknown, code: string) =>
    err instanceof RiskStreamError && err.details.mlflowCode === code

  async function getExperimentByName(name: string): Promise<string | null> {
    try {
      const r = await call<{ experiment: { experiment_id: string } }>(
        'GET',
        `${API}/experiments/get-by-name`,
        {
          query: { experiment_name: name },
        },
      )
      return r.experiment.experiment_id
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return null
      throw err
    }
  }

  async function getRegisteredModel(name: string): Promise<RegisteredModel | null> {
    try {
      const r = await call<{ registered_model: RegisteredModel }>('GET', `${API}/registered-models/get`, {
        query: { name },
      })
      return r.registered_model
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return null
      throw err
    }
  }

  /** `mlflow-artifacts:/<path>` (or `mlflow-artifacts://host/<path>`) as the proxy's URL path. */
  function artifactPath(artifactUri: string, relPath: string): string {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri)
    if (!m)
      throw new RiskStreamError(
        'MLFLOW_REJECTED',
        `artifact URI ${artifactUri} is not served by the tracking server (start it with --serve-artifacts, the default)`,
      )
    const parts = [...m[1]!.split('/'), ...relPath.split('/')].filter(Boolean)
    return `/api/2.0/mlflow-artifacts/artifacts/${parts.map(encodeURIComponent).join('/')}`
  }

  return {
    trackingUri: base,

    async ensureExperiment(name) {
      const found = await getExperimentByName(name)
      if (found) return found
      try {
        const r = await call<{ experiment_id: string }>('POST', `${API}/experiments/create`, {
          body: { name },
        })
        return r.experiment_id
      } catch (err) {
        // Another process created it between the two calls.
        if (!isCode(err, 'RESOURCE_ALREADY_EXISTS')) throw err
        const again = await getExperimentByName(name)
        if (!again) throw err
        return again
      }
    },

    async createRun(o) {
      const r = await call<{ run: Run }>('POST', `${API}/runs/create`, {
        body: {
          experiment_id: o.experimentId,
          start_time: o.startTime,
          run_name: o.runName,
          tags: o.tags ?? [],
        },
      })
      return r.run.info
    },

    async getRun(runId) {
      return (await call<{ run: Run }>('GET', `${API}/runs/get`, { query: { run_id: runId } })).run
    },

    async searchRuns(experimentIds, filter) {
      const runs: Run[] = []
      let pageToken: string | undefined
      do {
        const r = await call<{ runs?: Run[]; next_page_token?: string }>('POST', `${API}/runs/search`, {
          body: {
            experiment_ids: experimentIds,
            filter,
            run_view_type: 'ACTIVE_ONLY',
            max_results: 1000,
            page_token: pageToken,
          },
        })
        runs.push(...(r.runs ?? []))
        pageToken = r.next_page_token || undefined
      } while (pageToken)
      return runs
    },

    async logBatch(runId, data) {
      const metrics = [...(data.metrics ?? [])]
      const params = [...(data.params ?? [])]
      const tags = [...(data.tags ?? [])]
      while (metrics.length + params.length + tags.length > 0) {
        const p = params.splice(0, LOG_BATCH_LIMITS.params)
        const t = tags.splice(0, LOG_BATCH_LIMITS.tags)
        const m = metrics.splice(0, LOG_BATCH_LIMITS.total - p.length - t.length)
        await call('POST', `${API}/runs/log-batch`, {
          body: { run_id: runId, metrics: m, params: p, tags: t },
        })
      }
    },

    async logInputs(runId, datasets) {
      if (datasets.length === 0) return
      await call('POST', `${API}/runs/log-inputs`, { body: { run_id: runId, datasets } })
    },

    async updateRun(runId, status, endTime) {
      await call('POST', `${API}/runs/update`, { body: { run_id: runId, status, end_time: endTime } })
    },

    async uploadArtifact(artifactUri, relPath, bytes, contentType) {
      await call('PUT', artifactPath(artifactUri, relPath), { raw: bytes, type: contentType })
    },

    async listArtifacts(runId, relPath) {
      const r = await call<{ files?: FileInfo[] }>('GET', `${API}/artifacts/list`, {
        query: relPath ? { run_id: runId, path: relPath } : { run_id: runId },
      })
      return r.files ?? []
    },

    async ensureRegisteredModel(name, description) {
      const found = await getRegisteredModel(name)
      if (found) return found
      try {
        const r = await call<{ registered_model: RegisteredModel }>(
          'POST',
          `${API}/registered-models/create`,
          {
            body: { name, description },
          },
        )
        return r.registered_model
      } catch (err) {
        if (!isCode(err, 'RESOURCE_ALREADY_EXISTS')) throw err
        const again = await getRegisteredModel(name)
        if (!again) throw err
        return again
      }
    },

    getRegisteredModel,

    async createModelVersion(o) {
      const r = await call<{ model_version: ModelVersion }>('POST', `${API}/model-versions/create`, {
        body: {
          name: o.name,
          source: o.source,
          run_id: o.runId,
          tags: o.tags ?? [],
          description: o.description,
        },
      })
      return r.model_version
    },

    async searchModelVersions(name) {
      const out: ModelVersion[] = []
      let pageToken: string | undefined
      do {
        const r = await call<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
          'GET',
          `${API}/model-versions/search`,
          {
            query: {
              filter: `name = '${name.replace(/'/g, "\\'")}'`,
              max_results: 1000,
              ...(pageToken ? { page_token: pageToken } : {}),
            },
          },
        )
        out.push(...(r.model_versions ?? []))
        pageToken = r.next_page_token || undefined
      } while (pageToken)
      return out
    },

    async setModelVersionTag(name, version, key, value) {
      await call('POST', `${API}/model-versions/set-tag`, { body: { name, version, key, value } })
    },

    async setAlias(name, alias, version) {
      await call('POST', `${API}/registered-models/alias`, { body: { name, alias, version } })
    },

    async deleteAlias(name, alias) {
      await call('DELETE', `${API}/registered-models/alias`, { body: { name, alias } })
    },
  }
}
