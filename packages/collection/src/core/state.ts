// What a collection holds in memory, and the rules for changing it. Items live in at most three
// parts, ordered by id: the base segment (the last full compaction), the delta segment (a smaller
// index over items written since), and the memtable (the newest items, searched exactly). Every
// write gets new ids, so an item's id says which part holds it. Storage (SQLite, or nothing for
// in-memory collections) and builds (worker threads, or the calling thread) are the caller's.
import { AllowedIds, AnnoyArgumentError, type Filter, type MetricName } from 'annoy-ts';
import { compareDistances } from './distance.ts';
import { compileFilter, type AttributeFilter, type AttributePredicate } from './filter.ts';
import {
  checkAttributes, checkKey, checkVector, describe, NO_ATTRIBUTES, type Attributes, type Key,
} from './input.ts';
import type { Hit, ItemInfo } from './items.ts';
import { Memtable } from './memtable.ts';
import type { Segment } from './segment.ts';

/** A predicate filter: the item's key and attributes ({} when it has none). */
export type ItemPredicate = (key: Key, attributes: Attributes) => boolean;

export interface QueryOptions {
  /**
   * Candidates to inspect in the index segments, shared among them by size (default -1: Annoy's
   * n × trees in each). Larger: better recall, slower. The newest items are always searched exactly.
   */
  searchK?: number;
  /** Only items whose attributes match this filter (see the README), or for which this predicate is true. */
  filter?: AttributeFilter | ItemPredicate;
  /** Only items within this distance (dot: with at least this inner product). n may then be Infinity. */
  maxDistance?: number;
  /** Include each result's vector (float32-rounded). */
  includeVectors?: boolean;
}

export interface QueryResult {
  key: Key;
  distance: number;
  attributes: Attributes;
  vector?: number[];
}

export interface StoredItem {
  key: Key;
  vector: number[];
  attributes: Attributes;
}

/** A validated upsert, before it gets its id. */
export interface PreparedUpsert {
  key: Key;
  vector: Float32Array;
  attributesText: string | null;
  attributes: Attributes | null;
}

/** What a build reads and produces: the live items with ids ≤ maxId of the parts it replaces. */
export interface BuildSnapshot {
  readonly kind: 'full' | 'delta';
  readonly maxId: number;
  /** Live positions of the segments it rebuilds, in id order (base before delta). */
  readonly sources: readonly { segment: Segment; positions: Int32Array }[];
  /** The memtable rows it takes: their vectors, row after row. */
  readonly rows: Float32Array;
  readonly rowCount: number;
  /** Output position → item: sources first, then rows (ascending ids). */
  readonly ids: Float64Array;
  readonly infos: ItemInfo[];
  /** Ids deleted or replaced while the build ran (applied to its result when it is installed). */
  readonly killed: number[];
}

/** An index segment's counts; `graph`: whether its queries walk a neighbour graph (else its forest). */
export interface SegmentCounts {
  items: number;
  live: number;
  name: string;
  graph: boolean;
}

export interface Counts {
  size: number;
  base: SegmentCounts | null;
  delta: SegmentCounts | null;
  memtable: { items: number; live: number };
}

const FILTER_CACHE = 8;

export class CollectionState {
  readonly f: number;
  readonly metric: MetricName;
  readonly maxAttributesLength: number;
  readonly keyMap = new Map<Key, ItemInfo>();
  base: Segment | null = null;
  delta: Segment | null = null;
  memtable: Memtable;
  /** The id the next write gets. */
  nextId = 0;
  /**
   * The largest id applied to memory. Ids are handed out before a write is committed and applied
   * after: a build takes items up to here, never ids of a write still on its way to the disk.
   */
  appliedUpTo = -1;
  /** The build in progress, if any. */
  building: BuildSnapshot | null = null;
  /** Changes with every write and install (cached filter results are only valid within one). */
  private version = 0;
  private readonly filterCache = new Map<string, { version: number; base: AllowedIds | null; delta: AllowedIds | null }>();

  constructor(f: number, metric: MetricName, maxAttributesLength: number) {
    this.f = f;
    this.metric = metric;
    this.maxAttributesLength = maxAttributesLength;
    this.memtable = new Memtable(f, metric);
  }

  get size(): number {
    return this.keyMap.size;
  }

  counts(): Counts {
    const seg = (s: Segment | null): SegmentCounts | null => s && { items: s.count, live: s.liveCount, name: s.name, graph: s.index.hasGraph() };
    return { size: this.size, base: seg(this.base), delta: seg(this.delta), memtable: { items: this.memtable.count, live: this.memtable.liveCount } };
  }

  /**
   * Checks a batch of upserts completely (nothing is written when one item is bad). When a key
   * occurs more than once, the last occurrence wins, as if the items were upserted in order.
   */
  prepareUpsert(items: unknown): PreparedUpsert[] {
    if (!Array.isArray(items)) throw new AnnoyArgumentError(`upsert takes an array of { key, vector, attributes? } items, got ${describe(items)}`);
    const prepared: PreparedUpsert[] = new Array(items.length);
    const last = new Map<Key, number>();
    for (let j = 0; j < items.length; j++) {
      const item = items[j] as unknown;
      const where = `item ${j}`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw new AnnoyArgumentError(`${where} must be an object { key, vector, attributes? }, got ${describe(item)}`);
      }
      const { key, vector, attributes } = item as { key?: unknown; vector?: unknown; attributes?: unknown };
      const k = checkKey(key, where);
      const v = checkVector(vector, this.f, `${where} (key ${describe(k)})`);
      const a = checkAttributes(attributes, this.maxAttributesLength, `${where} (key ${describe(k)})`);
      prepared[j] = { key: k, vector: v, attributesText: a.text, attributes: a.value };
      last.set(k, j);
    }
    return last.size === prepared.length ? prepared : prepared.filter((p, j) => last.get(p.key) === j);
  }

  prepareDelete(keys: unknown): Key[] {
    if (!Array.isArray(keys)) throw new AnnoyArgumentError(`delete takes an array of keys, got ${describe(keys)}`);
    return [...new Set(keys.map((key: unknown, j) => checkKey(key, `key ${j}`)))];
  }

  /** Gives each prepared upsert its id (in order). */
  assignIds(prepared: readonly PreparedUpsert[]): ItemInfo[] {
    return prepared.map((p) => ({ id: this.nextId++, key: p.key, attributes: p.attributes }));
  }

  applyUpsert(prepared: readonly PreparedUpsert[], infos: readonly ItemInfo[]): void {
    for (let j = 0; j < prepared.length; j++) {
      const info = infos[j]!;
      const old = this.keyMap.get(info.key);
      if (old) this.kill(old.id);
      this.memtable.append(info, prepared[j]!.vector);
      this.keyMap.set(info.key, info);
      this.appliedUpTo = info.id;
    }
    this.version++;
  }

  /** Removes the keys; returns how many existed. */
  applyDelete(keys: readonly Key[]): number {
    let n = 0;
    for (const key of keys) {
      const old = this.keyMap.get(key);
      if (!old) continue;
      this.kill(old.id);
      this.keyMap.delete(key);
      n++;
    }
    this.version++;
    return n;
  }

  private kill(id: number): void {
    const { part, pos } = this.locate(id);
    if (pos >= 0) part.kill(pos);
    if (this.building && id <= this.building.maxId) this.building.killed.push(id);
  }

  /** Which part holds item `id`, and where (pos -1: nowhere, which would be a bug). */
  locate(id: number): { part: Segment | Memtable; pos: number } {
    if (this.base && id <= this.base.maxId) return { part: this.base, pos: this.base.find(id) };
    if (this.delta && id <= this.delta.maxId) return { part: this.delta, pos: this.delta.find(id) };
    return { part: this.memtable, pos: this.memtable.find(id) };
  }

  has(key: unknown): boolean {
    return this.keyMap.has(checkKey(key, 'key'));
  }

  get(key: unknown): StoredItem | undefined {
    const info = this.keyMap.get(checkKey(key, 'key'));
    if (!info) return undefined;
    const { part, pos } = this.locate(info.id);
    return { key: info.key, vector: part.vectorAt(pos), attributes: info.attributes ?? NO_ATTRIBUTES };
  }

  *entries(): IterableIterator<{ key: Key; attributes: Attributes }> {
    for (const info of this.keyMap.values()) yield { key: info.key, attributes: info.attributes ?? NO_ATTRIBUTES };
  }

  query(vector: unknown, n: unknown, options: QueryOptions = {}): QueryResult[] {
    if (options === null || typeof options !== 'object') throw new AnnoyArgumentError(`query options must be an object, got ${describe(options)}`);
    const q = checkVector(vector, this.f, 'query');
    const { searchK = -1, filter, maxDistance, includeVectors = false } = options;
    if (maxDistance !== undefined && (typeof maxDistance !== 'number' || Number.isNaN(maxDistance) || (this.metric !== 'dot' && maxDistance < 0))) {
      throw new AnnoyArgumentError(`maxDistance must be a number${this.metric === 'dot' ? '' : ' ≥ 0'}, got ${describe(maxDistance)}`);
    }
    if (n !== Infinity && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) {
      throw new AnnoyArgumentError(`n (the number of neighbours) must be a non-negative integer, got ${describe(n)}`);
    }
    if (n === Infinity && maxDistance === undefined) throw new AnnoyArgumentError('n may be Infinity only with maxDistance (everything within that distance)');
    if (searchK !== -1 && searchK !== Infinity && (typeof searchK !== 'number' || !Number.isInteger(searchK) || searchK < 1)) {
      throw new AnnoyArgumentError(`searchK must be -1 (the default), a positive integer or Infinity, got ${describe(searchK)}`);
    }
    if (typeof includeVectors !== 'boolean') throw new AnnoyArgumentError(`includeVectors must be true or false, got ${describe(includeVectors)}`);
    if (n === 0) return [];
    const maxD = maxDistance ?? null;
    const allowed = this.allowedSets(filter);
    try {
      return this.search(q, n, searchK, allowed, maxD, includeVectors);
    } catch (e) {
      // A filter predicate threw or answered neither true nor false: name the item by its key (the
      // library names its position in an index, and says "threw" for either).
      let cause: unknown = e;
      while (cause instanceof Error && !(cause instanceof PredicateError) && !(cause instanceof PredicateAnswerError)) cause = cause.cause;
      if (cause instanceof PredicateAnswerError) throw cause;
      if (cause instanceof PredicateError) {
        const inner = cause.cause instanceof Error ? cause.cause.message : String(cause.cause);
        throw new AnnoyArgumentError(`the filter function threw for key ${describe(cause.key)}: ${inner}`, { cause: cause.cause });
      }
      throw e;
    }
  }

  private search(q: Float32Array, n: number, searchK: number, allowed: ReturnType<CollectionState['allowedSets']>, maxD: number | null, includeVectors: boolean): QueryResult[] {
    const total = this.size;
    const hits: Hit[] = [];
    for (const [segment, which] of [[this.base, 'base'], [this.delta, 'delta']] as const) {
      if (!segment || segment.liveCount === 0) continue;
      const a = allowed?.[which] ?? null;
      if (a instanceof AllowedIds && a.count === 0) continue;
      hits.push(...segment.search(q, n, segmentBudget(searchK, n, segment.liveCount, total, which === 'delta' ? DELTA_BOOST : 1), a, maxD));
    }
    hits.push(...this.memtable.search(q, n, allowed?.memtable ?? null, maxD));
    hits.sort((a, b) => compareDistances(this.metric, a.distance, b.distance) || a.info.id - b.info.id);
    const out: QueryResult[] = [];
    for (let j = 0; j < hits.length && j < n; j++) {
      const h = hits[j]!;
      const r: QueryResult = { key: h.info.key, distance: h.distance, attributes: h.info.attributes ?? NO_ATTRIBUTES };
      if (includeVectors) r.vector = h.part.vectorAt(h.pos);
      out.push(r);
    }
    return out;
  }

  /** The filter as allowed positions per part (null: no filter). */
  private allowedSets(filter: unknown): {
    base: Filter | null;
    delta: Filter | null;
    memtable: ((pos: number) => boolean) | null;
  } | null {
    if (filter === undefined || filter === null) return null;
    if (typeof filter === 'function') {
      const fn = filter as ItemPredicate;
      // As annoy-ts's own predicates: only true or false, so that a predicate returning a truthy
      // value by mistake (an attribute, a count) is an error instead of silently dropping the item.
      const ask = (info: ItemInfo): boolean => {
        let answer: unknown;
        try {
          answer = fn(info.key, info.attributes ?? NO_ATTRIBUTES);
        } catch (cause) {
          throw new PredicateError(info.key, cause);
        }
        if (typeof answer !== 'boolean') {
          throw new PredicateAnswerError(`the filter function must return true or false; for key ${JSON.stringify(info.key)} it returned ${describe(answer)}`);
        }
        return answer;
      };
      const through = (infos: ItemInfo[], live: Uint8Array) => (pos: number) => live[pos] === 1 && ask(infos[pos]!);
      const mem = this.memtable;
      return {
        base: this.base && through(this.base.infos, this.base.live),
        delta: this.delta && through(this.delta.infos, this.delta.live),
        memtable: (pos) => ask(mem.infos[pos]!),
      };
    }
    let text: string;
    try {
      text = JSON.stringify(filter);
    } catch (cause) {
      throw new AnnoyArgumentError(`filter must be a JSON filter object or a function: ${(cause as Error).message}`, { cause });
    }
    const predicate = compileFilter(filter);
    const mem = this.memtable;
    const memtable = (pos: number) => predicate(mem.infos[pos]!.attributes);
    const cached = this.filterCache.get(text);
    if (cached && cached.version === this.version) return { base: cached.base, delta: cached.delta, memtable };
    const entry = { version: this.version, base: this.base && matching(this.base, predicate), delta: this.delta && matching(this.delta, predicate) };
    this.filterCache.delete(text);
    this.filterCache.set(text, entry);
    if (this.filterCache.size > FILTER_CACHE) this.filterCache.delete(this.filterCache.keys().next().value!);
    return { base: entry.base, delta: entry.delta, memtable };
  }

  /**
   * The input of a build: a full build takes every live item, a delta build the delta segment and
   * the memtable. Vectors of memtable rows are copied (they are small); segments are read by the builder.
   */
  snapshot(kind: 'full' | 'delta'): BuildSnapshot {
    const maxId = this.appliedUpTo;
    const parts = kind === 'full' ? [this.base, this.delta] : [this.delta];
    const sources = parts.filter((s): s is Segment => s !== null && s.liveCount > 0).map((segment) => ({ segment, positions: segment.livePositions() }));
    const mem = this.memtable;
    const rowCount = mem.liveCount;
    const total = sources.reduce((n, s) => n + s.positions.length, 0) + rowCount;
    const ids = new Float64Array(total);
    const infos: ItemInfo[] = new Array(total);
    const rows = new Float32Array(rowCount * this.f);
    let k = 0;
    for (const { segment, positions } of sources) {
      for (let j = 0; j < positions.length; j++, k++) {
        ids[k] = segment.ids[positions[j]!]!;
        infos[k] = segment.infos[positions[j]!]!;
      }
    }
    let r = 0;
    for (let p = 0; p < mem.count; p++) {
      if (!mem.live[p]) continue;
      ids[k] = mem.ids[p]!;
      infos[k++] = mem.infos[p]!;
      rows.set(mem.row(p), r++ * this.f);
    }
    const snapshot: BuildSnapshot = { kind, maxId, sources, rows, rowCount, ids, infos, killed: [] };
    this.building = snapshot;
    return snapshot;
  }

  /** Switches to a finished build (null: it had no items): the parts it replaces go. */
  install(snapshot: BuildSnapshot, segment: Segment | null): void {
    if (segment) for (const id of snapshot.killed) {
      const pos = segment.find(id);
      if (pos >= 0) segment.kill(pos);
    }
    if (snapshot.kind === 'full') {
      this.base = segment;
      this.delta = null;
    } else {
      this.delta = segment;
    }
    this.memtable = this.memtable.suffixAfter(snapshot.maxId);
    this.building = null;
    this.version++;
  }

  /** Forgets a build that failed or was abandoned. */
  abandon(snapshot: BuildSnapshot): void {
    if (this.building === snapshot) this.building = null;
  }
}

/** A filter predicate's exception, with the key it was asked about. */
class PredicateError extends Error {
  readonly key: Key;
  constructor(key: Key, cause: unknown) {
    super('the filter function threw', { cause });
    this.key = key;
  }
}

/** A filter predicate's answer that is not a boolean (its message names the key). */
class PredicateAnswerError extends AnnoyArgumentError {}

/** The live positions of `segment` whose attributes match, as the library's allowed-id set. */
function matching(segment: Segment, predicate: AttributePredicate): AllowedIds {
  const { live, infos, liveBits } = segment;
  const bits = new Uint32Array(liveBits.length);
  for (let w = 0; w < bits.length; w++) {
    let word = liveBits[w]!;
    if (word === 0) continue;
    let out = 0;
    for (let b = 0; b < 32 && word !== 0; b++, word >>>= 1) {
      if ((word & 1) === 0) continue;
      const p = (w << 5) + b;
      if (live[p] && predicate(infos[p]!.attributes)) out |= 1 << b;
    }
    bits[w] = out;
  }
  return AllowedIds.fromBits(bits, segment.count);
}

/**
 * How much more than its proportional share of searchK the delta index gets. Its trees cover
 * fewer items, and at the same share it loses recall: on GloVe-100 (331k, 10 % in the delta, 20
 * trees), ×1 cost 0.007–0.010 of recall@10 against a fresh build of all items, ×2 matched it within
 * 0.003 for searchK 3,000–30,000, for 10 % more candidates in all (with 5 % deleted as well,
 * bench:collection measured a gap of 0.006–0.009 at searchK ≥ 5,000).
 * Segments with neighbour graphs (the share becomes the walk's beam, share / 16) lose more at
 * the same searchK: GloVe-100, 20,000 + a delta of 2,000, 20 trees, recall@10 at searchK
 * 500 / 1,000 / 2,000 was 0.814 / 0.965 / 0.988 against 0.961 / 0.988 / 0.996 for one segment
 * of the same items (boost 3: 0.877 / 0.980 / 0.996; the whole searchK to every segment: 0.981 /
 * 0.998 / 1.000, at about 1.5–2× the time per query). At equal time per query the variants were
 * within the noise of that busy machine, so graphs keep this share and boost: with a delta, ask
 * for a larger searchK for the same recall.
 */
export const DELTA_BOOST = 2;

/**
 * A segment's share of the query's searchK: in proportion to its live items (times `boost`), and
 * never less than n (searchK -1 and Infinity go to every segment as they are).
 */
export function segmentBudget(searchK: number, n: number, live: number, total: number, boost = 1): number {
  if (searchK === -1 || searchK === Infinity) return searchK;
  const share = Math.ceil((boost * searchK * live) / Math.max(1, total));
  return Math.max(share, Number.isFinite(n) ? n : 1, 1);
}
