/**
 * Random trees for the scorer tests and the scoring bench: one generator, so a layout or
 * codegen test and the bench build their ensembles the same way. Draws come from `rnd` in a fixed
 * order (leaf value when a node is added; then, per split: the early-leaf draw, feature,
 * threshold, missing direction, child order), so a seed always gives the same tree.
 */
import type { FlatTree } from '../../../lib/model/types.ts'

export interface RandomTreeOptions {
  rnd: () => number
  maxDepth: number
  nFeatures: number
  /** Probability that a node at depth ≥ `leafFrom` stops early as a leaf (default 0). */
  pLeaf?: number
  /** Shallowest depth that may stop early (default 1: never the root). */
  leafFrom?: number
  /** Split threshold (default `rnd()`). */
  threshold?: () => number
  /** Leaf value (default `rnd() - 0.5`). */
  leafValue?: () => number
  /** Number the right child first half of the time: node numbering must not matter. */
  shuffleChildren?: boolean
}

export function randomTree(o: RandomTreeOptions): FlatTree {
  const { rnd, maxDepth, nFeatures } = o
  const pLeaf = o.pLeaf ?? 0
  const leafFrom = o.leafFrom ?? 1
  const threshold = o.threshold ?? rnd
  const leafValue = o.leafValue ?? (() => rnd() - 0.5)
  const t: FlatTree = { feature: [], threshold: [], left: [], right: [], missingLeft: [], value: [] }
  const add = (): number => {
    t.feature.push(-1)
    t.threshold.push(0)
    t.left.push(-1)
    t.right.push(-1)
    t.missingLeft.push(0)
    t.value.push(leafValue())
    return t.value.length - 1
  }
  const grow = (i: number, depth: number): void => {
    if (depth >= maxDepth || (depth >= leafFrom && rnd() < pLeaf)) return
    t.feature[i] = Math.floor(rnd() * nFeatures)
    t.threshold[i] = threshold()
    t.missingLeft[i] = rnd() < 0.5 ? 1 : 0
    const [l, r] = o.shuffleChildren && rnd() >= 0.5 ? [add(), add()].reverse() : [add(), add()]
    t.left[i] = l!
    t.right[i] = r!
    grow(l!, depth + 1)
    grow(r!, depth + 1)
  }
  grow(add(), 0)
  return t
}
