/** How the command line prints results that more than one command shows. */
import type { TrainOnceResult } from '../trainer/index.ts'

/** The result of a training run in a few lines: the honest estimate with its intervals, the decision. */
export function formatTrainResult(result: TrainOnceResult): string {
  const e = result.estimate
  const metric = (k: 'roc_auc' | 'accuracy' | 'f1') => {
    const i = e.intervals[k as keyof typeof e.intervals]
    return `${k} ${result.metrics[k].toFixed(3)}${i ? ` [${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]` : ''}`
  }
  const kind = e.kind === 'out_of_time' ? 'out-of-time' : 'nested CV'
  return [
    `run ${result.runId}: ${result.family} v${result.version} → ${result.stage}${result.belowGate ? ' (BELOW THE GATE)' : ''}`,
    `  estimate (${kind}, ${e.rows} held-out rows, ${Math.round(100 * e.level)} % intervals): ${metric('roc_auc')}, ${metric('accuracy')}, ${metric('f1')}`,
    `  decision: ${result.promotion.reason}`,
  ].join('\n')
}
