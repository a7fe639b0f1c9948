import { DistanceKind, TwoMeansKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { FloatMetric } from './float-base.ts';
import type { Metric } from './metric.ts';
import { MINKOWSKI_RECORD } from './record-fields.ts';
import { normalizeVector, subtractCentroids, twoMeans, type TwoMeansPolicy } from './two-means.ts';

const fround = Math.fround;
/** Word offsets of the plane's offset a and of the vector. */
const A = MINKOWSKI_RECORD.a.offset >>> 2;
const VECTOR = MINKOWSKI_RECORD.vector.offset >>> 2;

/**
 * Euclidean and Manhattan share Annoy's Minkowski record: splits are affine planes
 * (unit normal v, offset a) through the midpoint of the two-means centroids.
 * Record: MINKOWSKI_RECORD (n_descendants | a | children[0] | children[1] | v).
 */
abstract class Minkowski extends FloatMetric implements Metric, TwoMeansPolicy {
  abstract override readonly name: 'euclidean' | 'manhattan';
  readonly cosine = false;

  constructor(f: number) {
    super(f, MINKOWSKI_RECORD);
  }

  abstract exactDistance(a: Records, ai: number, b: Records, bi: number): number;
  abstract normalizedDistance(d: number): number;
  abstract readonly twoMeansKind: typeof TwoMeansKind.Euclidean | typeof TwoMeansKind.Manhattan;

  initRecord(): void {}

  normalizeCentroid(): void {}

  protected marginFromDot(node: Records, ni: number, d: number): number {
    return fround(node.arena.f32[node.word(ni) + A] + d);
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number, centroids: Records, batch: Batch): void {
    twoMeans(this, store, ids, lo, hi, rng, centroids, batch);
    subtractCentroids(this, centroids, out, oi);
    normalizeVector(this, out, oi);
    const c = centroids.arena.f32;
    const pw = centroids.word(0) + VECTOR, qw = centroids.word(1) + VECTOR, ow = out.word(oi);
    let a = 0;
    for (let z = 0; z < this.f; z++) a = fround(a + fround(fround(-c[ow + VECTOR + z] * fround(c[pw + z] + c[qw + z])) / 2));
    c[ow + A] = a;
  }
}

export class Euclidean extends Minkowski implements Metric {
  readonly name = 'euclidean' as const;
  readonly distanceKind = DistanceKind.Euclidean;
  readonly twoMeansKind = TwoMeansKind.Euclidean;

  exactDistance(a: Records, ai: number, b: Records, bi: number): number {
    return a.arena.kernels.euclideanExact(this.vec(a, ai), this.vec(b, bi), this.f);
  }

  normalizedDistance(d: number): number {
    return fround(Math.sqrt(d > 0 ? d : 0));
  }
}

export class Manhattan extends Minkowski implements Metric {
  readonly name = 'manhattan' as const;
  readonly distanceKind = DistanceKind.Manhattan;
  readonly twoMeansKind = TwoMeansKind.Manhattan;

  exactDistance(a: Records, ai: number, b: Records, bi: number): number {
    return a.arena.kernels.manhattanExact(this.vec(a, ai), this.vec(b, bi), this.f);
  }

  normalizedDistance(d: number): number {
    return d > 0 ? d : 0;
  }
}
