// An index segment: an immutable annoy-ts index over some of the collection's items (position p of
// the index holds the item with id ids[p]; ids ascend), with a live flag per position — cleared
// when the item is deleted or replaced after the segment was built.
import type { AnnoyIndex } from 'annoy-ts';
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
  /** Allows only live positions: the filter every search of a segment with deletions uses. */
  readonly isLive: (pos: number) => boolean;

  constructor(name: string, index: AnnoyIndex, ids: Float64Array, infos: ItemInfo[], live?: Uint8Array) {
    this.name = name;
    this.index = index;
    this.ids = ids;
    this.infos = infos;
    this.live = live ?? new Uint8Array(ids.length).fill(1);
    let n = 0;
    for (let p = 0; p < this.live.length; p++) n += this.live[p]!;
    this.liveCount = n;
    const flags = this.live;
    this.isLive = (pos) => flags[pos] === 1;
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
      this.liveCount--;
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
   * The n nearest live items allowed by `allowed` (positions; null: every live item), through the
   * index's filtered search (deleted positions are filtered out the same way).
   */
  search(query: Float32Array, n: number, searchK: number, allowed: ((pos: number) => boolean) | Int32Array | null, maxDistance: number | null): Hit[] {
    if (this.liveCount === 0) return [];
    const filter = allowed ?? (this.liveCount === this.count ? null : this.isLive);
    const { ids, distances } = searchIndex(this.index, query, n, searchK, filter, maxDistance);
    const hits: Hit[] = new Array(ids.length);
    for (let j = 0; j < ids.length; j++) hits[j] = { info: this.infos[ids[j]!]!, distance: distances[j]!, part: this, pos: ids[j]! };
    return hits;
  }
}
