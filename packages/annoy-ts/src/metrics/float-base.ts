import type { DistanceKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { MetricName } from './metric.ts';
import { measureRecord, type RecordFields } from './record-fields.ts';

/**
 * What the four float32 metrics (angular, euclidean, manhattan, dot) share: items stored as
 * float32 components, hyperplane splits with random tie-breaking, +∞ as the queue's start.
 */
export abstract class FloatMetric {
  abstract readonly name: MetricName;
  readonly f: number;
  readonly fields: RecordFields;
  readonly recordBytes: number;
  readonly childrenWord: number;
  readonly leafCapacity: number;
  readonly vectorWord: number;
  readonly vectorWords: number;
  readonly pqInitial = Infinity;

  constructor(f: number, fields: RecordFields) {
    this.f = f;
    this.fields = fields;
    ({
      recordBytes: this.recordBytes, childrenWord: this.childrenWord, leafCapacity: this.leafCapacity,
      vectorWord: this.vectorWord, vectorWords: this.vectorWords,
    } = measureRecord(fields, f));
  }

  abstract readonly distanceKind: DistanceKind;
  get kernelLength(): number {
    return this.f;
  }
  /** The margin of a point whose dot product with the plane's vector is `d` (adds the plane's offset, if any). */
  protected abstract marginFromDot(node: Records, ni: number, d: number): number;
  abstract initRecord(store: Records, id: number): void;

  margin(node: Records, ni: number, query: Records, qi: number): number {
    return this.marginFromDot(node, ni, node.arena.kernels.dot(this.vec(node, ni), this.vec(query, qi), this.f));
  }

  distances(query: Records, store: Records, batch: Batch, count: number): void {
    store.arena.kernels.distancesMany(
      this.distanceKind, this.vec(query, 0), store.byteOffset, store.recordBytes, 4 * this.vectorWord,
      batch.idsPtr, count, batch.outPtr, this.f,
    );
  }

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

  assignSides(plane: Records, store: Records, ids: Int32Array, lo: number, hi: number, sides: Uint8Array, rng: Kiss64, batch: Batch): number {
    const arena = store.arena;
    const planeVector = this.vec(plane, 0);
    let left = 0;
    for (let start = lo; start < hi; start += batch.capacity) {
      const count = Math.min(batch.capacity, hi - start);
      arena.i32.set(ids.subarray(start, start + count), batch.idsPtr >>> 2);
      arena.kernels.dotExactMany(planeVector, store.byteOffset, store.recordBytes, 4 * this.vectorWord, batch.idsPtr, count, batch.outPtr, this.f);
      const out = arena.f32, ow = batch.outPtr >>> 2;
      for (let j = 0; j < count; j++) {
        const m = this.marginFromDot(plane, 0, out[ow + j]);
        const side = m !== 0 ? (m > 0 ? 1 : 0) : rng.flip();
        sides[start + j] = side;
        if (side === 0) left++;
      }
    }
    return left;
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
