// Building a sharded index from items as they come: items fill a shard until it reaches its size
// limit, then the shard is built (AnnoyIndex.build on nJobs threads) and written, and the next one
// starts; the manifest is written last. See manifest.ts for the folder's layout.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AnnoyArgumentError, AnnoyFormatError, AnnoyIOError, AnnoyStateError } from '../errors.ts';
import { createMetric, describe } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { checkGraphOptions, type GraphOptions } from '../graph/index-graph.ts';
import { graphPath } from '../graph/format.ts';
import { AnnoyIndex } from '../node/annoy-index.ts';
import { checksumText } from '../formats/checksum.ts';
import { checksumOf, crc32 } from '../node/checksum.ts';
import { readFileBytes, readTextIfExists, writeFileAtomic } from '../node/files.ts';
import { packageVersion } from '../node/version.ts';
import { checkItemId, checkVector, MAX_ITEM_ID } from '../validate.ts';
import {
  isBuildId, MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, parseManifest, parseShardFileName, serializeManifest, shardFileNames,
  type ShardEntry, type ShardManifest,
} from './manifest.ts';

/**
 * The default size limit of one shard's file: half of a 4 GiB WebAssembly memory. The rest of the
 * memory is the search workspaces (each searching thread keeps 12 bytes per item and a queue of up
 * to 16 bytes per record) and the build's scratch, so a shard of this size opens, builds and serves
 * queries on a machine with a dozen query threads.
 */
export const DEFAULT_MAX_SHARD_BYTES = 2 ** 31;

export interface ShardedBuildOptions {
  /** Trees per shard, as AnnoyIndex.build(nTrees) (-1: Annoy's automatic count). */
  nTrees: number;
  /** Threads that build each shard, as AnnoyIndex.build(nTrees, nJobs) (default -1: one per core). */
  nJobs?: number;
  /** Seeds the tree builder: shard k is built with seed + k (default: Annoy's default seed for every shard). */
  seed?: number | bigint;
  /**
   * Start a new shard before the current one's index file would exceed this many bytes (default
   * DEFAULT_MAX_SHARD_BYTES). The size is estimated from the item count before the trees exist
   * (estimateIndexBytes: a little above what Annoy's trees usually take).
   */
  maxShardBytes?: number;
  /** Also start a new shard after this many items (e.g. total / N for N equal shards). */
  maxShardItems?: number;
  /**
   * File name (in the folder) of a labels file the caller writes there before finish(): a JSON
   * array, label of global id i at i. Give it a name of its own per build (e.g. with the builder's
   * `build` id), so readers of the set being replaced keep theirs; the replaced set's labels file is
   * removed after the commit.
   */
  labels?: string;
  /** Any JSON object, stored in the manifest as `metadata`. */
  metadata?: Record<string, unknown>;
  /**
   * Reuse the shards an interrupted build with the same settings already wrote (default false).
   * Feed the same items in the same order again: a shard whose items (ids and vectors, by CRC-32)
   * match the one written before is not built again.
   */
  resume?: boolean;
  /** Called after each shard is written (or reused). */
  onShard?: (built: ShardBuilt) => void;
  /**
   * Also build each shard's neighbour graph (true, or its options as AnnoyIndex.buildGraph takes
   * them): it is written beside the shard (`<shard>.ann.graph`), listed in the manifest with its
   * length and checksum, and attached when the set is opened.
   */
  graph?: boolean | GraphOptions;
}

export interface ShardBuilt {
  shard: number;
  nItems: number;
  byteLength: number;
  /** Seconds spent building and writing it (0 when reused). */
  seconds: number;
  reused: boolean;
}

/** Extra tree records per item and tree that Annoy's trees are assumed to take (measured: 2.3–3.1 / leaf capacity). */
const TREE_RECORDS_PER_ITEM = 4;

/**
 * An upper estimate of an index file's bytes for `nItems` items and `nTrees` trees (-1: automatic,
 * which stops once the file holds about twice as many records as items).
 */
export function estimateIndexBytes(f: number, metric: MetricName, nItems: number, nTrees: number): number {
  return Math.ceil(nItems * bytesPerItem(f, metric, nTrees));
}

function bytesPerItem(f: number, metric: MetricName, nTrees: number): number {
  const { recordBytes, leafCapacity } = createMetric(f, metric);
  const perTree = Math.min(2, TREE_RECORDS_PER_ITEM / leafCapacity);
  return (nTrees === -1 ? 2 + perTree : 1 + nTrees * perTree) * recordBytes;
}

/** What the builder remembers of an unfinished build (a hidden journal file beside the shards), for resume. */
interface Journal {
  format: 'annoy-ts-sharded-journal';
  build: string;
  settings: string;
  shards: (ShardEntry & { input: string })[];
}

const JOURNAL = /^\.build-([0-9a-f]{8})\.json$/;

/**
 * Builds a sharded index in folder `dir` from items given one at a time (addItem) or as an
 * (async) iterable (addItems). Each shard holds a run of the items in the order given; its local
 * ids follow the global ids' order, so equal distances rank the same way as in one index. Ids may
 * be any non-negative int32 values, each given once; a shard whose ids are contiguous stores only
 * its first id, others an id file.
 *
 * Every file is written to a temporary name and renamed into place; the manifest comes last and is
 * the commit point: until finish() the folder still holds the previous set, if any (readers keep
 * opening it). After the commit, the files of earlier builds are removed. One builder per folder.
 */
export class ShardedIndexBuilder {
  readonly dir: string;
  readonly f: number;
  readonly metric: MetricName;
  readonly #options: CheckedOptions;
  readonly #shardItems: number;
  /** The build's id: every file of this build carries it. */
  readonly build: string;
  readonly #journal: Journal;
  /** Journal entries of the interrupted build being resumed, by shard number. */
  readonly #resumable: Map<number, ShardEntry & { input: string }>;
  readonly #hamming: boolean;
  #vectors: Float32Array;
  #ids: Int32Array;
  #count = 0;
  #seen = new Uint8Array(1024);
  #finished = false;
  /** The labels file of the set this build replaces (removed after the commit unless this build names it too). */
  readonly #previousLabels: string | null;

  constructor(dir: string, f: number, metric: MetricName, options: ShardedBuildOptions) {
    if (typeof dir !== 'string' || dir.length === 0) throw new AnnoyArgumentError(`dir must be a non-empty string, got ${describe(dir)}`);
    createMetric(f, metric); // validates f and metric
    this.#options = checkOptions(options);
    this.dir = dir;
    this.f = f;
    this.metric = metric;
    const estimate = bytesPerItem(f, metric, this.#options.nTrees);
    const byBytes = Math.floor((this.#options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES) / estimate);
    if (byBytes < 1) throw new AnnoyArgumentError(`maxShardBytes ${this.#options.maxShardBytes} is too small for even one item (about ${Math.ceil(estimate)} bytes with ${this.#options.nTrees} trees)`);
    this.#shardItems = Math.min(byBytes, this.#options.maxShardItems ?? Infinity, MAX_ITEM_ID + 1);
    this.#hamming = metric === 'hamming';
    const start = Math.min(this.#shardItems, 1024);
    this.#vectors = new Float32Array(start * f);
    this.#ids = new Int32Array(start);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (cause) {
      throw new AnnoyIOError(`cannot create the folder ${dir}: ${(cause as Error).message}`, { cause });
    }
    const previousSet = committedManifest(dir);
    const committed = previousSet?.build ?? null;
    this.#previousLabels = previousSet?.labels ?? null;
    checkFolderFree(dir);
    const graph = this.#options.graph;
    const settings = JSON.stringify({
      f, metric, nTrees: this.#options.nTrees, seed: this.#options.seed?.toString() ?? null, shardItems: this.#shardItems,
      ...(graph ? { graph } : {}),
    });
    const previous = this.#options.resume ? findJournal(dir, settings) : null;
    this.build = previous?.build ?? newBuildId(committed);
    this.#resumable = new Map(previous?.shards.map((s, k) => [k, s]) ?? []);
    // Files of other unfinished builds go (one builder per folder: they are abandoned); the committed set stays until finish().
    removeBuilds(dir, (build) => build !== committed && build !== this.build);
    this.#journal = { format: 'annoy-ts-sharded-journal', build: this.build, settings, shards: [] };
  }

  /** The most items one shard holds (from maxShardBytes and maxShardItems). */
  get itemsPerShard(): number {
    return this.#shardItems;
  }

  /** Shards written (or reused) so far. */
  get shardsWritten(): number {
    return this.#journal.shards.length;
  }

  /** Adds item `id` (a global id, given once) with its vector. May build and write a shard (synchronously). */
  addItem(id: number, vector: ArrayLike<number>): void {
    if (this.#finished) throw new AnnoyStateError(`cannot add item ${id}: the sharded index was finished (or aborted)`);
    checkItemId(id);
    checkVector(vector, this.f);
    if (this.#wasSeen(id)) throw new AnnoyArgumentError(`item ${id} was already added: each id goes into a sharded index once`);
    if (this.#count === this.#ids.length) this.#grow();
    const f = this.f, at = this.#count * f;
    if (this.#hamming) for (let k = 0; k < f; k++) this.#vectors[at + k] = vector[k] > 0.5 ? 1 : 0;
    else this.#vectors.set(vector, at);
    this.#ids[this.#count++] = id;
    this.#markSeen(id);
    if (this.#count === this.#shardItems) this.#flush();
  }

  /** Adds `[id, vector]` pairs from an array, a generator or an async iterable (a stream of parsed lines…). */
  async addItems(items: Iterable<readonly [number, ArrayLike<number>]> | AsyncIterable<readonly [number, ArrayLike<number>]>): Promise<void> {
    if (items === null || typeof items !== 'object' || !(Symbol.asyncIterator in items || Symbol.iterator in items)) {
      throw new AnnoyArgumentError(`items must be an iterable or async iterable of [id, vector] pairs, got ${describe(items)}`);
    }
    let position = 0;
    for await (const item of items) {
      if (!Array.isArray(item) || item.length !== 2) throw new AnnoyArgumentError(`item ${position} must be an [id, vector] pair, got ${describe(item)}`);
      this.addItem(item[0] as number, item[1] as ArrayLike<number>);
      position++;
    }
  }

  /**
   * Builds the last shard, writes the manifest (the commit point) and removes the files of earlier
   * builds in the folder. Returns the manifest.
   */
  finish(): ShardManifest {
    if (this.#finished) throw new AnnoyStateError('the sharded index was already finished (or aborted)');
    if (this.#count > 0) this.#flush();
    if (this.#journal.shards.length === 0) throw new AnnoyStateError('cannot build a sharded index with no items: call addItem() first');
    this.#finished = true;
    const shards: ShardEntry[] = this.#journal.shards.map(({ input: _input, ...entry }) => entry);
    let count = 0, last = -1;
    for (const s of shards) {
      count += s.nItems;
      last = Math.max(last, s.lastId);
    }
    const manifest: ShardManifest = {
      format: MANIFEST_FORMAT, version: MANIFEST_VERSION, build: this.build, f: this.f, metric: this.metric, nItems: last + 1, count, shards,
      createdBy: packageVersion(),
    };
    if (this.#options.labels !== undefined) manifest.labels = this.#options.labels;
    if (this.#options.metadata !== undefined) manifest.metadata = JSON.parse(JSON.stringify(this.#options.metadata)) as Record<string, unknown>;
    writeFileAtomic(join(this.dir, MANIFEST_FILE), new TextEncoder().encode(serializeManifest(manifest)));
    removeBuilds(this.dir, (build) => build !== this.build);
    rmSync(join(this.dir, journalName(this.build)), { force: true });
    if (this.#previousLabels !== null && this.#previousLabels !== manifest.labels) rmSync(join(this.dir, this.#previousLabels), { force: true });
    return parseManifest(serializeManifest(manifest), join(this.dir, MANIFEST_FILE));
  }

  /** Gives up: removes this build's files (the folder's committed set, if any, stays). */
  abort(): void {
    this.#finished = true;
    this.#vectors = new Float32Array(0);
    this.#ids = new Int32Array(0);
    removeBuilds(this.dir, (build) => build === this.build);
  }

  #grow(): void {
    const capacity = Math.min(this.#shardItems, 2 * this.#ids.length);
    const ids = new Int32Array(capacity);
    ids.set(this.#ids);
    const vectors = new Float32Array(capacity * this.f);
    vectors.set(this.#vectors);
    this.#ids = ids;
    this.#vectors = vectors;
  }

  #wasSeen(id: number): boolean {
    return (id >>> 3) < this.#seen.length && (this.#seen[id >>> 3] & (1 << (id & 7))) !== 0;
  }

  #markSeen(id: number): void {
    const byte = id >>> 3;
    if (byte >= this.#seen.length) {
      const grown = new Uint8Array(Math.max(byte + 1, 2 * this.#seen.length));
      grown.set(this.#seen);
      this.#seen = grown;
    }
    this.#seen[byte] |= 1 << (id & 7);
  }

  /** Builds and writes the current shard (or reuses the one an interrupted build wrote), then empties the buffer. */
  #flush(): void {
    const started = performance.now();
    const k = this.#journal.shards.length;
    const n = this.#count, f = this.f;
    const order = ascendingOrder(this.#ids, n);
    const ids = order ? Int32Array.from(order, (r) => this.#ids[r]) : this.#ids.slice(0, n);
    const rowOf = order ? (local: number) => order[local] : (local: number) => local;
    const input = inputChecksum(ids, this.#vectors, f, rowOf);
    const names = shardFileNames(this.build, k);
    const contiguous = ids[n - 1] - ids[0] === n - 1;
    const previous = this.#resumable.get(k);
    let entry: ShardEntry;
    let reused = false;
    if (previous && previous.input === input && previous.nItems === n && this.#intact(previous)) {
      const { input: _input, ...kept } = previous;
      entry = kept;
      reused = true;
    } else {
      const index = new AnnoyIndex(f, this.metric);
      for (let local = 0; local < n; local++) {
        const row = rowOf(local);
        index.addItem(local, this.#vectors.subarray(row * f, (row + 1) * f));
      }
      if (this.#options.seed !== undefined) index.setSeed(BigInt.asUintN(64, BigInt(this.#options.seed) + BigInt(k)));
      // The graph on the trees' threads, as build(…, { graph }) does (unless its options name their own).
      const graph = this.#options.graph;
      index.build(this.#options.nTrees, this.#options.nJobs, graph ? { graph } : {});
      let idsFile: ShardEntry['ids'] = { first: ids[0] };
      if (!contiguous) {
        const bytes = littleEndianBytes(ids);
        writeFileAtomic(join(this.dir, names.ids), bytes);
        idsFile = { file: names.ids, byteLength: bytes.length, checksum: checksumOf(bytes) };
      }
      index.save(join(this.dir, names.ann), { metadata: { shardedIndex: { build: this.build, shard: k } } });
      const sidecar = index.sidecar!;
      entry = {
        file: names.ann, byteLength: sidecar.byteLength, checksum: sidecar.checksum, nItems: n, nTrees: sidecar.nTrees,
        firstId: ids[0], lastId: ids[n - 1], ids: idsFile,
      };
      if (this.#options.graph) {
        const file = graphPath(names.ann);
        const bytes = readFileBytes(join(this.dir, file));
        entry.graph = { file, byteLength: bytes.length, checksum: checksumOf(bytes) };
      }
    }
    this.#journal.shards.push({ ...entry, input });
    writeFileAtomic(join(this.dir, journalName(this.build)), new TextEncoder().encode(JSON.stringify(this.#journal) + '\n'));
    this.#count = 0;
    const seconds = reused ? 0 : (performance.now() - started) / 1000;
    this.#options.onShard?.({ shard: k, nItems: n, byteLength: entry.byteLength, seconds, reused });
  }

  /** Whether the files an interrupted build wrote for this shard are all there with the right bytes. */
  #intact(entry: ShardEntry): boolean {
    const files = [entry, ...('file' in entry.ids ? [entry.ids] : []), ...(entry.graph ? [entry.graph] : [])];
    try {
      return files.every((file) => {
        const path = join(this.dir, file.file);
        return statSync(path).size === file.byteLength && checksumOf(readFileBytes(path)) === file.checksum;
      });
    } catch {
      return false;
    }
  }
}

type CheckedOptions = ShardedBuildOptions & { nJobs: number; resume: boolean };

function checkOptions(options: ShardedBuildOptions): CheckedOptions {
  if (options === null || typeof options !== 'object') throw new AnnoyArgumentError(`options must be an object with at least nTrees, got ${describe(options)}`);
  const { nTrees, nJobs = -1, seed, maxShardBytes, maxShardItems, labels, metadata, resume = false, onShard, graph } = options;
  if (nTrees !== -1 && (typeof nTrees !== 'number' || !Number.isInteger(nTrees) || nTrees < 1)) {
    throw new AnnoyArgumentError(`nTrees must be a positive integer or -1 (automatic), got ${describe(nTrees)}`);
  }
  if (nJobs !== -1 && (typeof nJobs !== 'number' || !Number.isInteger(nJobs) || nJobs < 1)) {
    throw new AnnoyArgumentError(`nJobs must be a positive integer or -1 (all cores), got ${describe(nJobs)}`);
  }
  if (seed !== undefined && !(typeof seed === 'bigint' || Number.isSafeInteger(seed))) throw new AnnoyArgumentError(`seed must be an integer (or a bigint), got ${describe(seed)}`);
  if (maxShardBytes !== undefined && (typeof maxShardBytes !== 'number' || !Number.isSafeInteger(maxShardBytes) || maxShardBytes < 1)) {
    throw new AnnoyArgumentError(`maxShardBytes must be a positive integer, got ${describe(maxShardBytes)}`);
  }
  if (maxShardItems !== undefined && (typeof maxShardItems !== 'number' || !Number.isSafeInteger(maxShardItems) || maxShardItems < 1)) {
    throw new AnnoyArgumentError(`maxShardItems must be a positive integer, got ${describe(maxShardItems)}`);
  }
  if (labels !== undefined && (typeof labels !== 'string' || labels.length === 0 || labels === '.' || labels === '..' || /[\\/\0]/.test(labels))) {
    throw new AnnoyArgumentError(`labels must be a plain file name in the index's folder, got ${describe(labels)}`);
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new AnnoyArgumentError(`metadata must be a plain object, got ${describe(metadata)}`);
    try {
      JSON.stringify(metadata);
    } catch (cause) {
      throw new AnnoyArgumentError(`metadata must be JSON-serialisable: ${(cause as Error).message}`, { cause });
    }
  }
  if (typeof resume !== 'boolean') throw new AnnoyArgumentError(`resume must be true or false, got ${describe(resume)}`);
  if (onShard !== undefined && typeof onShard !== 'function') throw new AnnoyArgumentError(`onShard must be a function, got ${describe(onShard)}`);
  if (graph !== undefined && graph !== false) checkGraphOptions(graph);
  return { ...options, nTrees, nJobs, resume };
}

/** The positions 0 … n−1 sorted by id, or null when the ids already ascend. */
function ascendingOrder(ids: Int32Array, n: number): Uint32Array | null {
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ids[i] > ids[i - 1];
  if (sorted) return null;
  return new Uint32Array(n).map((_, r) => r).sort((a, b) => ids[a] - ids[b]);
}

/** CRC-32 of a shard's input: its ids (ascending), then its vectors in the same order. */
function inputChecksum(ids: Int32Array, vectors: Float32Array, f: number, rowOf: (local: number) => number): string {
  let crc = crc32(littleEndianBytes(ids));
  const rowBytes = 4 * f;
  const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  // Runs of consecutive rows go in one call (the whole shard when the ids already ascended).
  for (let local = 0; local < ids.length;) {
    const start = rowOf(local);
    let end = start + 1;
    while (++local < ids.length && rowOf(local) === end) end++;
    crc = crc32(bytes.subarray(start * rowBytes, end * rowBytes), crc);
  }
  return checksumText(crc);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(ids: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
  const out = new Uint8Array(ids.length * 4);
  const view = new DataView(out.buffer);
  ids.forEach((id, i) => view.setInt32(4 * i, id, true));
  return out;
}

function journalName(build: string): string {
  return `.build-${build}.json`;
}

/** The folder's committed set (its manifest), or null. A manifest that cannot be read is an error. */
function committedManifest(dir: string): ShardManifest | null {
  const path = join(dir, MANIFEST_FILE);
  const text = readTextIfExists(path);
  if (text === null) return null;
  try {
    return parseManifest(text, path);
  } catch (cause) {
    throw new AnnoyFormatError(`${dir} holds a ${MANIFEST_FILE} that is not a valid manifest (${(cause as Error).message}); refusing to build over it`, { cause });
  }
}

/** A folder holding index files that are not shards of a sharded index is not ours to fill. */
function checkFolderFree(dir: string): void {
  for (const name of listFolder(dir)) {
    if ((name.endsWith('.ann') || name.endsWith('.ids')) && !parseShardFileName(name)) {
      throw new AnnoyArgumentError(`${dir} already holds ${name}, which is not a shard of a sharded index: build into an empty or new folder`);
    }
  }
}

/** A build id unlike the committed one (file names must differ from the set readers may be opening). */
function newBuildId(committed: string | null): string {
  for (;;) {
    const id = randomBytes(4).toString('hex');
    if (id !== committed) return id;
  }
}

/** The journal of an unfinished build with the same settings, if any. */
function findJournal(dir: string, settings: string): Journal | null {
  for (const name of listFolder(dir)) {
    const m = JOURNAL.exec(name);
    if (!m) continue;
    try {
      const journal = JSON.parse(readTextIfExists(join(dir, name)) ?? 'null') as Journal;
      if (journal?.format === 'annoy-ts-sharded-journal' && journal.build === m[1] && isBuildId(journal.build) && journal.settings === settings && Array.isArray(journal.shards)) {
        return journal;
      }
    } catch {
      // An unreadable journal: that build starts over.
    }
  }
  return null;
}

/** Removes the shard files and journals of the builds `doomed` picks. */
function removeBuilds(dir: string, doomed: (build: string) => boolean): void {
  for (const name of listFolder(dir)) {
    const build = parseShardFileName(name)?.build ?? JOURNAL.exec(name)?.[1];
    if (build !== undefined && doomed(build)) {
      try {
        rmSync(join(dir, name), { force: true });
      } catch (cause) {
        throw new AnnoyIOError(`cannot remove ${join(dir, name)}: ${(cause as Error).message}`, { cause });
      }
    }
  }
}

function listFolder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (cause) {
    throw new AnnoyIOError(`cannot list ${dir}: ${(cause as Error).message}`, { cause });
  }
}
