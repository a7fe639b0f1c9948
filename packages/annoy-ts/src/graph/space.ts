import { DistanceKind } from '../kernels/kernels.ts';
import type { Metric } from '../metrics/metric.ts';
import type { Records } from '../records.ts';
import type { GraphSpace } from './kernels.ts';

/**
 * The space the graph is built and searched in, for a metric's records: the same distance the
 * metric ranks by, except for dot, where the graph uses Annoy's own reduction of maximum inner
 * product to an angular problem — every item record carries an extra component (dot_factor, the
 * word just before the vector) that makes all items as long as the longest one, and the query's
 * extra component is 0. Between items, −(x·y + dx·dy) over the f + 1 components ranks like the
 * angular distance of those equal-length vectors; for a query it is exactly −q·x, the ranking
 * Annoy's dot search returns.
 *
 * `inv` is the byte offset of 1/|x| per item (angular), computed by inverseNorms.
 */
export function graphSpace(metric: Metric, store: Records, inv: number): GraphSpace {
  const kind = metric.distanceKind;
  const vectorByte = 4 * metric.vectorWord;
  const dot = kind === DistanceKind.Dot;
  return {
    kind,
    base: store.byteOffset,
    stride: store.recordBytes,
    off: dot ? vectorByte - 4 : vectorByte,
    n: dot ? metric.f + 1 : metric.kernelLength,
    f: metric.f,
    inv: kind === DistanceKind.Angular ? inv : 0,
  };
}

/** Whether the space needs the per-item inverse norms (angular). */
export function needsInverseNorms(metric: Metric): boolean {
  return metric.distanceKind === DistanceKind.Angular;
}

/**
 * Writes 1/|x| of items 0 … nItems − 1 as float32 at byte offset `out` (0 for holes and zero
 * vectors, which then rank as orthogonal to everything, as Annoy's angular distance has them).
 */
export function inverseNorms(metric: Metric, store: Records, nItems: number, out: number): void {
  const arena = store.arena, f32 = arena.f32, i32 = arena.i32, k = arena.kernels;
  const ow = out >>> 2, vb = 4 * metric.vectorWord;
  for (let i = 0; i < nItems; i++) {
    let inv = 0;
    if (i32[store.word(i)] === 1) {
      const p = store.ptr(i) + vb;
      const norm2 = k.dot(p, p, metric.f);
      inv = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
    }
    f32[ow + i] = inv;
  }
}
