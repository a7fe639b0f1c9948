import { dot } from '../kernels/scalar.ts';
import { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { MetricName } from './metric.ts';

/**
 * What the four float32 metrics (angular, euclidean, manhattan, dot) share: items stored as
 * float32 components, hyperplane splits with random tie-breaking, +∞ as the queue's start.
 */
export abstract class FloatMetric {
  abstract readonly name: MetricName;
  readonly f: number;
  readonly vectorWords: number;
  readonly pqInitial = Infinity;
  abstract readonly vectorWord: number;
  /** Scratch records for two-means centroids (p and q). */
  protected centroidsCache: Records | null = null;

  constructor(f: number) {
    this.f = f;
    this.vectorWords = f;
  }

  abstract margin(node: Records, ni: number, query: Records, qi: number): number;
  abstract initRecord(store: Records, id: number): void;

  protected centroids(recordBytes: number): Records {
    return (this.centroidsCache ??= new Records(recordBytes, 2));
  }

  writeItem(store: Records, id: number, vector: ArrayLike<number>): void {
    store.zeroRecord(id);
    const base = id * store.recordWords;
    store.i32[base] = 1;
    store.f32.set(vector, base + this.vectorWord);
    this.initRecord(store, id);
  }

  readItem(store: Records, id: number): number[] {
    const w = id * store.recordWords + this.vectorWord;
    return Array.from(store.f32.subarray(w, w + this.f));
  }

  prepareBuild(_store: Records, _nItems: number): void {}

  pqDistance(parent: number, margin: number, child: number): number {
    const m = child === 1 ? margin : -margin;
    return m < parent ? m : parent;
  }

  side(plane: Records, pi: number, store: Records, item: number, rng: Kiss64): number {
    const m = this.margin(plane, pi, store, item);
    if (m !== 0) return m > 0 ? 1 : 0;
    return rng.flip();
  }

  clearPlane(out: Records, oi: number): void {
    const w = oi * out.recordWords + this.vectorWord;
    out.f32.fill(0, w, w + this.f);
  }

  checkSplit(): string | null {
    return null;
  }

  /** dot(plane vector, query vector) in Annoy's float32 rounding. */
  protected planeDot(node: Records, ni: number, query: Records, qi: number): number {
    return dot(node.f32, ni * node.recordWords + this.vectorWord, query.f32, qi * query.recordWords + this.vectorWord, this.f);
  }
}
