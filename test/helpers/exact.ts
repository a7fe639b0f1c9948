import type { MetricName } from '../../packages/annoy-ts/src/index.ts';

/**
 * Exact distances computed the textbook way, in double precision, independently of the library:
 * the reference that approximate answers are checked against.
 */
export function exactDistance(metric: MetricName, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  switch (metric) {
    case 'angular': {
      let aa = 0, bb = 0;
      for (let k = 0; k < a.length; k++) { s += a[k] * b[k]; aa += a[k] * a[k]; bb += b[k] * b[k]; }
      return aa * bb > 0 ? Math.sqrt(Math.max(0, 2 - (2 * s) / Math.sqrt(aa * bb))) : Math.SQRT2;
    }
    case 'euclidean':
      for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
      return Math.sqrt(s);
    case 'manhattan':
      for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
      return s;
    case 'dot':
      for (let k = 0; k < a.length; k++) s += a[k] * b[k];
      return s;
    case 'hamming':
      for (let k = 0; k < a.length; k++) s += (a[k] > 0.5) !== (b[k] > 0.5) ? 1 : 0;
      return s;
  }
}

/** Ranks items by exact distance to `query` (dot: larger first), ties by smaller id. */
export function bruteForce(
  metric: MetricName, items: Map<number, ArrayLike<number>>, query: ArrayLike<number>, n: number,
): { ids: number[]; distances: number[] } {
  const sign = metric === 'dot' ? -1 : 1;
  const all = [...items].map(([id, v]) => ({ id, d: exactDistance(metric, query, v) }));
  all.sort((x, y) => sign * (x.d - y.d) || x.id - y.id);
  const top = all.slice(0, n);
  return { ids: top.map((t) => t.id), distances: top.map((t) => t.d) };
}

/** recall@k of `got` against the true k nearest. */
export function recall(got: readonly number[], truth: readonly number[], k = truth.length): number {
  const want = new Set(truth.slice(0, k));
  let hit = 0;
  for (const id of got.slice(0, k)) if (want.has(id)) hit++;
  return hit / k;
}
