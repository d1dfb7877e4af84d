/** Finding a JDK for each service: JAVA_HOME, PATH and the usual install roots. */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

export interface Jdk {
  java: string
  major: number
}

/** Every JDK we can find (the configured JAVA_HOME, PATH, the usual install roots), deduplicated. */
export function findJdks(javaHome?: string): Jdk[] {
  const homes = new Set<string>()
  if (javaHome) homes.add(javaHome)
  const roots = [
    '/usr/lib/jvm',
    '/usr/java',
    '/opt/java',
    '/opt',
    join(homedir(), '.sdkman', 'candidates', 'java'),
    '/Library/Java/JavaVirtualMachines',
  ]
  for (const root of roots) {
    let entries: string[] = []
    try {
      entries = readdirSync(root)
    } catch {
      continue
    }
    for (const e of entries) {
      homes.add(join(root, e))
      homes.add(join(root, e, 'Contents', 'Home')) // macOS bundle layout
    }
  }
  const onPath = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim()
  if (onPath) {
    try {
      homes.add(dirname(dirname(realpathSync(onPath))))
    } catch {
      /* dangling link */
    }
  }
  const seen = new Set<string>()
  const jdks: Jdk[] = []
  for (const home of homes) {
    const java = join(home, 'bin', 'java')
    if (!existsSync(java)) continue
    const real = realpathSync(java)
    if (seen.has(real)) continue
    seen.add(real)
    const major = javaMajor(home, java)
    if (major) jdks.push({ java: real, major })
  }
  return jdks.sort((a, b) => a.major - b.major)
}

function javaMajor(home: string, java: string): number | undefined {
  // The `release` file avoids starting a JVM; fall back to `java -version` when it is missing.
  let text = ''
  try {
    text = readFileSync(join(home, 'release'), 'utf8')
  } catch {
    text = spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr ?? ''
  }
  const m = /(?:JAVA_VERSION=|version )"(\d+)(?:\.(\d+))?/.exec(text)
  if (!m) return undefined
  const major = Number(m[1])
  return major === 1 ? Number(m[2]) : major // "1.8.0" style
}

/** The oldest JDK that satisfies minMajor: the most conservative runtime a service supports. */
export function pickJdk(minMajor: number, jdks: Jdk[]): Jdk | undefined {
  return jdks.find((j) => j.major >= minMajor)
}
