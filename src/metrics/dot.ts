import { dot } from '../kernels/scalar.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { FloatMetric } from './float-base.ts';
import { layout, type Metric } from './metric.ts';
import { subtractCentroids, twoMeans, type TwoMeansPolicy } from './two-means.ts';

const fround = Math.fround;
const DOT_FACTOR = 3;

/**
 * Maximum inner product, reduced to angular search (Bachrach et al. 2014) the way Annoy 1.17.x
 * does it: at build time every item gets a hidden extra component (`dot_factor`) that brings all
 * items to the same length; splits are unit vectors in f + 1 dimensions. Distances use only the
 * f real components; callers see the inner product itself (larger = closer).
 * Record: n_descendants | children[0] | children[1] | dot_factor | v.
 */
export class Dot extends FloatMetric implements Metric, TwoMeansPolicy {
  readonly name = 'dot' as const;
  readonly recordBytes: number;
  readonly childrenWord: number;
  readonly leafCapacity: number;
  readonly vectorWord = 4;
  readonly cosine = true;

  constructor(f: number) {
    super(f);
    ({ recordBytes: this.recordBytes, childrenWord: this.childrenWord, leafCapacity: this.leafCapacity } = layout(16 + 4 * f, 1));
  }

  initRecord(): void {}

  override prepareBuild(store: Records, nItems: number): void {
    const v = store.f32, rw = store.recordWords, f = this.f;
    let max = 0;
    for (let i = 0; i < nItems; i++) {
      const w = i * rw;
      let norm = fround(Math.sqrt(dot(v, w + 4, v, w + 4, f)));
      if (Number.isNaN(norm)) norm = 0;
      v[w + DOT_FACTOR] = norm;
      if (norm > max) max = norm;
    }
    const max2 = fround(max * max);
    for (let i = 0; i < nItems; i++) {
      const w = i * rw;
      const n = v[w + DOT_FACTOR];
      const diff = fround(max2 - fround(n * n));
      v[w + DOT_FACTOR] = Math.sqrt(diff > 0 ? diff : 0);
    }
  }

  distance(a: Records, ai: number, b: Records, bi: number): number {
    return -dot(a.f32, ai * a.recordWords + 4, b.f32, bi * b.recordWords + 4, this.f);
  }

  normalizedDistance(d: number): number {
    return -d;
  }

  /** Annoy 1.17.x adds the node's own dot_factor squared (not times the query's zero extra component). */
  margin(node: Records, ni: number, query: Records, qi: number): number {
    const df = node.f32[ni * node.recordWords + DOT_FACTOR];
    return fround(this.planeDot(node, ni, query, qi) + fround(df * df));
  }

  /** Unit length over the f components and dot_factor together; the square and the sum in double, as in 1.17.x. */
  normalizeCentroid(c: Records, ci: number): void {
    const v = c.f32, w = ci * c.recordWords;
    const df = v[w + DOT_FACTOR];
    const norm = fround(Math.sqrt(dot(v, w + 4, v, w + 4, this.f) + df * df));
    if (norm > 0) {
      for (let z = 0; z < this.f; z++) v[w + 4 + z] = v[w + 4 + z] / norm;
      v[w + DOT_FACTOR] = df / norm;
    }
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number): void {
    const centroids = this.centroids(this.recordBytes);
    twoMeans(this, store, ids, lo, hi, rng, centroids);
    subtractCentroids(this, centroids, out, oi);
    const c = centroids.f32;
    out.f32[oi * out.recordWords + DOT_FACTOR] = c[DOT_FACTOR] - c[centroids.recordWords + DOT_FACTOR];
    this.normalizeCentroid(out, oi);
  }
}
