import { DistanceKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { Metric } from './metric.ts';
import { HAMMING_RECORD, measureRecord } from './record-fields.ts';

const RANDOM_TRIES = 20;
/** Byte and word offset of the vector (a split's tested bit number is its first word). */
const VECTOR_BYTE = HAMMING_RECORD.vector.offset;
const VECTOR = VECTOR_BYTE >>> 2;

/**
 * Hamming distance over bit vectors. As in Annoy's Python module, `f` counts bits and each value
 * > 0.5 becomes a 1; the record holds W = ⌈f/64⌉ 64-bit words (element j → bit j mod 64 of word
 * ⌊j/64⌋), read here as little-endian 32-bit halves. A split tests one bit, numbered from the
 * most significant end of its word. Record: HAMMING_RECORD (n_descendants | children[0] | children[1] | pad | words).
 */
export class Hamming implements Metric {
  readonly name = 'hamming' as const;
  readonly f: number;
  readonly fields = HAMMING_RECORD;
  readonly words64: number;
  readonly recordBytes: number;
  readonly childrenWord: number;
  readonly leafCapacity: number;
  readonly vectorWord: number;
  readonly vectorWords: number;
  /** Priorities count down from here, one per bit the query disagrees with on the way down. */
  readonly pqInitial = Number.MAX_SAFE_INTEGER;
  readonly distanceKind = DistanceKind.Hamming;
  get kernelLength(): number {
    return this.words64;
  }

  constructor(f: number) {
    this.f = f;
    ({
      recordBytes: this.recordBytes, childrenWord: this.childrenWord, leafCapacity: this.leafCapacity,
      vectorWord: this.vectorWord, vectorWords: this.vectorWords, vectorElements: this.words64,
    } = measureRecord(HAMMING_RECORD, f));
  }

  writeItem(store: Records, id: number, vector: ArrayLike<number>): void {
    store.zeroRecord(id);
    const w = store.word(id);
    const u = store.arena.u32;
    store.arena.i32[w] = 1;
    for (let e = 0; e < this.f; e++) {
      if (vector[e] > 0.5) u[w + VECTOR + (e >>> 5)] |= 1 << (e & 31);
    }
  }

  readItem(store: Records, id: number): number[] {
    const w = store.word(id) + VECTOR;
    const u = store.arena.u32;
    const out = new Array<number>(this.f);
    for (let e = 0; e < this.f; e++) out[e] = (u[w + (e >>> 5)] >>> (e & 31)) & 1;
    return out;
  }

  initRecord(): void {}

  prepareBuild(): void {}

  distances(query: Records, store: Records, batch: Batch, count: number): void {
    store.arena.kernels.distancesMany(
      DistanceKind.Hamming, query.ptr(0) + VECTOR_BYTE, store.byteOffset, store.recordBytes, VECTOR_BYTE, batch.idsPtr, count, batch.outPtr, this.words64,
    );
  }

  exactDistance(a: Records, ai: number, b: Records, bi: number): number {
    return a.arena.kernels.hamming(a.ptr(ai) + VECTOR_BYTE, b.ptr(bi) + VECTOR_BYTE, this.words64);
  }

  normalizedDistance(d: number): number {
    return d;
  }

  /** The query's value (0 or 1) of the bit a split tests. */
  margin(node: Records, ni: number, query: Records, qi: number): number {
    return this.bit(node.arena.u32[node.word(ni) + VECTOR], query, qi);
  }

  private bit(b: number, store: Records, i: number): number {
    // Bit 63 − (b mod 64) of 64-bit word ⌊b/64⌋, found in the low or high 32-bit half.
    const k = 63 - (b & 63);
    return (store.arena.u32[store.word(i) + VECTOR + 2 * (b >>> 6) + (k >>> 5)] >>> (k & 31)) & 1;
  }

  pqDistance(parent: number, margin: number, child: number): number {
    return margin === child ? parent : parent - 1;
  }

  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number): void {
    const dim = 64 * this.words64;
    const count = hi - lo;
    const w = out.word(oi) + VECTOR;
    const u = out.arena.u32;
    const splits = (b: number): boolean => {
      let ones = 0;
      for (let i = lo; i < hi; i++) ones += this.bit(b, store, ids[i]);
      return ones > 0 && ones < count;
    };
    u[w + 1] = 0;
    for (let t = 0; t < RANDOM_TRIES; t++) {
      u[w] = rng.index(dim);
      if (splits(u[w])) return;
    }
    for (let b = 0; b < dim; b++) {
      u[w] = b;
      if (splits(b)) return;
    }
  }

  assignSides(plane: Records, store: Records, ids: Int32Array, lo: number, hi: number, sides: Uint8Array): number {
    const b = plane.arena.u32[plane.word(0) + VECTOR];
    let left = 0;
    for (let i = lo; i < hi; i++) {
      const side = this.bit(b, store, ids[i]);
      sides[i] = side;
      if (side === 0) left++;
    }
    return left;
  }

  clearPlane(out: Records, oi: number): void {
    const w = out.word(oi) + VECTOR;
    out.arena.u32.fill(0, w, w + this.vectorWords);
  }

  checkSplit(store: Records, id: number): string | null {
    const w = store.word(id) + VECTOR;
    const b = store.arena.u32[w], high = store.arena.u32[w + 1];
    if (high !== 0 || b >= 64 * this.words64) {
      return `split record ${id} tests bit ${high === 0 ? b : 'beyond 2^32'}, but vectors have only ${64 * this.words64} bits`;
    }
    return null;
  }
}
