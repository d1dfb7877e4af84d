/**
 * Structural checks for a scorable model and its preprocessing. Both the artifact decoder
 * and the scorer run them: the tree walker relies on them to terminate and to stay inside
 * its arrays, so a malformed model is rejected once, up front, with a precise reason.
 */
import { RiskStreamError } from '../errors/index.ts'
import type { FlatTree, Preprocessing, ScorableModel } from './types.ts'

function corrupt(reason: string): never {
  throw new RiskStreamError('ARTIFACT_CORRUPT', reason, { details: { reason } })
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

function checkNumberArray(a: unknown, what: string, len?: number): asserts a is number[] {
  if (!Array.isArray(a)) corrupt(`${what} is not an array`)
  if (len !== undefined && a.length !== len) corrupt(`${what} has length ${a.length}, expected ${len}`)
  for (let i = 0; i < a.length; i++)
    if (!isFiniteNumber(a[i])) corrupt(`${what}[${i}] is not a finite number`)
}

const TREE_KEYS = ['feature', 'threshold', 'left', 'right', 'missingLeft', 'value'] as const

/**
 * One tree: parallel arrays of equal, non-zero length; every node reachable from root 0 at
 * most once (so walking always ends at a leaf); a leaf has left = right = -1; an internal
 * node has a feature index < nFeatures and a finite threshold.
 */
export function validateTree(t: unknown, nFeatures: number, where: string): asserts t is FlatTree {
  if (typeof t !== 'object' || t === null) corrupt(`${where} is not an object`)
  const tree = t as Record<string, unknown>
  const n = Array.isArray(tree.value) ? tree.value.length : -1
  if (n < 1) corrupt(`${where}.value must be a non-empty array`)
  for (const k of TREE_KEYS) checkNumberArray(tree[k], `${where}.${k}`, n)
  const { feature, left, right, missingLeft } = tree as unknown as FlatTree
  const seen = new Uint8Array(n)
  const stack = [0]
  seen[0] = 1
  while (stack.length > 0) {
    const i = stack.pop()!
    const l = left[i]!
    const r = right[i]!
    if (l === -1 || r === -1) {
      if (l !== r) corrupt(`${where} node ${i}: only one child is -1`)
      continue
    }
    for (const c of [l, r]) {
      if (!Number.isInteger(c) || c < 0 || c >= n)
        corrupt(`${where} node ${i}: child index ${c} out of range [0, ${n})`)
      if (seen[c]) corrupt(`${where} node ${i}: child ${c} is reached twice (not a tree)`)
      seen[c] = 1
      stack.push(c)
    }
    const f = feature[i]!
    if (!Number.isInteger(f) || f < 0 || f >= nFeatures) {
      corrupt(`${where} node ${i}: feature index ${f} not in [0, ${nFeatures})`)
    }
    if (missingLeft[i] !== 0 && missingLeft[i] !== 1)
      corrupt(`${where} node ${i}: missingLeft must be 0 or 1`)
  }
}

export function validateModel(m: unknown): asserts m is ScorableModel {
  if (typeof m !== 'object' || m === null) corrupt('model is not an object')
  const model = m as Record<string, unknown>
  const nf = model.nFeatures
  if (!Number.isInteger(nf) || (nf as number) < 1) corrupt(`model.nFeatures must be a positive integer`)
  const nFeatures = nf as number
  if (model.kind === 'tree_ensemble') {
    if (!Array.isArray(model.trees) || model.trees.length === 0)
      corrupt('model.trees must be a non-empty array')
    model.trees.forEach((t, i) => {
      validateTree(t, nFeatures, `model.trees[${i}]`)
    })
    if (!isFiniteNumber(model.baseMargin)) corrupt('model.baseMargin is not a finite number')
    if (model.aggregation !== 'sum' && model.aggregation !== 'mean')
      corrupt(`unknown aggregation ${String(model.aggregation)}`)
    if (model.link !== 'logistic' && model.link !== 'identity') corrupt(`unknown link ${String(model.link)}`)
  } else if (model.kind === 'linear') {
    checkNumberArray(model.weights, 'model.weights', nFeatures)
    if (!isFiniteNumber(model.intercept)) corrupt('model.intercept is not a finite number')
    if (model.link !== 'logistic') corrupt(`unknown link ${String(model.link)} for a linear model`)
  } else {
    corrupt(`unknown model kind ${String(model.kind)}`)
  }
}

export function validatePreprocessing(p: unknown, nFeatures: number): asserts p is Preprocessing {
  if (typeof p !== 'object' || p === null) corrupt('preprocessing is not an object')
  const pre = p as Record<string, unknown>
  if (!Array.isArray(pre.impute) || pre.impute.length !== nFeatures) {
    corrupt(`preprocessing.impute must be an array of length ${nFeatures}`)
  }
  pre.impute.forEach((v, i) => {
    if (v !== null && !isFiniteNumber(v))
      corrupt(`preprocessing.impute[${i}] must be null or a finite number`)
  })
  if ((pre.center === undefined) !== (pre.scale === undefined))
    corrupt('preprocessing needs both center and scale, or neither')
  if (pre.center !== undefined) {
    checkNumberArray(pre.center, 'preprocessing.center', nFeatures)
    checkNumberArray(pre.scale, 'preprocessing.scale', nFeatures)
    ;(pre.scale as number[]).forEach((s, i) => {
      if (s === 0) corrupt(`preprocessing.scale[${i}] is zero`)
    })
  }
}
