import { dot } from '../kernels/scalar.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { FloatMetric } from './float-base.ts';
import { layout, type Metric } from './metric.ts';
import { normalizeVector, subtractCentroids, twoMeans, type TwoMeansPolicy } from './two-means.ts';

const fround = Math.fround;

/**
 * Cosine distance, returned as the Euclidean distance of the normalised vectors: √(2 − 2·cos).
 * Record: n_descendants | children[0] or the item's squared norm | children[1] | v.
 */
export class Angular extends FloatMetric implements Metric, TwoMeansPolicy {
  readonly name = 'angular' as const;
  readonly recordBytes: number;
  readonly childrenWord: number;
  readonly leafCapacity: number;
  readonly vectorWord = 3;
  readonly cosine = true;

  constructor(f: number) {
    super(f);
    ({ recordBytes: this.recordBytes, childrenWord: this.childrenWord, leafCapacity: this.leafCapacity } = layout(12 + 4 * f, 1));
  }

  initRecord(store: Records, id: number): void {
    const v = store.f32, w = id * store.recordWords;
    v[w + 1] = dot(v, w + 3, v, w + 3, this.f);
  }

  distance(a: Records, ai: number, b: Records, bi: number): number {
    const x = a.f32, y = b.f32, f = this.f;
    const xw = ai * a.recordWords, yw = bi * b.recordWords;
    // A stored norm of 0 means "not stored" (files from old Annoy versions): recompute it.
    const pp = x[xw + 1] || dot(x, xw + 3, x, xw + 3, f);
    const qq = y[yw + 1] || dot(y, yw + 3, y, yw + 3, f);
    const pq = dot(x, xw + 3, y, yw + 3, f);
    const ppqq = fround(pp * qq);
    if (ppqq > 0) return fround(2.0 - (2.0 * pq) / fround(Math.sqrt(ppqq)));
    return 2.0;
  }

  normalizedDistance(d: number): number {
    return fround(Math.sqrt(d > 0 ? d : 0));
  }

  margin(node: Records, ni: number, query: Records, qi: number): number {
    return this.planeDot(node, ni, query, qi);
  }

  normalizeCentroid(c: Records, ci: number): void {
    normalizeVector(this, c, ci);
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number): void {
    const centroids = this.centroids(this.recordBytes);
    twoMeans(this, store, ids, lo, hi, rng, centroids);
    subtractCentroids(this, centroids, out, oi);
    normalizeVector(this, out, oi);
  }
}
