/**
 * Reads the model bytes `ml-xgboost`'s `toJSON().model` returns (XGBoost 0.7's legacy binary
 * format) and turns the trees into our library-free `TreeEnsembleModel`, so inference never
 * loads the WASM module.
 */
import { RiskStreamError } from '../../lib/errors/index.ts'
import type { FlatTree, TreeEnsembleModel } from '../../lib/model/types.ts'

export interface XGBoostRawNode {
  parent: number
  left: number
  right: number
  feature: number
  defaultLeft: boolean
  /** leaf value for leaves, split condition (float32) for internal nodes. */
  value: number
}

export interface XGBoostBinaryModel {
  baseMargin: number
  numFeature: number
  objective: string
  booster: string
  trees: XGBoostRawNode[][]
}

const LEARNER_PARAM_BYTES = 136
const GBTREE_PARAM_BYTES = 160
const TREE_PARAM_BYTES = 148
const NODE_BYTES = 20
const NODE_STAT_BYTES = 16

/** `toJSON().model` is an array of SIGNED bytes (read with getValue 'i8'); accept both forms. */
export function modelBytes(model: ArrayLike<number>): Uint8Array {
  return model instanceof Uint8Array ? model : Uint8Array.from(model as ArrayLike<number>, (b) => b & 0xff)
}

/**
 * Layout (all little-endian, C structs written raw by dmlc::Stream):
 *   LearnerModelParam (136 B): f32 base_score (ALREADY a margin: 0.7 converts the user's
 *     probability with ProbToMargin before saving), u32 num_feature, i32 num_class,
 *     i32 contain_extra_attrs, i32 contain_eval_metrics, i32 reserved[29]
 *   string objective name, string booster name        (u64 length + bytes each)
 *   GBTreeModelParam (160 B): i32 num_trees, i32 num_roots, i32 num_feature, i32 pad,
 *     i64 num_pbuffer (deprecated), i32 num_output_group, i32 size_leaf_vector, i32 reserved[32]
 *   per tree:
 *     TreeParam (148 B): i32 num_roots, num_nodes, num_deleted, max_depth, num_feature,
 *       size_leaf_vector, reserved[31]
 *     Node[num_nodes] (20 B): i32 parent, i32 cleft, i32 cright, u32 sindex
 *       (bit 31 = default-left, low 31 bits = feature), f32 leaf_value | split_cond
 *     NodeStat[num_nodes] (16 B): f32 loss_chg, f32 sum_hess, f32 base_weight, i32 leaf_child_cnt
 *   i32 tree_info[num_trees] (output group per tree)
 *   then optional attributes we ignore.
 */
export function parseXGBoostBinary(input: ArrayLike<number>): XGBoostBinaryModel {
  const bytes = modelBytes(input)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) {
      throw new RiskStreamError('ARTIFACT_CORRUPT', `xgboost model truncated while reading ${what}`, {
        details: { offset: pos, size: bytes.length },
      })
    }
  }
  const readString = (what: string): string => {
    need(8, what)
    const len = Number(view.getBigUint64(pos, true))
    pos += 8
    need(len, what)
    const s = new TextDecoder().decode(bytes.subarray(pos, pos + len))
    pos += len
    return s
  }

  need(LEARNER_PARAM_BYTES, 'learner params')
  // `+ 0` turns the -0 XGBoost stores for logit(0.5) into a plain 0.
  const baseMargin = view.getFloat32(pos, true) + 0
  const numFeature = view.getUint32(pos + 4, true)
  const numClass = view.getInt32(pos + 8, true)
  pos += LEARNER_PARAM_BYTES
  const objective = readString('objective')
  const booster = readString('booster')
  if (booster !== 'gbtree') {
    throw new RiskStreamError(
      'ARTIFACT_CORRUPT',
      `xgboost booster "${booster}" is not supported (only gbtree)`,
    )
  }
  if (numClass > 1)
    throw new RiskStreamError('ARTIFACT_CORRUPT', 'multi-class xgboost models are not supported')

  need(GBTREE_PARAM_BYTES, 'gbtree params')
  const numTrees = view.getInt32(pos, true)
  const numOutputGroup = view.getInt32(pos + 24, true)
  const sizeLeafVector = view.getInt32(pos + 28, true)
  pos += GBTREE_PARAM_BYTES
  if (numOutputGroup > 1 || sizeLeafVector !== 0) {
    throw new RiskStreamError('ARTIFACT_CORRUPT', 'xgboost model with several output groups or leaf vectors')
  }

  const trees: XGBoostRawNode[][] = []
  for (let t = 0; t < numTrees; t++) {
    need(TREE_PARAM_BYTES, `tree ${t} params`)
    const numNodes = view.getInt32(pos + 4, true)
    const treeLeafVector = view.getInt32(pos + 20, true)
    pos += TREE_PARAM_BYTES
    if (numNodes <= 0 || treeLeafVector !== 0)
      throw new RiskStreamError('ARTIFACT_CORRUPT', `tree ${t} is malformed`)
    need(numNodes * (NODE_BYTES + NODE_STAT_BYTES), `tree ${t} nodes`)
    const nodes: XGBoostRawNode[] = []
    for (let i = 0; i < numNodes; i++) {
      const o = pos + i * NODE_BYTES
      const sindex = view.getUint32(o + 12, true)
      nodes.push({
        parent: view.getInt32(o, true),
        left: view.getInt32(o + 4, true),
        right: view.getInt32(o + 8, true),
        feature: sindex & 0x7fffffff,
        defaultLeft: sindex >>> 31 === 1,
        value: view.getFloat32(o + 16, true),
      })
    }
    // Node statistics (gain, cover) are not needed for scoring.
    pos += numNodes * (NODE_BYTES + NODE_STAT_BYTES)
    trees.push(nodes)
  }
  return { baseMargin, numFeature, objective, booster, trees }
}

/**
 * XGBoost compares `float32(x) < split_cond`. Our scorer compares the float64 input with
 * `x < threshold`, so we export the smallest float64 whose float32 rounding reaches
 * `split_cond`: then both rules send every input the same way, even values that round onto
 * the split (e.g. 0.627 is not representable in float32).
 */
export function float32SplitToFloat64(t: number): number {
  if (!Number.isFinite(t)) return t
  const below = prevFloat32(t)
  // The rounding boundary sits halfway between adjacent float32 values (exact in float64).
  const mid = (below + t) / 2
  return Math.fround(mid) >= t ? mid : nextUpFloat64(mid)
}

function prevFloat32(t: number): number {
  const f = new Float32Array([t])
  const u = new Uint32Array(f.buffer)
  if (t === 0) return -1.401298464324817e-45 // -smallest subnormal
  u[0] = t > 0 ? u[0]! - 1 : u[0]! + 1
  return f[0]!
}

function nextUpFloat64(x: number): number {
  const f = new Float64Array([x])
  const u = new BigUint64Array(f.buffer)
  if (x === 0) return Number.MIN_VALUE
  u[0] = x > 0 ? u[0]! + 1n : u[0]! - 1n
  return f[0]!
}

/**
 * Flattens the parsed trees into `FlatTree`s reachable from the root only (pruned nodes stay
 * in XGBoost's arrays marked deleted; walking from the root drops them).
 */
export function toTreeEnsemble(parsed: XGBoostBinaryModel, nFeatures = parsed.numFeature): TreeEnsembleModel {
  if (parsed.objective !== 'binary:logistic') {
    throw new RiskStreamError(
      'ARTIFACT_CORRUPT',
      `xgboost objective "${parsed.objective}" is not binary:logistic`,
    )
  }
  const trees = parsed.trees.map((nodes, t) => flatten(nodes, t))
  return {
    kind: 'tree_ensemble',
    nFeatures,
    trees,
    baseMargin: parsed.baseMargin,
    aggregation: 'sum',
    link: 'logistic',
  }
}

function flatten(nodes: XGBoostRawNode[], treeIndex: number): FlatTree {
  const out: FlatTree = { feature: [], threshold: [], left: [], right: [], missingLeft: [], value: [] }
  // Breadth-first renumbering; children get their slot when their parent is emitted.
  const queue: number[] = [0]
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q]!
    const n = nodes[id]
    if (!n) throw new RiskStreamError('ARTIFACT_CORRUPT', `tree ${treeIndex} references missing node ${id}`)
    if (n.left === -1) {
      out.feature.push(-1)
      out.threshold.push(0)
      out.left.push(-1)
      out.right.push(-1)
      out.missingLeft.push(0)
      out.value.push(n.value)
    } else {
      out.feature.push(n.feature)
      out.threshold.push(float32SplitToFloat64(n.value))
      out.left.push(queue.length)
      out.right.push(queue.length + 1)
      out.missingLeft.push(n.defaultLeft ? 1 : 0)
      out.value.push(0)
      queue.push(n.left, n.right)
    }
    if (queue.length > nodes.length)
      throw new RiskStreamError('ARTIFACT_CORRUPT', `tree ${treeIndex} has a cycle`)
  }
  return out
}

/** Bytes from `toJSON().model` → scorable ensemble. */
export function xgboostToTreeEnsemble(model: ArrayLike<number>, nFeatures?: number): TreeEnsembleModel {
  return toTreeEnsemble(parseXGBoostBinary(model), nFeatures)
}
