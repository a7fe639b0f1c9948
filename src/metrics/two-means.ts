import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { Metric } from './metric.ts';

const ITERATIONS = 200;
const scratch = new Float64Array(3);
const fround = Math.fround;

/** The hooks two-means needs beyond the Metric interface. */
export interface TwoMeansPolicy {
  /** Whether centroids live on the unit sphere (angular, dot): items are normalised before averaging. */
  readonly cosine: boolean;
  /** Normalises a centroid in place (only called when `cosine`). */
  normalizeCentroid(c: Records, ci: number): void;
  /**
   * Item k's exact distances to centroids 0 and 1 and (when `cosine`) its norm, into `out`
   * (centroid record 2 is scratch for the kernels).
   */
  centroidDistances(centroids: Records, store: Records, k: number, out: Float64Array): void;
}

/**
 * Annoy's two_means: picks two distinct random items as centroids and refines them with 200
 * single-item updates drawn at random, leaving them in records 0 (p) and 1 (q) of `centroids`.
 * The draw order and the float32 rounding follow Annoy exactly, so seeded builds are reproducible
 * and match Annoy's scalar build byte for byte.
 */
export function twoMeans(
  metric: Metric & TwoMeansPolicy, store: Records, ids: Int32Array, lo: number, hi: number,
  rng: Kiss64, centroids: Records,
): void {
  const count = hi - lo;
  const f = metric.vectorWords;
  const vw = metric.vectorWord;
  const kernels = store.arena.kernels;
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

  let ic = 1, jc = 1;
  const out = scratch;
  for (let l = 0; l < ITERATIONS; l++) {
    const k = ids[lo + rng.index(count)];
    metric.centroidDistances(centroids, store, k, out);
    const di = fround(ic * out[0]);
    const dj = fround(jc * out[1]);
    const xp = store.ptr(k) + 4 * vw;
    const norm = metric.cosine ? out[2] : 1;
    if (!(norm > 0)) continue;
    if (di < dj) {
      kernels.centroidUpdate(centroids.ptr(0) + 4 * vw, xp, f, ic, norm);
      metric.initRecord(centroids, 0);
      ic++;
    } else if (dj < di) {
      kernels.centroidUpdate(centroids.ptr(1) + 4 * vw, xp, f, jc, norm);
      metric.initRecord(centroids, 1);
      jc++;
    }
  }
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

/**
 * Exact distances from item k to centroids 0 and 1 with a paired kernel, written to centroid
 * record 2; returns the word index of the first (the second follows). No view is created: this
 * runs 200 times per split.
 */
export function pairDistances(
  kernel: (a: number, b: number, x: number, n: number, out: number) => void,
  metric: Metric, centroids: Records, store: Records, k: number,
): number {
  const off = 4 * metric.vectorWord;
  const out = centroids.ptr(2);
  kernel(centroids.ptr(0) + off, centroids.ptr(1) + off, store.ptr(k) + off, metric.vectorWords, out);
  return out >>> 2;
}
