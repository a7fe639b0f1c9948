import type { Attributes, Key } from './input.ts';

/**
 * One stored item, as the collection knows it in memory. `id` is the item's position in the
 * history of writes: every upsert gets a new, larger id (so an id never changes meaning, and the
 * index files, which list the ids they hold, stay valid after the item is replaced or deleted).
 */
export interface ItemInfo {
  readonly id: number;
  readonly key: Key;
  readonly attributes: Attributes | null;
}

/** Index of `id` in the ascending ids[0 … count), or -1. */
export function findId(ids: Float64Array, count: number, id: number): number {
  let lo = 0, hi = count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A candidate found in one part of the collection: the item and its reported distance. */
export interface Hit {
  info: ItemInfo;
  distance: number;
  /** Where to read the vector: the part and position (for includeVectors). */
  part: ItemHolder;
  pos: number;
}

/** What holds items: an index segment or the exact buffer. */
export interface ItemHolder {
  readonly liveCount: number;
  vectorAt(pos: number): number[];
}
