// Global ids (the user's) ↔ shard-local ids (Annoy's ids inside one shard, dense from 0).
// Pure: the id files' contents come in as Int32Arrays, so browsers and cluster nodes can use it.
import { AnnoyFormatError } from '../errors.ts';
import type { ShardEntry } from './manifest.ts';

/** Where a global id lives; local −1: in a shard whose id list is unknown (it failed to load), if anywhere. */
export interface ShardLocation {
  shard: number;
  local: number;
}

/**
 * Maps ids both ways for a whole set of shards. A shard holds either a contiguous run
 * (global = first + local) or an ascending id list (global = ids[local]); lookups of a global id
 * try the shards whose [firstId, lastId] contains it (binary search inside an id list).
 */
export class ShardIdDirectory {
  readonly #entries: readonly ShardEntry[];
  readonly #lists: readonly (Int32Array | null)[];
  /** Shards sorted by firstId, for the lookup of a global id. */
  readonly #byFirst: Int32Array;
  /** The largest lastId among shards 0 … r of #byFirst (prefix maxima): lets lookups stop early. */
  readonly #reach: Float64Array;
  /** Shards with an id file that could not be read. */
  readonly #unknown: readonly boolean[];

  /**
   * `lists[k]`: shard k's id list when its manifest entry names an id file (null when it could not
   * be read: lookups in its range then answer local −1), else ignored. Every list is checked: right
   * length, strictly ascending, from firstId to lastId; and no id may belong to two shards.
   * `where(k)` names shard k in errors.
   */
  constructor(entries: readonly ShardEntry[], lists: readonly (Int32Array | null)[], where: (k: number) => string) {
    this.#entries = entries;
    this.#lists = entries.map((e, k) => {
      if ('first' in e.ids) return null;
      const list = lists[k] ?? null;
      if (list) checkList(list, e, where(k));
      return list;
    });
    this.#unknown = entries.map((e, k) => !('first' in e.ids) && this.#lists[k] === null);
    const order = entries.map((_, k) => k).sort((a, b) => entries[a].firstId - entries[b].firstId || a - b);
    this.#byFirst = Int32Array.from(order);
    this.#reach = new Float64Array(order.length);
    let reach = -1;
    order.forEach((k, r) => (this.#reach[r] = reach = Math.max(reach, entries[k].lastId)));
    this.#checkDisjoint(where);
  }

  /** The global id of local id `local` in shard `shard`. */
  toGlobal(shard: number, local: number): number {
    if (this.#unknown[shard]) throw new Error(`internal: the ids of shard ${shard} are unknown`);
    const list = this.#lists[shard];
    return list ? list[local] : (this.#entries[shard].ids as { first: number }).first + local;
  }

  /**
   * The local ids of shard `shard` whose global ids are set in `global` (a bitset over global ids:
   * bit id & 31 of word id >>> 5; `count` of them set), as a bitset over the shard's local ids.
   * Few allowed ids: each is looked up; many: each of the shard's items is tested.
   */
  localBits(shard: number, global: Uint32Array, count: number): Uint32Array {
    const e = this.#entries[shard], list = this.#lists[shard];
    const out = new Uint32Array(Math.ceil(e.nItems / 32));
    const set = (local: number) => (out[local >>> 5] |= 1 << (local & 31));
    const has = (id: number) => (id >>> 5) < global.length && (global[id >>> 5] & (1 << (id & 31))) !== 0;
    if (32 * count < e.nItems) {
      const last = Math.min(e.lastId >>> 5, global.length - 1);
      for (let w = e.firstId >>> 5; w <= last; w++) {
        for (let word = global[w]; word !== 0; word &= word - 1) {
          const id = (w << 5) + (31 - Math.clz32(word & -word));
          if (id < e.firstId || id > e.lastId) continue;
          const local = list ? indexOf(list, id) : id - e.firstId;
          if (local >= 0) set(local);
        }
      }
    } else {
      for (let local = 0; local < e.nItems; local++) if (has(list ? list[local] : e.firstId + local)) set(local);
    }
    return out;
  }

  /** Where global id `id` lives, or null for an id no shard holds (a hole). */
  locate(id: number): ShardLocation | null {
    const byFirst = this.#byFirst, entries = this.#entries;
    let maybe: ShardLocation | null = null;
    // The last shard (in firstId order) starting at or before id, then backwards while a shard could still reach id.
    let lo = 0, hi = byFirst.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[byFirst[mid]].firstId <= id) lo = mid + 1;
      else hi = mid;
    }
    for (let r = lo - 1; r >= 0 && this.#reach[r] >= id; r--) {
      const k = byFirst[r], e = entries[k];
      if (id > e.lastId) continue;
      if (this.#unknown[k]) {
        maybe ??= { shard: k, local: -1 };
        continue;
      }
      const list = this.#lists[k];
      if (!list) return { shard: k, local: id - e.firstId };
      const local = indexOf(list, id);
      if (local >= 0) return { shard: k, local };
    }
    return maybe;
  }

  /** No global id in two shards: shards are compared in firstId order while their ranges overlap. */
  #checkDisjoint(where: (k: number) => string): void {
    const byFirst = this.#byFirst, entries = this.#entries;
    for (let r = 1; r < byFirst.length; r++) {
      const k = byFirst[r], e = entries[k];
      for (let q = r - 1; q >= 0 && this.#reach[q] >= e.firstId; q--) {
        const j = byFirst[q];
        if (entries[j].lastId < e.firstId || this.#unknown[j] || this.#unknown[k]) continue;
        const shared = this.#shared(j, k);
        if (shared !== null) throw new AnnoyFormatError(`${where(j)} and ${where(k)} both hold item ${shared}: the set mixes shards of different builds`);
      }
    }
  }

  /** The smallest id shards j and k both hold, or null. */
  #shared(j: number, k: number): number | null {
    const a = this.#lists[j], b = this.#lists[k];
    if (a && b) return firstShared(a, b);
    if (!a && !b) return null; // two runs: checked apart by the manifest
    const list = (a ?? b)!, run = this.#entries[a ? k : j];
    const at = lowerBound(list, run.firstId);
    return at < list.length && list[at] <= run.lastId ? list[at] : null;
  }
}

function checkList(list: Int32Array, e: ShardEntry, where: string): void {
  if (list.length !== e.nItems) throw new AnnoyFormatError(`${where}: the id file holds ${list.length} ids, the manifest says ${e.nItems} items`);
  if (list[0] !== e.firstId || list[list.length - 1] !== e.lastId) {
    throw new AnnoyFormatError(`${where}: the id file runs from ${list[0]} to ${list[list.length - 1]}, the manifest says ${e.firstId} to ${e.lastId}`);
  }
  for (let i = 1; i < list.length; i++) {
    if (list[i] <= list[i - 1]) throw new AnnoyFormatError(`${where}: the id file is not strictly ascending at position ${i} (${list[i - 1]}, then ${list[i]})`);
  }
}

/** Position of `id` in an ascending list, or -1. */
function indexOf(list: Int32Array, id: number): number {
  let lo = 0, hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = list[mid];
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The first position in an ascending list whose value is ≥ id. */
function lowerBound(list: Int32Array, id: number): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The smallest id two ascending lists share, or null. */
function firstShared(a: Int32Array, b: Int32Array): number | null {
  let i = lowerBound(a, b[0]), j = lowerBound(b, a[0]);
  while (i < a.length && j < b.length) {
    const x = a[i], y = b[j];
    if (x === y) return x;
    if (x < y) i++;
    else j++;
  }
  return null;
}
