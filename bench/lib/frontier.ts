/**
 * Recall–QPS trade-off curves: the Pareto frontier of a set of measured points
 * and the QPS it gives at a target recall.
 */

export interface TradeoffPoint {
  recall: number;
  qps: number;
}

/**
 * The points no other point beats on both axes (higher-or-equal recall and
 * higher-or-equal QPS, one of them strictly), sorted by recall ascending —
 * so QPS is strictly decreasing along the result. Points with a non-finite
 * value are ignored.
 */
export function paretoFrontier<T extends TradeoffPoint>(points: readonly T[]): T[] {
  const ok = points.filter((p) => Number.isFinite(p.recall) && Number.isFinite(p.qps) && p.qps > 0);
  // Highest recall first; for equal recall the fastest first.
  const sorted = [...ok].sort((a, b) => b.recall - a.recall || b.qps - a.qps);
  const out: T[] = [];
  let bestQps = -Infinity;
  for (const p of sorted) {
    if (p.qps > bestQps) {
      out.push(p);
      bestQps = p.qps;
    }
  }
  return out.reverse();
}

export interface QpsAtRecall {
  qps: number;
  /**
   * 'interpolated': between two frontier points (or exactly on one);
   * 'lower-bound': the target is below every measured recall, so the QPS of
   * the lowest-recall frontier point is only a lower bound.
   */
  kind: 'interpolated' | 'lower-bound';
}

/**
 * QPS at `target` recall on a frontier (from {@link paretoFrontier}):
 * interpolated linearly in recall and logarithmically in QPS (straight lines
 * on the usual log-QPS plot) between the two frontier points around the
 * target. Null when the frontier never reaches the target.
 */
export function qpsAtRecall(frontier: readonly TradeoffPoint[], target: number): QpsAtRecall | null {
  if (frontier.length === 0) return null;
  const last = frontier[frontier.length - 1]!;
  if (target > last.recall) return null;
  const first = frontier[0]!;
  if (target < first.recall) return { qps: first.qps, kind: 'lower-bound' };
  for (let i = 0; i < frontier.length; i++) {
    const b = frontier[i]!;
    if (b.recall < target) continue;
    if (b.recall === target || i === 0) return { qps: b.qps, kind: 'interpolated' };
    const a = frontier[i - 1]!;
    const t = (target - a.recall) / (b.recall - a.recall);
    return { qps: Math.exp(Math.log(a.qps) + t * (Math.log(b.qps) - Math.log(a.qps))), kind: 'interpolated' };
  }
  return null;
}

/** a ÷ b of two interpolated values; null when either is missing. A lower bound makes the ratio approximate. */
export function ratio(a: QpsAtRecall | null, b: QpsAtRecall | null): { value: number; approximate: boolean } | null {
  if (a === null || b === null) return null;
  return { value: a.qps / b.qps, approximate: a.kind !== 'interpolated' || b.kind !== 'interpolated' };
}
