// Distances between float32 vectors held outside an index (the collection's newest items, searched
// exactly). Ranking uses plain double arithmetic (fast); the distances reported are recomputed
// with Annoy's float32 rounding (as the index's own kernels round them), so an item reports the
// same distance before and after it is compacted into an index.
import type { MetricName } from 'annoy-ts';

const fround = Math.fround;

/**
 * A metric's distance kernels: `rank` orders candidates (smaller = nearer), `exact` is the
 * distance callers see (for dot: the inner product, larger = nearer). `norm` is what rank and
 * exact need precomputed per stored vector (angular: its squared norm, float32-summed).
 */
export interface DistanceKernels {
  norm(v: Float32Array, at: number): number;
  rank(q: Float32Array, qNorm: number, v: Float32Array, at: number, vNorm: number): number;
  exact(q: Float32Array, qNorm: number, v: Float32Array, at: number, vNorm: number): number;
  /** The `rank` of an exact distance (to compare with other segments' results and maxDistance). */
  rankOf(distance: number): number;
}

export function distanceKernels(metric: MetricName, f: number): DistanceKernels {
  const dotExact = (a: Float32Array, ao: number, b: Float32Array, bo: number): number => {
    let s = 0;
    for (let i = 0; i < f; i++) s = fround(s + fround(a[ao + i]! * b[bo + i]!));
    return s;
  };
  const dotFast = (q: Float32Array, v: Float32Array, at: number): number => {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
    for (; i + 3 < f; i += 4) {
      s0 += q[i]! * v[at + i]!;
      s1 += q[i + 1]! * v[at + i + 1]!;
      s2 += q[i + 2]! * v[at + i + 2]!;
      s3 += q[i + 3]! * v[at + i + 3]!;
    }
    for (; i < f; i++) s0 += q[i]! * v[at + i]!;
    return s0 + s1 + s2 + s3;
  };
  switch (metric) {
    case 'angular':
      return {
        norm: (v, at) => dotExact(v, at, v, at),
        rank: (q, qn, v, at, vn) => {
          const pq = qn * vn;
          return pq > 0 ? 2 - (2 * dotFast(q, v, at)) / Math.sqrt(pq) : 2;
        },
        exact: (q, qn, v, at, vn) => {
          const ppqq = fround(qn * vn);
          const d = ppqq > 0 ? fround(2.0 - (2.0 * dotExact(q, 0, v, at)) / fround(Math.sqrt(ppqq))) : 2.0;
          return fround(Math.sqrt(d > 0 ? d : 0));
        },
        rankOf: (d) => d * d,
      };
    case 'euclidean':
      return {
        norm: () => 0,
        rank: (q, _qn, v, at) => {
          let s0 = 0, s1 = 0, i = 0;
          for (; i + 1 < f; i += 2) {
            const a = q[i]! - v[at + i]!, b = q[i + 1]! - v[at + i + 1]!;
            s0 += a * a;
            s1 += b * b;
          }
          for (; i < f; i++) {
            const a = q[i]! - v[at + i]!;
            s0 += a * a;
          }
          return s0 + s1;
        },
        exact: (q, _qn, v, at) => {
          let s = 0;
          for (let i = 0; i < f; i++) {
            const t = fround(q[i]! - v[at + i]!);
            s = fround(s + fround(t * t));
          }
          return fround(Math.sqrt(s > 0 ? s : 0));
        },
        rankOf: (d) => d * d,
      };
    case 'manhattan':
      return {
        norm: () => 0,
        rank: (q, _qn, v, at) => {
          let s = 0;
          for (let i = 0; i < f; i++) s += Math.abs(q[i]! - v[at + i]!);
          return s;
        },
        exact: (q, _qn, v, at) => {
          let s = 0;
          for (let i = 0; i < f; i++) s = fround(s + Math.abs(fround(q[i]! - v[at + i]!)));
          return s > 0 ? s : 0;
        },
        rankOf: (d) => d,
      };
    case 'dot':
      return {
        norm: () => 0,
        rank: (q, _qn, v, at) => -dotFast(q, v, at),
        exact: (q, _qn, v, at) => dotExact(q, 0, v, at),
        rankOf: (d) => -d,
      };
    case 'hamming':
      return {
        norm: () => 0,
        rank: (q, _qn, v, at) => {
          let s = 0;
          for (let i = 0; i < f; i++) if (q[i]! > 0.5 !== v[at + i]! > 0.5) s++;
          return s;
        },
        exact: (q, _qn, v, at) => {
          let s = 0;
          for (let i = 0; i < f; i++) if (q[i]! > 0.5 !== v[at + i]! > 0.5) s++;
          return s;
        },
        rankOf: (d) => d,
      };
  }
}

/** Orders two reported distances of `metric`: negative when `a` is nearer. */
export function compareDistances(metric: MetricName, a: number, b: number): number {
  return metric === 'dot' ? b - a : a - b;
}

/** Whether a reported distance passes maxDistance (dot: an inner product of at least maxDistance). */
export function withinDistance(metric: MetricName, d: number, maxDistance: number): boolean {
  return metric === 'dot' ? d >= maxDistance : d <= maxDistance;
}
