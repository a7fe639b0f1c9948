// An index segment: an immutable annoy-ts index over some of the collection's items (position p of
// the index holds the item with id ids[p]; ids ascend), with a live flag per position — cleared
// when the item is deleted or replaced after the segment was built.
import { AllowedIds, type AnnoyIndex, type Filter } from 'annoy-ts';
import { findId, type Hit, type ItemHolder, type ItemInfo } from './items.ts';
import { searchIndex } from './search.ts';

export class Segment implements ItemHolder {
  /** The segment's file stem in a collection folder ('' for in-memory collections). */
  readonly name: string;
  readonly index: AnnoyIndex;
  readonly ids: Float64Array;
  readonly infos: ItemInfo[];
  readonly live: Uint8Array;
  liveCount: number;
  /** The live positions as a bitset (bit p & 31 of word p >>> 5), kept with `live`. */
  readonly liveBits: Uint32Array;
  /** liveBits as the library's allowed-id set, rebuilt after deletions (null: stale). */
  private allowedLive: AllowedIds | null = null;

  constructor(name: string, index: AnnoyIndex, ids: Float64Array, infos: ItemInfo[], live?: Uint8Array) {
    this.name = name;
    this.index = index;
    this.ids = ids;
    this.infos = infos;
    this.live = live ?? new Uint8Array(ids.length).fill(1);
    let n = 0;
    for (let p = 0; p < this.live.length; p++) n += this.live[p]!;
    this.liveCount = n;
    this.liveBits = new Uint32Array(Math.ceil(ids.length / 32));
    for (let p = 0; p < this.live.length; p++) if (this.live[p]) this.liveBits[p >>> 5]! |= 1 << (p & 31);
  }

  get count(): number {
    return this.ids.length;
  }

  get maxId(): number {
    return this.ids.length === 0 ? -1 : this.ids[this.ids.length - 1]!;
  }

  find(id: number): number {
    return findId(this.ids, this.ids.length, id);
  }

  kill(pos: number): void {
    if (this.live[pos]) {
      this.live[pos] = 0;
      this.liveBits[pos >>> 5]! &= ~(1 << (pos & 31));
      this.liveCount--;
      this.allowedLive = null;
    }
  }

  vectorAt(pos: number): number[] {
    return this.index.getItemVector(pos);
  }

  /** Live positions as an ascending list. */
  livePositions(): Int32Array {
    const out = new Int32Array(this.liveCount);
    let k = 0;
    for (let p = 0; p < this.live.length; p++) if (this.live[p]) out[k++] = p;
    return out;
  }

  /**
   * The n nearest live items allowed by `allowed` (null: every live item; a predicate or a set must
   * allow live positions only), through the index's filtered search — deleted positions are
   * filtered out the same way.
   */
  search(query: Float32Array, n: number, searchK: number, allowed: Filter | null, maxDistance: number | null): Hit[] {
    if (this.liveCount === 0) return [];
    if (allowed === null && this.liveCount < this.count && Number.isFinite(n)) {
      // A few deleted items: the plain search (faster than a filtered one) asked for a few more
      // than n, the deleted dropped. Enough live ones remain almost always; if not, the filtered search
      // (fewer than `want` found can be the searchK budget ending, not the index: only a search that
      // returned every position is complete).
      const dead = this.count - this.liveCount;
      const want = n + Math.ceil((3 * n * dead) / this.count) + 2;
      if (dead <= this.count / 8) {
        const { ids, distances } = searchIndex(this.index, query, want, searchK, null, maxDistance);
        const hits = this.hits(ids, distances, this.live);
        if (hits.length >= n || ids.length === this.count) return hits.slice(0, n);
      }
    }
    let filter = allowed;
    if (filter === null && this.liveCount < this.count) filter = this.allowedLive ??= AllowedIds.fromBits(this.liveBits, this.count);
    const { ids, distances } = searchIndex(this.index, query, n, searchK, filter, maxDistance);
    return this.hits(ids, distances, null);
  }

  private hits(ids: number[], distances: number[], live: Uint8Array | null): Hit[] {
    const hits: Hit[] = [];
    for (let j = 0; j < ids.length; j++) {
      const p = ids[j]!;
      if (live === null || live[p]) hits.push({ info: this.infos[p]!, distance: distances[j]!, part: this, pos: p });
    }
    return hits;
  }
}
