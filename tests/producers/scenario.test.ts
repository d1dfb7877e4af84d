import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  driftStrength,
  listScenarios,
  loadScenario,
  MALFORMED_KINDS,
  parseScenario,
} from '../../producers/scenario.ts'

const SHIPPED = ['aging-population', 'concept-flip', 'glucose-shift', 'missing-burst', 'poison', 'stable']

function expectInvalid(text: string, ...fragments: string[]) {
  try {
    parseScenario(text, 'test.yaml')
  } catch (err) {
    const e = err as { code: string; message: string }
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('test.yaml')
    for (const f of fragments) expect(e.message).toContain(f)
    return
  }
  throw new Error('expected the scenario to be refused')
}

describe('scenario files', () => {
  it('ships the six named scenarios and every scenario file parses', () => {
    expect(listScenarios()).toEqual(expect.arrayContaining(SHIPPED))
    // every file in the folder (others may add scenarios, e.g. the demo's) must parse
    for (const name of listScenarios()) expect(loadScenario(name).name).toBe(name)
  })

  it('reads the declared drifts of the shipped scenarios', () => {
    expect(loadScenario('stable').drifts).toEqual([])
    expect(loadScenario('glucose-shift').drifts).toEqual([
      { kind: 'feature-shift', feature: 'glucose', shift: 30, scale: 1, at: 1500 },
    ])
    const aging = loadScenario('aging-population').drifts[0]
    expect(aging).toMatchObject({ kind: 'covariate-mix', weight: 6, from: 1000, to: 2000 })
    expect(loadScenario('poison').malformed).toEqual({ every: 1000, kinds: [...MALFORMED_KINDS] })
  })

  it('loads a scenario file by path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scen-'))
    const file = path.join(dir, 'mine.yaml')
    writeFileSync(
      file,
      'name: mine\ndescription: d\ndrifts:\n  - {kind: prevalence, positiveRate: 0.6, from: 10, to: 20}\n',
    )
    expect(loadScenario(file).drifts[0]).toMatchObject({ kind: 'prevalence', positiveRate: 0.6 })
  })

  it('names the unknown scenario and lists the shipped ones', () => {
    expect(() => loadScenario('no-such-scenario')).toThrow(
      /unknown scenario "no-such-scenario".*glucose-shift/,
    )
    expect(() => loadScenario('/nonexistent/x.yaml')).toThrow(/does not exist/)
  })

  it('refuses bad files with the field that is wrong', () => {
    expectInvalid('name: [unclosed', 'not valid YAML')
    expectInvalid('description: no name', "must have required property 'name'")
    expectInvalid('name: x\ndescription: d\ncolour: red', 'additional properties', 'colour')
    expectInvalid('name: x\ndescription: d\ndrifts:\n  - {kind: teleport, at: 1}', '/drifts/0/kind')
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: feature-shift, feature: weight, shift: 1, at: 1}',
      '/drifts/0/feature',
    )
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: feature-shift, feature: bmi, shift: "a lot", at: 1}',
      '/drifts/0/shift',
    )
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: feature-shift, feature: bmi, shift: 1}',
      'either "at"',
    )
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: feature-shift, feature: bmi, shift: 1, at: 3, from: 1, to: 2}',
      'either "at"',
    )
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: concept-flip, when: {feature: bmi, op: ">=", value: 30}, probability: 1.5, at: 1}',
      '/drifts/0/probability',
    )
    expectInvalid(
      'name: x\ndescription: d\ndrifts:\n  - {kind: missing-burst, features: [bmi], probability: 0.5, start: 9, end: 3}',
      'end must be greater',
    )
    expectInvalid(
      'name: x\ndescription: d\nmalformed: {every: 1000, kinds: [gibberish]}',
      '/malformed/kinds/0',
    )
  })

  it('ramps gradual drifts linearly and switches sudden ones at k', () => {
    const sudden = { kind: 'feature-shift' as const, feature: 'bmi' as const, at: 10 }
    expect([driftStrength(sudden, 9), driftStrength(sudden, 10), driftStrength(sudden, 500)]).toEqual([
      0, 1, 1,
    ])
    const gradual = { kind: 'feature-shift' as const, feature: 'bmi' as const, from: 100, to: 200 }
    expect([99, 100, 150, 199, 200, 300].map((i) => driftStrength(gradual, i))).toEqual([
      0, 0, 0.5, 0.99, 1, 1,
    ])
  })
})
