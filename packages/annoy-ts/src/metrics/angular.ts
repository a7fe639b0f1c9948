import { DistanceKind, TwoMeansKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { FloatMetric } from './float-base.ts';
import type { Metric } from './metric.ts';
import { ANGULAR_RECORD } from './record-fields.ts';
import { normalizeVector, subtractCentroids, twoMeans, type TwoMeansPolicy } from './two-means.ts';

const fround = Math.fround;
/** Word offset of an item's stored ‖v‖² (in children[0]'s bytes). */
const NORM = ANGULAR_RECORD.norm.offset >>> 2;

/**
 * Cosine distance, returned as the Euclidean distance of the normalised vectors: √(2 − 2·cos).
 * Record: ANGULAR_RECORD (n_descendants | children[0], or an item's squared norm | children[1] | v).
 */
export class Angular extends FloatMetric implements Metric, TwoMeansPolicy {
  readonly name = 'angular' as const;
  readonly cosine = true;
  readonly distanceKind = DistanceKind.Angular;
  readonly twoMeansKind = TwoMeansKind.Angular;

  constructor(f: number) {
    super(f, ANGULAR_RECORD);
  }

  initRecord(store: Records, id: number): void {
    const p = this.vec(store, id);
    store.arena.f32[store.word(id) + NORM] = store.arena.kernels.dotExact(p, p, this.f);
  }

  exactDistance(a: Records, ai: number, b: Records, bi: number): number {
    const pa = this.vec(a, ai), pb = this.vec(b, bi);
    return this.combine(a, ai, b, bi, a.arena.kernels.dotExact(pa, pb, this.f));
  }

  /** 2 − 2·cos from the dot product and the records' squared norms, rounded as Annoy rounds it. */
  private combine(a: Records, ai: number, b: Records, bi: number, pq: number): number {
    const f32 = a.arena.f32, k = a.arena.kernels;
    // A stored norm of 0 means "not stored" (files from old Annoy versions): recompute it.
    const pp = f32[a.word(ai) + NORM] || k.dotExact(this.vec(a, ai), this.vec(a, ai), this.f);
    const qq = f32[b.word(bi) + NORM] || k.dotExact(this.vec(b, bi), this.vec(b, bi), this.f);
    return this.fromDot(pp, qq, pq);
  }

  /** 2 − 2·cos from squared norms and the dot product, rounded as Annoy rounds it. */
  private fromDot(pp: number, qq: number, pq: number): number {
    const ppqq = fround(pp * qq);
    return ppqq > 0 ? fround(2.0 - (2.0 * pq) / fround(Math.sqrt(ppqq))) : 2.0;
  }

  normalizedDistance(d: number): number {
    return fround(Math.sqrt(d > 0 ? d : 0));
  }

  protected marginFromDot(_node: Records, _ni: number, d: number): number {
    return d;
  }

  normalizeCentroid(c: Records, ci: number): void {
    normalizeVector(this, c, ci);
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number, centroids: Records, batch: Batch): void {
    twoMeans(this, store, ids, lo, hi, rng, centroids, batch);
    subtractCentroids(this, centroids, out, oi);
    normalizeVector(this, out, oi);
  }
}
