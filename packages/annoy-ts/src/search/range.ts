import { AnnoyArgumentError } from '../errors.ts';
import { describe } from '../metrics/index.ts';
import type { Metric } from '../metrics/metric.ts';

/**
 * A radius search's bound, in the metric's internal distance (what exactDistance and the kernels
 * compute): an item is in range exactly when its internal distance is ≤ `internal`, which is the
 * same as its reported distance being ≤ maxDistance — or, for a metric whose "distance" is a
 * similarity (dot: the inner product, larger = nearer), ≥ maxDistance.
 */
export interface DistanceBound {
  readonly maxDistance: number;
  readonly internal: number;
}

/**
 * Checks `maxDistance` for `metric` and finds its internal bound: the largest float32 internal
 * distance whose reported distance (metric.normalizedDistance, as queries report it) is within
 * it. Derived from normalizedDistance itself (a monotone function; decreasing only where the
 * reported value is a similarity), so a returned distance never lies beyond maxDistance by a
 * rounding error.
 */
export function distanceBound(metric: Metric, maxDistance: unknown): DistanceBound {
  const similarity = metric.normalizedDistance(1) < metric.normalizedDistance(0);
  if (typeof maxDistance !== 'number' || Number.isNaN(maxDistance)) {
    throw new AnnoyArgumentError(`maxDistance must be a number, got ${describe(maxDistance)}`);
  }
  if (!similarity && maxDistance < 0) {
    throw new AnnoyArgumentError(`maxDistance must not be negative (${metric.name} distances are ≥ 0), got ${maxDistance}`);
  }
  const within = similarity
    ? (d: number) => metric.normalizedDistance(d) >= maxDistance
    : (d: number) => metric.normalizedDistance(d) <= maxDistance;
  return { maxDistance, internal: largestFloat32Where(within) };
}

/**
 * Binary search over the float32 values in increasing order for the last one where `holds` is true,
 * given that it holds on a prefix of them (−Infinity when it holds nowhere, Infinity everywhere).
 */
function largestFloat32Where(holds: (x: number) => boolean): number {
  if (holds(Infinity)) return Infinity;
  // Float32 values ordered as integers: the bit pattern for x ≥ 0, its complement (sign kept) below.
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  const value = (k: number): number => {
    u[0] = k >= 0 ? k : ~k >>> 0 | 0x80000000;
    return f[0];
  };
  // -Infinity is order key ~0xff800000 … as int: keys run from −0x7f800001 (−∞) to 0x7f800000 (+∞).
  let lo = -0x7f800001, hi = 0x7f800000;
  if (!holds(value(lo))) return -Infinity;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(value(mid))) lo = mid;
    else hi = mid;
  }
  return value(lo);
}
