/**
 * What `npm run demo` and `npm test` need from the machine, checked before anything starts:
 * each missing piece is one line naming it and the command that installs it, instead of a hang
 * or a stack trace minutes later. The Pima data is provided rather than asked for: a verified
 * download into data/ when no copy is found.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { fetchPima } from '../data/fetch.ts'
import { browserEnv, type Config, REPO_ROOT } from '../lib/config/index.ts'
import { findJdks } from '../stack/native/jdk.ts'
import { KAFKA_MIN_JAVA } from '../stack/native/kafka.ts'
import { nativePaths } from '../stack/native/paths.ts'
import { REGISTRY_CANDIDATES } from '../stack/native/registry.ts'

export interface Missing {
  what: string
  install: string
}

export type Need = 'java' | 'maven' | 'pima' | 'chromium' | 'prometheus' | 'mlflow'

export interface PrereqReport {
  missing: Missing[]
  /** Facts worth one line (e.g. the registry fallback on Java 17). */
  notes: string[]
}

const INSTALL = {
  java: 'apt-get install openjdk-17-jre-headless (Java 21+ runs the newest registry), or set JAVA_HOME',
  maven: 'apt-get install maven',
  chromium: 'apt-get install chromium (or set CHROMIUM_PATH to a Chrome/Chromium binary)',
  prometheus: 'apt-get install prometheus (the binary and promtool)',
  mlflow:
    'python3 -m venv .cache/mlflow-venv && .cache/mlflow-venv/bin/pip install mlflow (or pip install mlflow)',
}

/** MLflow's CLI: the venv under the checkout's git-ignored .cache/ (what .ci/run installs), then PATH. */
export function findMlflow(): string | undefined {
  const venv = path.join(REPO_ROOT, '.cache', 'mlflow-venv', 'bin', 'mlflow')
  if (existsSync(venv)) return venv
  const which = spawnSync('sh', ['-c', 'command -v mlflow'], { encoding: 'utf8' })
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined
}

/** Chromium the usual ways: an env var, Debian's and Google's paths, Playwright's browser cache. */
export function findChromium(
  env: Readonly<Record<string, string | undefined>> = browserEnv(),
): string | undefined {
  const candidates = [
    env.CHROMIUM_PATH,
    env.CHROME_PATH,
    env.PUPPETEER_EXECUTABLE_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
    ...playwrightChromes(env.PLAYWRIGHT_BROWSERS_PATH ?? path.join(homedir(), '.cache', 'ms-playwright')),
  ]
  return candidates.find((c): c is string => Boolean(c) && existsSync(c as string))
}

function playwrightChromes(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root)
    .filter((d) => d.startsWith('chromium'))
    .sort()
    .reverse()
    .flatMap((d) => [
      path.join(root, d, 'chrome-linux64', 'chrome'),
      path.join(root, d, 'chrome-linux', 'chrome'),
      path.join(root, d, 'chrome-linux', 'headless_shell'),
    ])
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0
}

/** Maven is only needed for the first download of the Kafka jars and the registry app. */
function stackDownloaded(config: Readonly<Config>): boolean {
  const p = nativePaths({ dataDir: config.stack.dataDir })
  return existsSync(path.join(p.kafkaLibs, '.pom-sha256')) && existsSync(path.join(p.registryApp, '.version'))
}

export async function checkPrereqs(config: Readonly<Config>, needs: readonly Need[]): Promise<PrereqReport> {
  const missing: Missing[] = []
  const notes: string[] = []
  // A ClickHouse server or Kafka somewhere else: the native stack (Java, Maven) is not needed.
  if (needs.includes('java')) {
    const majors = findJdks(config.stack.javaHome).map((j) => j.major)
    const best = Math.max(0, ...majors)
    if (best < KAFKA_MIN_JAVA)
      missing.push({ what: `Java ${KAFKA_MIN_JAVA}+ (Kafka 4.1)`, install: INSTALL.java })
    else {
      const newest = REGISTRY_CANDIDATES[0]
      if (best < newest.minJava)
        notes.push(
          `Java ${best}: Apicurio ${newest.version} needs Java ${newest.minJava}+, the registry falls back to ${REGISTRY_CANDIDATES.at(-1)!.version}`,
        )
    }
  }
  if (needs.includes('maven') && !stackDownloaded(config) && !onPath('mvn'))
    missing.push({
      what: 'Maven (fetches Kafka and Apicurio from Maven Central once)',
      install: INSTALL.maven,
    })
  if (needs.includes('chromium') && !findChromium())
    missing.push({ what: 'Chromium (the dashboard browser test)', install: INSTALL.chromium })
  if (needs.includes('prometheus') && !(onPath('prometheus') && onPath('promtool')))
    missing.push({ what: 'Prometheus and promtool (the observability tests)', install: INSTALL.prometheus })
  if (needs.includes('mlflow') && !findMlflow())
    missing.push({
      what: 'MLflow (the MLflow mirror test starts a real tracking server)',
      install: INSTALL.mlflow,
    })
  if (needs.includes('pima') && !existsSync(config.data.pimaCsvPath)) {
    try {
      const got = await fetchPima({ out: config.data.pimaCsvPath })
      notes.push(`Pima data: downloaded and verified (sha256 ${got.sha256.slice(0, 12)}…) to ${got.path}`)
    } catch (err) {
      missing.push({
        what: `the Pima data set (${(err as Error).message})`,
        install: 'npm run data:fetch, or set PIMA_CSV_PATH to a copy of pima-indians-diabetes.csv',
      })
    }
  }
  return { missing, notes }
}

/** One line per missing prerequisite, for stderr. */
export function formatMissing(missing: readonly Missing[]): string {
  return missing.map((m) => `riskstream: missing prerequisite: ${m.what}: ${m.install}`).join('\n')
}
