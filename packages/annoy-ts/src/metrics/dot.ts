import { DistanceKind, TwoMeansKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { FloatMetric } from './float-base.ts';
import type { Metric } from './metric.ts';
import { DOT_RECORD } from './record-fields.ts';
import { subtractCentroids, twoMeans, type TwoMeansPolicy } from './two-means.ts';

const fround = Math.fround;
/** Word offsets of dot_factor and of the vector. */
const DOT_FACTOR = DOT_RECORD.dotFactor.offset >>> 2;
const VECTOR = DOT_RECORD.vector.offset >>> 2;

/**
 * Maximum inner product, reduced to angular search (Bachrach et al. 2014) the way Annoy 1.17.x
 * does it: at build time every item gets a hidden extra component (`dot_factor`) that brings all
 * items to the same length; splits are unit vectors in f + 1 dimensions. Distances use only the
 * f real components; callers see the inner product itself (larger = closer).
 * Record: DOT_RECORD (n_descendants | children[0] | children[1] | dot_factor | v).
 */
export class Dot extends FloatMetric implements Metric, TwoMeansPolicy {
  readonly name = 'dot' as const;
  readonly cosine = true;
  readonly distanceKind = DistanceKind.Dot;
  readonly twoMeansKind = TwoMeansKind.Dot;

  constructor(f: number) {
    super(f, DOT_RECORD);
  }

  initRecord(): void {}

  override prepareBuild(store: Records, nItems: number): void {
    const v = store.arena.f32, k = store.arena.kernels;
    let max = 0;
    for (let i = 0; i < nItems; i++) {
      const p = this.vec(store, i);
      let norm = fround(Math.sqrt(k.dotExact(p, p, this.f)));
      if (Number.isNaN(norm)) norm = 0;
      v[store.word(i) + DOT_FACTOR] = norm;
      if (norm > max) max = norm;
    }
    const max2 = fround(max * max);
    for (let i = 0; i < nItems; i++) {
      const w = store.word(i) + DOT_FACTOR;
      const n = v[w];
      const diff = fround(max2 - fround(n * n));
      v[w] = Math.sqrt(diff > 0 ? diff : 0);
    }
  }

  exactDistance(a: Records, ai: number, b: Records, bi: number): number {
    return -a.arena.kernels.dotExact(this.vec(a, ai), this.vec(b, bi), this.f);
  }

  normalizedDistance(d: number): number {
    return -d;
  }

  /** Annoy 1.17.x adds the node's own dot_factor squared (not times the query's zero extra component). */
  protected marginFromDot(node: Records, ni: number, d: number): number {
    const df = node.arena.f32[node.word(ni) + DOT_FACTOR];
    return fround(d + fround(df * df));
  }

  /** Unit length over the f components and dot_factor together; the square and the sum in double, as in 1.17.x. */
  normalizeCentroid(c: Records, ci: number): void {
    const v = c.arena.f32, w = c.word(ci);
    const p = this.vec(c, ci);
    const df = v[w + DOT_FACTOR];
    const norm = fround(Math.sqrt(c.arena.kernels.dotExact(p, p, this.f) + df * df));
    if (norm > 0) {
      for (let z = 0; z < this.f; z++) v[w + VECTOR + z] = v[w + VECTOR + z] / norm;
      v[w + DOT_FACTOR] = df / norm;
    }
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number, centroids: Records, batch: Batch): void {
    twoMeans(this, store, ids, lo, hi, rng, centroids, batch);
    subtractCentroids(this, centroids, out, oi);
    const c = centroids.arena.f32;
    c[out.word(oi) + DOT_FACTOR] = c[centroids.word(0) + DOT_FACTOR] - c[centroids.word(1) + DOT_FACTOR];
    this.normalizeCentroid(out, oi);
  }
}
