import type { TwoMeansKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { Metric } from './metric.ts';

const ITERATIONS = 200;
const fround = Math.fround;

/** The hooks two-means needs beyond the Metric interface. */
export interface TwoMeansPolicy {
  /** Whether centroids live on the unit sphere (angular, dot): items are normalised before averaging. */
  readonly cosine: boolean;
  /** Normalises a centroid in place (only called when `cosine`). */
  normalizeCentroid(c: Records, ci: number): void;
  /** How the refinement kernel measures and moves centroids. */
  readonly twoMeansKind: TwoMeansKind;
}

/**
 * Annoy's two_means: picks two distinct random items as centroids and refines them with 200
 * single-item updates drawn at random, leaving them in records 0 (p) and 1 (q) of `centroids`.
 * The draw order and the float32 rounding follow Annoy exactly, so seeded builds are reproducible
 * and match Annoy's scalar build byte for byte. The 200 draws go into the batch window first (they
 * never depend on the distances), then one kernel call runs the whole refinement.
 */
export function twoMeans(
  metric: Metric & TwoMeansPolicy, store: Records, ids: Int32Array, lo: number, hi: number,
  rng: Kiss64, centroids: Records, batch: Batch,
): void {
  const count = hi - lo;
  const i = rng.index(count);
  let j = rng.index(count - 1);
  if (j >= i) j++;
  centroids.copyRecord(ids[lo + i], 0, store);
  centroids.copyRecord(ids[lo + j], 1, store);
  if (metric.cosine) {
    metric.normalizeCentroid(centroids, 0);
    metric.normalizeCentroid(centroids, 1);
  }
  metric.initRecord(centroids, 0);
  metric.initRecord(centroids, 1);

  const picks = store.arena.i32, at = batch.idsPtr >>> 2;
  for (let l = 0; l < ITERATIONS; l++) picks[at + l] = ids[lo + rng.index(count)];
  const off = 4 * metric.vectorWord;
  store.arena.kernels.twoMeansRefine(
    metric.twoMeansKind, centroids.ptr(0) + off, centroids.ptr(1) + off, store.byteOffset, store.recordBytes, off,
    batch.idsPtr, ITERATIONS, metric.vectorWords, centroids.ptr(2),
  );
}

/** Writes p − q (the vectors of centroid records 0 and 1) into the plane of record `oi` of `out`. */
export function subtractCentroids(metric: Metric, centroids: Records, out: Records, oi: number): void {
  const c = centroids.arena.f32;
  const f = metric.vectorWords;
  const pw = centroids.word(0) + metric.vectorWord, qw = centroids.word(1) + metric.vectorWord;
  const ow = out.word(oi) + metric.vectorWord;
  for (let z = 0; z < f; z++) c[ow + z] = c[pw + z] - c[qw + z];
}

/** Scales the vector of record `i` to unit length (Annoy's Base::normalize), if it is not zero. */
export function normalizeVector(metric: Metric, store: Records, i: number): void {
  const p = store.ptr(i) + 4 * metric.vectorWord;
  const f = metric.vectorWords;
  const norm = fround(Math.sqrt(store.arena.kernels.dotExact(p, p, f)));
  if (norm > 0) {
    const v = store.arena.f32, w = p >>> 2;
    for (let z = 0; z < f; z++) v[w + z] = v[w + z] / norm;
  }
}
