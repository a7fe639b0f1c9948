// An in-memory collection for any JavaScript runtime (browsers included): the same API as the
// durable Collection, with rebuilds in the calling thread, and the whole collection exported to
// and imported from bytes (toBytes / fromBytes) to keep it in IndexedDB, a file or a download.
import { AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, AnnoyStateError, type MetricName } from 'annoy-ts';
import { crc32 } from './core/crc32.ts';
import { checkDimension, checkObject, describe, parseAttributes, type Key, type UpsertItem } from './core/input.ts';
import type { ItemInfo } from './core/items.ts';
import {
  buildDue, checkGraph, checkMaxAttributesLength, checkSeed, checkTrees, policyFrom, type AutoCompactOptions, type CollectionGraphOptions, type Policy,
} from './core/options.ts';
import { Segment } from './core/segment.ts';
import { CollectionState, type BuildSnapshot, type Counts, type QueryOptions, type QueryResult, type StoredItem } from './core/state.ts';

export interface MemoryCollectionOptions {
  f: number;
  metric: MetricName;
  /** Trees per index (default 20). */
  trees?: number;
  /** Build seed (default 42). */
  seed?: number | bigint;
  /**
   * Also build a neighbour graph for every index (true, or annoy-ts graph options without nJobs
   * and onProgress; default false): queries walk it, several times faster at the same recall, but
   * builds (in the calling thread) take several times longer. toBytes() carries the graphs.
   */
  graph?: boolean | CollectionGraphOptions;
  /**
   * Rebuilds without compact(): false, or thresholds (see AutoCompactOptions). They run in the
   * calling thread, shortly after the write that made one due (setTimeout 0), and block it while they build.
   */
  autoCompact?: boolean | AutoCompactOptions;
  /** Largest attributes of one item, as JSON text (default 65,536 characters). */
  maxAttributesLength?: number;
}

const MAGIC = 'ATSCOLL1';
const FORMAT = 'annoy-ts-memory-collection';
/** Version 2 adds graphs (a segment's graphLength, its .graph bytes after its index); written only when a segment has one. */
const VERSION = 2;
const VERSION_WITHOUT_GRAPHS = 1;

/**
 * A collection held in memory: keys, vectors, attributes, filtered queries, upsert and delete
 * after build — everything the durable Collection does except durability. Export with toBytes().
 */
export class MemoryCollection {
  readonly f: number;
  readonly metric: MetricName;
  readonly trees: number;
  readonly #graph: CollectionGraphOptions | null;
  readonly #seed: bigint;
  readonly #policy: Policy;
  readonly #state: CollectionState;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: MemoryCollectionOptions) {
    const o = checkObject(options, 'options') as Partial<MemoryCollectionOptions>;
    const { f, metric } = checkDimension(o.f, o.metric);
    this.f = f;
    this.metric = metric;
    this.trees = checkTrees(o.trees);
    this.#graph = checkGraph(o.graph);
    this.#seed = checkSeed(o.seed);
    this.#policy = policyFrom(o.autoCompact);
    this.#state = new CollectionState(f, metric, checkMaxAttributesLength(o.maxAttributesLength));
  }

  get size(): number {
    return this.#state.size;
  }

  /** Inserts or replaces items (checked as a whole first; a key given twice: the last one wins). */
  async upsert(items: readonly UpsertItem[]): Promise<void> {
    this.#checkOpen('upsert');
    const prepared = this.#state.prepareUpsert(items);
    this.#state.applyUpsert(prepared, this.#state.assignIds(prepared));
    this.#maybeBuild();
  }

  /** Deletes items by key; resolves with how many existed. */
  async delete(keys: readonly Key[]): Promise<number> {
    this.#checkOpen('delete');
    const n = this.#state.applyDelete(this.#state.prepareDelete(keys));
    this.#maybeBuild();
    return n;
  }

  get(key: Key): StoredItem | undefined {
    this.#checkOpen('get');
    return this.#state.get(key);
  }

  has(key: Key): boolean {
    this.#checkOpen('has');
    return this.#state.has(key);
  }

  entries(): IterableIterator<{ key: Key; attributes: Record<string, unknown> }> {
    this.#checkOpen('entries');
    return this.#state.entries();
  }

  query(vector: ArrayLike<number>, n: number, options: QueryOptions = {}): QueryResult[] {
    this.#checkOpen('query');
    return this.#state.query(vector, n, options);
  }

  /** The graph setting builds use: false, or the graph options. */
  get graph(): false | CollectionGraphOptions {
    return this.#graph === null ? false : { ...this.#graph };
  }

  info(): Counts & { f: number; metric: MetricName; trees: number; graph: false | CollectionGraphOptions } {
    return { f: this.f, metric: this.metric, trees: this.trees, graph: this.graph, ...this.#state.counts() };
  }

  /** Rebuilds the index from all live items (in the calling thread). */
  async compact(): Promise<void> {
    this.#checkOpen('compact');
    this.#run('full');
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #checkOpen(call: string): void {
    if (this.#closed) throw new AnnoyStateError(`${call}: the collection is closed`);
  }

  #maybeBuild(): void {
    if (this.#timer !== null || this.#closed) return;
    if (!this.#due()) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const due = this.#closed ? null : this.#due();
      if (due) this.#run(due);
    }, 0);
  }

  #due(): 'full' | 'delta' | null {
    const s = this.#state;
    return buildDue(this.#policy, {
      baseItems: s.base?.count ?? 0, baseLive: s.base?.liveCount ?? 0, deltaLive: s.delta?.liveCount ?? 0,
      memtableRows: s.memtable.count, memtableLive: s.memtable.liveCount,
    });
  }

  #run(kind: 'full' | 'delta'): void {
    const snapshot = this.#state.snapshot(kind);
    try {
      this.#state.install(snapshot, snapshot.ids.length === 0 ? null : buildInThread(snapshot, this.f, this.metric, this.trees, this.#graph, this.#seed));
    } catch (e) {
      this.#state.abandon(snapshot);
      throw e;
    }
  }

  /**
   * The whole collection as bytes: its indexes (Annoy's bytes, and their graphs' when they have
   * them), the newest items' vectors, every item's key and attributes, and a checksum. fromBytes()
   * gives it back without rebuilding.
   */
  toBytes(): Uint8Array {
    this.#checkOpen('toBytes');
    const s = this.#state;
    const segments = [s.base, s.delta].filter((x): x is Segment => x !== null);
    const parts: Uint8Array[] = [];
    // With a graph in any segment, version 2: each segment's graph bytes (none: 0 bytes) follow its
    // index bytes, and its header gives graphLength. Without, the version 1 layout.
    const graphs = segments.map((seg) => (seg.index.hasGraph() ? seg.index.toGraphBuffer() : new Uint8Array(0)));
    const withGraphs = graphs.some((g) => g.byteLength > 0);
    const segmentHeaders = segments.map((seg, j) => {
      const ann = seg.index.toBuffer();
      parts.push(ann, ...(withGraphs ? [graphs[j]!] : []), bytesOf(seg.ids), seg.live.slice());
      return { kind: seg === s.base ? 'base' : 'delta', nItems: seg.count, byteLength: ann.byteLength, ...(withGraphs ? { graphLength: graphs[j]!.byteLength } : {}) };
    });
    const mem = s.memtable;
    parts.push(bytesOf(mem.ids.subarray(0, mem.count)), bytesOf(mem.rows.vectors.subarray(0, mem.count * this.f)), mem.live.slice(0, mem.count));
    const items: [number, Key, string | null][] = [];
    for (const info of s.keyMap.values()) items.push([info.id, info.key, info.attributes === null ? null : JSON.stringify(info.attributes)]);
    const itemsText = new TextEncoder().encode(JSON.stringify(items));
    parts.push(itemsText);
    const header = new TextEncoder().encode(JSON.stringify({
      format: FORMAT, version: withGraphs ? VERSION : VERSION_WITHOUT_GRAPHS, f: this.f, metric: this.metric, trees: this.trees, seed: this.#seed.toString(),
      ...(this.#graph === null ? {} : { graph: this.#graph }),
      autoCompact: this.#policy.auto ? { memtableLimit: this.#policy.memtableLimit, deltaFraction: this.#policy.deltaFraction, deletedFraction: this.#policy.deletedFraction } : false,
      maxAttributesLength: s.maxAttributesLength, nextId: s.nextId, segments: segmentHeaders, memtableRows: mem.count, itemsLength: itemsText.byteLength,
    }));
    // Layout: magic, header length (u32), header, then each part starting at a multiple of 8; CRC-32 of all before it at the end.
    let length = pad8(16 + header.byteLength);
    for (const p of parts) length = pad8(length + p.byteLength);
    const out = new Uint8Array(length + 4);
    out.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(out.buffer).setUint32(8, header.byteLength, true);
    out.set(header, 16);
    let at = pad8(16 + header.byteLength);
    for (const p of parts) {
      out.set(p, at);
      at = pad8(at + p.byteLength);
    }
    new DataView(out.buffer).setUint32(length, crc32(out.subarray(0, length)), true);
    return out;
  }

  /** A collection from toBytes() output; damaged or foreign bytes are an AnnoyFormatError. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): MemoryCollection {
    const u8 = bytes instanceof Uint8Array ? bytes : bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : null;
    if (!u8) throw new AnnoyArgumentError(`fromBytes takes a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
    const bad = (what: string): never => {
      throw new AnnoyFormatError(`not a MemoryCollection export (toBytes): ${what}`);
    };
    if (u8.byteLength < 20 || new TextDecoder().decode(u8.subarray(0, 8)) !== MAGIC) bad('wrong magic bytes');
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    const body = u8.byteLength - 4;
    if (crc32(u8.subarray(0, body)) !== view.getUint32(body, true)) bad('checksum mismatch (the bytes are damaged or truncated)');
    const headerLength = view.getUint32(8, true);
    if (16 + headerLength > body) bad('header runs past the end');
    let header: {
      format: string; version: number; f: number; metric: MetricName; trees: number; seed: string; autoCompact: AutoCompactOptions | false; graph?: CollectionGraphOptions;
      maxAttributesLength: number; nextId: number; segments: { kind: 'base' | 'delta'; nItems: number; byteLength: number; graphLength?: number }[];
      memtableRows: number; itemsLength: number;
    };
    try {
      header = JSON.parse(new TextDecoder().decode(u8.subarray(16, 16 + headerLength))) as typeof header;
    } catch {
      return bad('the header is not JSON');
    }
    if (header.format !== FORMAT) bad(`format ${describe(header.format)}`);
    if (header.version !== VERSION && header.version !== VERSION_WITHOUT_GRAPHS) {
      bad(`version ${describe(header.version)}; this annoy-ts reads versions ${VERSION_WITHOUT_GRAPHS} and ${VERSION}`);
    }
    const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (!Array.isArray(header.segments) || header.segments.length > 2) bad('the segment list is malformed');
    header.segments.forEach((h, j) => {
      if (h === null || typeof h !== 'object' || !['base', 'delta'].includes(h.kind)) bad(`segment ${j} is malformed`);
      if (!count(h.nItems) || !count(h.byteLength)) bad(`segment ${j} has a bad size`);
      if (header.version === VERSION_WITHOUT_GRAPHS ? h.graphLength !== undefined : !count(h.graphLength)) bad(`segment ${j} has a bad graph size`);
    });
    if (header.segments.length === 2 && (header.segments[0]!.kind !== 'base' || header.segments[1]!.kind !== 'delta')) bad('the segments are not a base and a delta');
    if (!count(header.memtableRows) || !count(header.itemsLength) || !count(header.nextId) || typeof header.seed !== 'string' || !/^\d+$/.test(header.seed)) {
      bad('a header field is malformed');
    }
    let c: MemoryCollection;
    try {
      c = new MemoryCollection({
        f: header.f, metric: header.metric, trees: header.trees, seed: BigInt(header.seed), autoCompact: header.autoCompact, maxAttributesLength: header.maxAttributesLength,
        graph: header.graph ?? false,
      });
    } catch (cause) {
      throw new AnnoyFormatError(`not a MemoryCollection export (toBytes): ${(cause as Error).message}`, { cause });
    }
    let at = pad8(16 + headerLength);
    const take = (n: number): Uint8Array => {
      if (!Number.isSafeInteger(n) || n < 0 || at + n > body) bad('a section runs past the end');
      const part = u8.slice(at, at + n); // a copy: aligned, and independent of the caller's bytes
      at = pad8(at + n);
      return part;
    };
    const f = c.f;
    const loaded = header.segments.map((h) => {
      let index: AnnoyIndex;
      try {
        const ann = take(h.byteLength);
        const graph = h.graphLength ? take(h.graphLength) : null;
        // A graph of other index bytes, or damaged, is an AnnoyFormatError (the export's checksum makes that unlikely).
        index = graph ? AnnoyIndex.fromBuffer(ann, f, c.metric, { graph }) : AnnoyIndex.fromBuffer(ann, f, c.metric);
      } catch (cause) {
        if (cause instanceof AnnoyFormatError && cause.message.startsWith('not a MemoryCollection')) throw cause;
        throw new AnnoyFormatError(`not a MemoryCollection export (toBytes): its ${h.kind} index: ${(cause as Error).message}`, { cause });
      }
      const ids = new Float64Array(take(8 * h.nItems).buffer);
      const live = take(h.nItems);
      if (index.getNItems() !== h.nItems) bad(`a segment holds ${index.getNItems()} items, its header says ${h.nItems}`);
      return { kind: h.kind, index, ids, live };
    });
    const rows = header.memtableRows;
    const memIds = new Float64Array(take(8 * rows).buffer);
    const memVectors = new Float32Array(take(4 * f * rows).buffer);
    const memLive = take(rows);
    let items: [number, Key, string | null][];
    try {
      items = JSON.parse(new TextDecoder().decode(take(header.itemsLength))) as typeof items;
    } catch {
      return bad('the item list is not JSON');
    }
    const s = c.#state;
    const byId = new Map<number, ItemInfo>();
    if (!Array.isArray(items)) bad('the item list is not an array');
    for (const entry of items) {
      if (!Array.isArray(entry) || entry.length !== 3 || !count(entry[0]) || !(typeof entry[1] === 'string' || Number.isSafeInteger(entry[1]))) bad('an item entry is malformed');
      const [id, key, attributes] = entry;
      let parsed = null;
      try {
        parsed = attributes === null ? null : parseAttributes(attributes);
      } catch {
        bad(`the attributes of key ${describe(key)} are not JSON`);
      }
      const info: ItemInfo = { id, key, attributes: parsed };
      byId.set(id, info);
      s.keyMap.set(key, info);
    }
    const infosOf = (ids: Float64Array, live: Uint8Array): ItemInfo[] => Array.from(ids, (id, p) => {
      const info = byId.get(id);
      if (live[p] && !info) bad(`item id ${id} is live in an index but has no key`);
      return info!;
    });
    for (const seg of loaded) {
      const segment = new Segment('', seg.index, seg.ids, infosOf(seg.ids, seg.live), seg.live);
      if (seg.kind === 'base') s.base = segment;
      else s.delta = segment;
    }
    const memInfos = infosOf(memIds, memLive);
    for (let p = 0; p < rows; p++) {
      s.memtable.append(memInfos[p] ?? { id: memIds[p]!, key: '', attributes: null }, memVectors.subarray(p * f, (p + 1) * f));
      if (!memLive[p]) s.memtable.kill(p);
    }
    s.nextId = header.nextId;
    s.appliedUpTo = header.nextId - 1;
    if (items.length !== s.keyMap.size) bad('a key is listed twice');
    checkParts(s, bad);
    return c;
  }
}

/** Imported parts must agree: ascending ids, base < delta < memtable, one live place per key. */
function checkParts(s: CollectionState, bad: (what: string) => never): void {
  let last = -1, live = 0;
  const parts: { ids: Float64Array; live: Uint8Array; count: number; infos: ItemInfo[] }[] = [];
  if (s.base) parts.push(s.base);
  if (s.delta) parts.push(s.delta);
  parts.push(s.memtable);
  for (const part of parts) {
    for (let p = 0; p < part.count; p++) {
      const id = part.ids[p]!;
      if (!Number.isSafeInteger(id) || id <= last) bad(`ids are not ascending (${id} after ${last})`);
      last = id;
      if (part.live[p]! > 1) bad('a live flag is neither 0 nor 1');
      if (part.live[p]) {
        live++;
        if (s.keyMap.get(part.infos[p]!.key) !== part.infos[p]) bad(`item id ${id} is live but its key belongs to another item`);
      }
    }
  }
  if (live !== s.keyMap.size) bad(`${live} live items for ${s.keyMap.size} keys`);
  if (s.nextId <= last) bad(`nextId ${s.nextId} is not above the largest id ${last}`);
}

function buildInThread(snapshot: BuildSnapshot, f: number, metric: MetricName, trees: number, graph: CollectionGraphOptions | null, seed: bigint): Segment {
  const index = new AnnoyIndex(f, metric);
  let k = 0;
  for (const { segment, positions } of snapshot.sources) {
    for (let j = 0; j < positions.length; j++) index.addItem(k++, segment.index.getItemVector(positions[j]!));
  }
  for (let r = 0; r < snapshot.rowCount; r++) index.addItem(k++, snapshot.rows.subarray(r * f, (r + 1) * f));
  index.setSeed(seed);
  index.build(trees, 1);
  if (graph) index.buildGraph({ ...graph, nJobs: 1 });
  return new Segment('', index, snapshot.ids, snapshot.infos);
}

function bytesOf(a: Float64Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
