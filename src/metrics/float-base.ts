import type { Records } from '../records.ts';
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

  constructor(f: number) {
    this.f = f;
    this.vectorWords = f;
  }

  /** The build's margin (exact rounding); the search's `margin` may round differently. */
  abstract exactMargin(node: Records, ni: number, query: Records, qi: number): number;
  abstract initRecord(store: Records, id: number): void;

  writeItem(store: Records, id: number, vector: ArrayLike<number>): void {
    store.zeroRecord(id);
    const w = store.word(id);
    store.arena.i32[w] = 1;
    store.arena.f32.set(vector, w + this.vectorWord);
    this.initRecord(store, id);
  }

  readItem(store: Records, id: number): number[] {
    const w = store.word(id) + this.vectorWord;
    return Array.from(store.arena.f32.subarray(w, w + this.f));
  }

  prepareBuild(_store: Records, _nItems: number): void {}

  pqDistance(parent: number, margin: number, child: number): number {
    const m = child === 1 ? margin : -margin;
    return m < parent ? m : parent;
  }

  side(plane: Records, pi: number, store: Records, item: number, rng: Kiss64): number {
    const m = this.exactMargin(plane, pi, store, item);
    if (m !== 0) return m > 0 ? 1 : 0;
    return rng.flip();
  }

  clearPlane(out: Records, oi: number): void {
    const w = out.word(oi) + this.vectorWord;
    out.arena.f32.fill(0, w, w + this.f);
  }

  checkSplit(): string | null {
    return null;
  }

  /** Byte offset of record i's vector. */
  protected vec(r: Records, i: number): number {
    return r.ptr(i) + 4 * this.vectorWord;
  }
}
