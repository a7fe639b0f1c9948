/**
 * recall@k, computed by the orchestrator for every library the same way, from
 * the ids a library returned (never from the distances it reports).
 *
 * Two numbers per point:
 *  - `recall` (the one tables and plots use): a returned item counts when its
 *    exact distance to the query is ≤ the k-th true neighbour's distance (plus
 *    a float32-rounding tolerance). This is ann-benchmarks' definition with a
 *    much tighter epsilon; it only differs from the id version when the data
 *    has exact (or float32-indistinguishable) ties at the k-th place.
 *  - `recallIds`: |returned ids ∩ true k nearest ids| / k.
 * Duplicate ids in a result are counted once; a result shorter than k simply
 * scores less.
 */
import type { BenchMetric } from './types.ts';

/** Relative and absolute slack on the k-th distance (distances are float32 in the ground truth). */
export const RELATIVE_TOLERANCE = 1e-5;
export const ABSOLUTE_TOLERANCE = 1e-6;

/**
 * Exact distance in float64, in Annoy's conventions: angular = sqrt(2 − 2·cos)
 * (0 vectors count as cos = 0), euclidean = L2.
 */
export function exactDistance(metric: BenchMetric, a: Float32Array, aOff: number, b: Float32Array, bOff: number, dim: number): number {
  if (metric === 'angular') {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let t = 0; t < dim; t++) {
      const x = a[aOff + t]!;
      const y = b[bOff + t]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    const cos = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
    return Math.sqrt(Math.max(0, 2 - 2 * cos));
  }
  let s = 0;
  for (let t = 0; t < dim; t++) {
    const d = a[aOff + t]! - b[bOff + t]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

export interface RecallInput {
  /** Returned ids per query (at most k are looked at). */
  results: ReadonlyArray<ArrayLike<number>>;
  k: number;
  /** nQueries × gtK true neighbour ids, nearest first. */
  gtIds: Int32Array;
  /** nQueries × gtK true distances matching gtIds. */
  gtDistances: Float32Array;
  gtK: number;
  /** Exact distance between query q and base item id (NaN for an id outside the base). */
  distance: (q: number, id: number) => number;
}

export interface RecallResult {
  recall: number;
  recallIds: number;
  /** Per-query tie-aware hit counts (0 … k). */
  hits: Uint8Array;
}

/** Mean recall@k over all queries (see the top of this file). */
export function computeRecall(input: RecallInput): RecallResult {
  const { results, k, gtIds, gtDistances, gtK, distance } = input;
  if (k < 1 || k > gtK) throw new RangeError(`k must be in [1, ${gtK}], got ${k}`);
  const nQ = results.length;
  if (gtIds.length < nQ * gtK || gtDistances.length < nQ * gtK) throw new RangeError('ground truth has fewer rows than results');
  const hits = new Uint8Array(nQ);
  let total = 0;
  let totalIds = 0;
  const seen = new Set<number>();
  const truth = new Set<number>();
  for (let q = 0; q < nQ; q++) {
    const row = results[q]!;
    const threshold = gtDistances[q * gtK + k - 1]!;
    const limit = threshold + Math.abs(threshold) * RELATIVE_TOLERANCE + ABSOLUTE_TOLERANCE;
    truth.clear();
    for (let j = 0; j < k; j++) truth.add(gtIds[q * gtK + j]!);
    seen.clear();
    let h = 0;
    let hIds = 0;
    const n = Math.min(k, row.length);
    for (let j = 0; j < n; j++) {
      const id = row[j]!;
      if (seen.has(id)) continue;
      seen.add(id);
      if (truth.has(id)) {
        hIds++;
        h++;
      } else {
        const d = distance(q, id);
        if (d <= limit) h++;
      }
    }
    hits[q] = h;
    total += h;
    totalIds += hIds;
  }
  return { recall: nQ === 0 ? 0 : total / (nQ * k), recallIds: nQ === 0 ? 0 : totalIds / (nQ * k), hits };
}

/** A `distance` callback over row-major base and query arrays. */
export function distanceOver(metric: BenchMetric, base: Float32Array, queries: Float32Array, dim: number): (q: number, id: number) => number {
  const nBase = base.length / dim;
  return (q, id) => (Number.isInteger(id) && id >= 0 && id < nBase ? exactDistance(metric, queries, q * dim, base, id * dim, dim) : Number.NaN);
}
