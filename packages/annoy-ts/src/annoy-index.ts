import { buildForest, type BuildProgress, type ProgressListener } from './forest/forest.ts';
import { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyStateError } from './errors.ts';
import { checkSidecar, type Sidecar } from './formats/sidecar.ts';
import { openRecords, recordCount } from './formats/open.ts';
import { createIndexMemory, type Batch, type IndexMemory } from './index-memory.ts';
import type { WasmMemory } from './kernels/kernels.ts';
import { Arena, Records } from './records.ts';
import { createMetric, describe } from './metrics/index.ts';
import type { Metric, MetricName } from './metrics/metric.ts';
import { KISS64_DEFAULT_SEED, Kiss64 } from './random/kiss64.ts';
import { allocateWalkWorkspace, maxQueue, reuseWalkWorkspace, Searcher, type SearchResult, type WalkWorkspace } from './search/search.ts';
import { checkBoolean, checkCount, checkItemId, checkSearchK, checkVector } from './validate.ts';

export type { BuildProgress, MetricName, SearchResult };

/** What a thread needs to search an index's shared memory in place (see AnnoyIndex.shareWithThread). */
export interface SharedIndex {
  readonly memory: WasmMemory;
  readonly f: number;
  readonly metric: MetricName;
  readonly storeOffset: number;
  readonly nNodes: number;
  readonly nItems: number;
  readonly roots: number[];
  readonly query: number;
  readonly batch: Batch;
  readonly walk: WalkWorkspace;
}

/** What a forest build needs (see AnnoyIndex.buildForest). */
export interface ForestRequest {
  readonly memory: IndexMemory;
  readonly metric: Metric;
  readonly nItems: number;
  /** Trees to build, or -1 for Annoy's automatic count. */
  readonly nTrees: number;
  /** -1: all cores; 1: the calling thread. */
  readonly nJobs: number;
  readonly seed: bigint;
  readonly onProgress?: ProgressListener;
}

export interface BuildOptions {
  /** Called as trees are built (synchronously, from inside build()). */
  onProgress?: ProgressListener;
}

/** empty/adding → built (build) → loaded (save, load, fromBuffer); unbuild goes back, unload resets. */
type State = 'adding' | 'built' | 'loaded';

const FILE_SYSTEM_MISSING =
  'this build of annoy-ts has no file system access (it is the portable build for browsers); ' +
  "use toBuffer() / AnnoyIndex.fromBuffer(), or import 'annoy-ts' under Node.js, Deno or Bun";

/**
 * An Annoy index: Spotify's approximate nearest-neighbour forest of random projection trees,
 * stored as one buffer of records in Annoy's own file layout.
 *
 * ```ts
 * const index = new AnnoyIndex(3, 'angular');
 * index.addItem(0, [1, 0, 0]);
 * index.addItem(1, [0, 1, 0]);
 * index.build(10);
 * index.getNnsByVector([0.9, 0.1, 0], 1); // → [0]
 * ```
 */
export class AnnoyIndex {
  readonly f: number;
  readonly metric: MetricName;
  private readonly policy: Metric;
  private state: State = 'adding';
  private memory: IndexMemory | null = null;
  private nItems = 0;
  private roots: readonly number[] = [];
  private seed: bigint = KISS64_DEFAULT_SEED;
  /** The seed the current trees were built with (null when they were loaded, or not built). */
  private builtWith: bigint | null = null;
  private isVerbose = false;
  private searcher: Searcher | null = null;

  constructor(f: number, metric: MetricName) {
    this.policy = createMetric(f, metric);
    this.f = f;
    this.metric = metric;
  }

  /**
   * Opens index bytes (an Annoy file's contents), copying them into the index's own memory. Give f
   * and metric, or the sidecar object annoy-ts saved beside the file (`path + '.json'`, parsed):
   * then its dimension and metric are used, and the byte length and item count must match it.
   */
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, f: number, metric: MetricName,
  ): T;
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, sidecar: Sidecar,
  ): T;
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, fOrSidecar: number | Sidecar, metric?: MetricName,
  ): T {
    if (typeof fOrSidecar === 'object' && fOrSidecar !== null) {
      const sidecar = checkSidecar(fOrSidecar, 'the sidecar');
      const index = new this(sidecar.f, sidecar.metric);
      const length = ArrayBuffer.isView(bytes) || isArrayBuffer(bytes) ? bytes.byteLength : -1;
      if (length !== -1 && length !== sidecar.byteLength) {
        throw new AnnoyFormatError(`the index bytes are ${length} long, but the sidecar describes a ${sidecar.byteLength}-byte index`);
      }
      index.loadBytes(bytes);
      if (index.getNItems() !== sidecar.nItems) {
        throw new AnnoyFormatError(`the index holds ${index.getNItems()} items, but the sidecar says ${sidecar.nItems}: it belongs to another index`);
      }
      return index;
    }
    const index = new this(fOrSidecar, metric!);
    index.loadBytes(bytes);
    return index;
  }

  /** Adds (or replaces) item `i`. Ids need not be contiguous: n_items becomes the largest id + 1. */
  addItem(i: number, vector: ArrayLike<number>): void {
    checkItemId(i);
    if (this.state === 'built') {
      throw new AnnoyStateError(`cannot add item ${i}: the index is built (call unbuild() first to add more items)`);
    }
    if (this.state === 'loaded') throw new AnnoyStateError(`cannot add item ${i}: the index was loaded or saved and is read-only`);
    checkVector(vector, this.f);
    const store = (this.memory ??= createIndexMemory(this.policy.recordBytes, Math.max(16, i + 1))).store;
    if (i >= store.count) {
      store.reserve(i + 1);
      store.count = i + 1;
    }
    this.policy.writeItem(store, i, vector);
    if (i >= this.nItems) this.nItems = i + 1;
  }

  /**
   * Builds `nTrees` trees (-1: keep adding trees until the index holds about twice as many nodes as
   * items, Annoy's automatic count). More trees give better recall and a larger index.
   * `nJobs`: the portable index validates it and builds in the calling thread; the Node entry
   * builds on nJobs threads, this one and nJobs − 1 workers (-1: one per core when the build is
   * large enough; 1: here alone, byte-identical to Annoy). The file is the same for every nJobs > 1.
   */
  build(nTrees: number, nJobs = -1, options: BuildOptions = {}): void {
    if (nTrees !== -1 && (typeof nTrees !== 'number' || !Number.isInteger(nTrees) || nTrees < 1)) {
      throw new AnnoyArgumentError(`nTrees must be a positive integer or -1 (automatic), got ${describe(nTrees)}`);
    }
    if (nJobs !== -1 && (typeof nJobs !== 'number' || !Number.isInteger(nJobs) || nJobs < 1)) {
      throw new AnnoyArgumentError(`nJobs must be a positive integer or -1 (all cores), got ${describe(nJobs)}`);
    }
    if (this.state === 'built') throw new AnnoyStateError('the index is already built (call unbuild() to rebuild it)');
    if (this.state === 'loaded') throw new AnnoyStateError('cannot build a loaded index: it is read-only');
    const memory = this.memory;
    if (!memory || this.nItems === 0) throw new AnnoyStateError('cannot build an index with no items: call addItem() first');
    const started = Date.now();
    const store = memory.store;
    const log = this.isVerbose ? (p: BuildProgress) => {
      if (p.placed === p.items) console.error(`annoy-ts: built tree ${p.trees}${p.nTrees > 0 ? ` of ${p.nTrees}` : ''} (${store.count} records, ${Date.now() - started} ms)`);
    } : undefined;
    const listener = options.onProgress && log
      ? (p: BuildProgress) => { log(p); options.onProgress!(p); }
      : options.onProgress ?? log;
    let roots: number[];
    try {
      roots = this.buildForest({ memory, metric: this.policy, nItems: this.nItems, nTrees, nJobs, seed: this.seed, onProgress: listener });
    } catch (e) {
      // A build that fails half-way (a throwing onProgress, out of memory) leaves no tree records behind.
      store.truncate(this.nItems);
      throw e;
    }
    this.roots = roots;
    this.builtWith = this.seed;
    this.state = 'built';
    this.searcher = null;
  }

  /**
   * Builds the trees into `request.memory.store` and returns their roots. Here in the calling
   * thread; the Node entry point overrides it to build on worker threads.
   */
  protected buildForest(request: ForestRequest): number[] {
    const { memory, metric, nItems, nTrees, seed, onProgress } = request;
    return buildForest(memory.store, memory, metric, nItems, nTrees, new Kiss64(seed), onProgress);
  }

  /** Drops the trees so more items can be added; the items stay. */
  unbuild(): void {
    if (this.state === 'loaded') throw new AnnoyStateError('cannot unbuild a loaded index: it is read-only');
    if (this.state !== 'built') throw new AnnoyStateError('the index is not built');
    this.memory!.store.truncate(this.nItems);
    // New items and trees may grow the store over the search workspace.
    this.memory!.walk = null;
    this.roots = [];
    this.builtWith = null;
    this.state = 'adding';
    this.searcher = null;
  }

  /**
   * Writes the index to `path` (through a temporary file renamed into place, so a failed save never
   * damages an existing file). Afterwards the index is read-only, as if it had been loaded from `path`.
   */
  save(path: string, prefault = false): void {
    checkBoolean(prefault, 'prefault');
    this.writeIndexFile(path, this.toBuffer());
    // As in Annoy, the saved index behaves as if loaded from the file: roots from the root scan.
    const opened = openRecords(this.policy, this.memory!.store);
    this.roots = opened.roots;
    this.nItems = opened.nItems;
    this.state = 'loaded';
    this.searcher = null;
  }

  /**
   * Loads an Annoy index file written by annoy-ts or by Annoy itself (Python, C++, R, Go…), replacing
   * anything this object held. The whole file is read into one ArrayBuffer that queries use directly;
   * `prefault` is accepted for Annoy compatibility (Annoy's MAP_POPULATE) — reading everything up
   * front is what annoy-ts always does.
   */
  load(path: string, prefault = false): void {
    checkBoolean(prefault, 'prefault');
    this.loadFile(path);
  }

  /**
   * Reads the file straight into a fresh index memory (no second copy), lets `verify` see the bytes
   * (the Node entry point checks them against a sidecar), then validates and adopts them; if
   * anything fails, the index loaded before stays intact.
   */
  protected loadFile(path: string, verify?: (bytes: Uint8Array) => void): void {
    let memory: IndexMemory | null = null;
    this.readIndexFile(path, (byteLength) => {
      const n = recordCount(this.policy, byteLength);
      memory = createIndexMemory(this.policy.recordBytes, n);
      memory.store.count = n;
      return new Uint8Array(memory.arena.buffer, memory.store.byteOffset, byteLength);
    });
    const loaded: IndexMemory = memory!;
    verify?.(loaded.store.bytes());
    this.adopt(loaded);
  }

  /** Forgets everything: items, trees, seed. The dimension and metric stay. */
  unload(): void {
    this.state = 'adding';
    this.memory = null;
    this.nItems = 0;
    this.roots = [];
    this.seed = KISS64_DEFAULT_SEED;
    this.builtWith = null;
    this.searcher = null;
  }

  /** The n nearest items to item `i`: ids, or { ids, distances } with includeDistances. */
  getNnsByItem(i: number, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByItem(i: number, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByItem(i: number, n: number, searchK?: number, includeDistances?: boolean): number[] | SearchResult;
  getNnsByItem(i: number, n: number, searchK = -1, includeDistances = false): number[] | SearchResult {
    const searcher = this.ready('getNnsByItem');
    this.checkExistingId(i);
    const policy = this.policy;
    const { query, store, arena } = this.memory!;
    query.zeroRecord(0);
    const from = store.word(i) + policy.vectorWord;
    arena.i32.copyWithin(query.word(0) + policy.vectorWord, from, from + policy.vectorWords);
    policy.initRecord(query, 0);
    return this.runSearch(searcher, n, searchK, includeDistances);
  }

  /** The n nearest items to `vector`: ids, or { ids, distances } with includeDistances. */
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: boolean): number[] | SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK = -1, includeDistances = false): number[] | SearchResult {
    const searcher = this.ready('getNnsByVector');
    checkVector(vector, this.f, 'query vector');
    this.policy.writeItem(searcher.query, 0, vector);
    return this.runSearch(searcher, n, searchK, includeDistances);
  }

  /**
   * Many queries at once: `queries` is a matrix (a Float32Array/Float64Array of rows × f values) or
   * an array of vectors. Results come in input order; a bad query throws an error naming its position.
   */
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK = -1, includeDistances = false): number[][] | SearchResult[] {
    const rows = queryRows(queries, this.f);
    return rows.map((row, k) => atPosition(k, () => this.getNnsByVector(row, n, searchK, includeDistances))) as number[][] | SearchResult[];
  }

  /** getNnsByItem for each id, in input order; a bad id throws an error naming its position. */
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK = -1, includeDistances = false): number[][] | SearchResult[] {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new AnnoyArgumentError(`ids must be an array or typed array of item ids, got ${describe(ids)}`);
    }
    return Array.from(ids, (id, k) => atPosition(k, () => this.getNnsByItem(id, n, searchK, includeDistances))) as number[][] | SearchResult[];
  }

  /** The stored vector of item `i` (float32-rounded; hamming: 0/1 per bit; a hole: all zeros). */
  getItemVector(i: number): number[] {
    this.checkExistingId(i);
    return this.policy.readItem(this.memory!.store, i);
  }

  /** The distance between items i and j, as queries report it. */
  getDistance(i: number, j: number): number {
    this.checkExistingId(i);
    this.checkExistingId(j);
    const store = this.memory!.store;
    return this.policy.normalizedDistance(this.policy.exactDistance(store, i, store, j));
  }

  /** Largest item id + 1 (ids never added count as holes). */
  getNItems(): number {
    return this.nItems;
  }

  /** Number of roots, as Annoy counts them (after load, its root scan decides: see the README). */
  getNTrees(): number {
    return this.roots.length;
  }

  /**
   * Seeds the tree builder (Annoy's Kiss64 generator) so builds are reproducible. Integers may be
   * negative (wrapped to 64 bits like Annoy's Python module); a bigint gives the full 64-bit range.
   */
  setSeed(seed: number | bigint): void {
    if (typeof seed === 'number') {
      if (!Number.isSafeInteger(seed)) throw new AnnoyArgumentError(`seed must be an integer (or a bigint), got ${describe(seed)}`);
      seed = BigInt(seed);
    } else if (typeof seed !== 'bigint') {
      throw new AnnoyArgumentError(`seed must be an integer (or a bigint), got ${describe(seed)}`);
    }
    if (seed < -(1n << 63n) || seed >= 1n << 64n) {
      throw new AnnoyArgumentError(`seed ${seed} does not fit in 64 bits`);
    }
    this.seed = BigInt.asUintN(64, seed);
  }

  /**
   * Describes this index for another thread that will search the same shared memory in place, and
   * reserves that thread's scratch space (query record, batch window, walk state) in it.
   * Requires a built or loaded index whose memory is shared (see kernelInfo()).
   */
  protected shareWithThread(): SharedIndex {
    if (this.state === 'adding') throw new AnnoyStateError('the index has not been built: call build() or load() first');
    const { arena, store } = this.memory!;
    if (!arena.shared || !arena.memory) {
      throw new AnnoyStateError('this index\'s memory cannot be shared with worker threads (no SharedArrayBuffer or WebAssembly SIMD here)');
    }
    const rb = this.policy.recordBytes;
    return {
      memory: arena.memory, f: this.f, metric: this.metric, storeOffset: store.byteOffset, nNodes: store.count,
      nItems: this.nItems, roots: [...this.roots], query: arena.alloc(rb),
      batch: { capacity: 4096, idsPtr: arena.alloc(4 * 4096), outPtr: arena.alloc(4 * 4096) },
      walk: allocateWalkWorkspace(store, this.roots, this.nItems, maxQueue(this.roots, store)),
    };
  }

  /** The index another thread shared (shareWithThread), read-only, searching its memory in place. */
  static fromSharedThread<T extends AnnoyIndex>(this: new (f: number, metric: MetricName) => T, shared: SharedIndex): T {
    const index = new this(shared.f, shared.metric);
    index.attachShared(shared);
    return index;
  }

  private attachShared(shared: SharedIndex): void {
    const rb = this.policy.recordBytes;
    const arena = new Arena(0, shared.memory);
    const store = new Records(arena, rb, shared.nNodes, false, shared.storeOffset);
    store.count = shared.nNodes;
    const query = new Records(arena, rb, 1, false, shared.query);
    // Searching threads never build: centroids and plane are never touched.
    this.memory = { arena, query, centroids: query, plane: query, batch: shared.batch, store, walk: shared.walk };
    this.roots = shared.roots;
    this.nItems = shared.nItems;
    this.state = 'loaded';
    this.searcher = new Searcher(store, this.policy, this.roots, this.nItems, query, shared.batch, shared.walk);
  }

  /** The seed the current trees were built with; null for loaded indexes (the file does not record it). */
  protected get treeSeed(): bigint | null {
    return this.builtWith;
  }

  /** Logs build progress to the console (stderr under Node). */
  verbose(on: boolean): void {
    this.isVerbose = checkBoolean(on, 'verbose');
  }

  /** Exactly the bytes save() writes. The view shares memory with the index: do not modify it. */
  toBuffer(): Uint8Array {
    if (this.state === 'adding') throw new AnnoyStateError('the index has not been built: call build() (or load()) first');
    return this.memory!.store.bytes();
  }

  /**
   * Reads the whole file at `path` into the bytes `allocate(size)` returns. Overridden by the Node
   * entry point.
   */
  protected readIndexFile(path: string, allocate: (byteLength: number) => Uint8Array): void {
    void path; void allocate;
    throw new AnnoyStateError(`cannot load: ${FILE_SYSTEM_MISSING}`);
  }

  /** Writes `bytes` to `path` atomically. Overridden by the Node entry point. */
  protected writeIndexFile(path: string, bytes: Uint8Array): void {
    void path; void bytes;
    throw new AnnoyStateError(`cannot save: ${FILE_SYSTEM_MISSING}`);
  }

  private loadBytes(bytes: ArrayBufferLike | ArrayBufferView): void {
    let source: Uint8Array;
    if (ArrayBuffer.isView(bytes)) {
      source = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } else if (isArrayBuffer(bytes)) {
      source = new Uint8Array(bytes);
    } else {
      throw new AnnoyArgumentError(`index bytes must be an ArrayBuffer or a typed array / Buffer, got ${describe(bytes)}`);
    }
    const n = recordCount(this.policy, source.byteLength);
    const memory = createIndexMemory(this.policy.recordBytes, n);
    memory.arena.u8.set(source, memory.store.byteOffset);
    memory.store.count = n;
    this.adopt(memory);
  }

  /** Makes `memory` (records of an Annoy file) this index's, once they prove searchable. */
  private adopt(memory: IndexMemory): void {
    const { roots, nItems } = openRecords(this.policy, memory.store);
    this.unload();
    this.memory = memory;
    this.roots = roots;
    this.nItems = nItems;
    this.state = 'loaded';
  }

  private ready(call: string): Searcher {
    if (this.state === 'adding') throw new AnnoyStateError(`${call}: the index has not been built: call build() or load() first`);
    if (this.searcher) return this.searcher;
    const memory = this.memory!;
    const { store, query, batch } = memory;
    if (store.arena.kernels.walk) memory.walk = reuseWalkWorkspace(memory.walk, store, this.roots, this.nItems);
    return (this.searcher = new Searcher(store, this.policy, this.roots, this.nItems, query, batch, memory.walk ?? undefined));
  }

  private checkExistingId(i: number): void {
    checkItemId(i);
    if (i >= this.nItems) {
      throw new AnnoyArgumentError(
        this.nItems === 0 ? `item ${i} does not exist: the index is empty` : `item ${i} does not exist: ids run from 0 to ${this.nItems - 1}`,
      );
    }
  }

  private runSearch(searcher: Searcher, n: number, searchK: number, includeDistances: boolean): number[] | SearchResult {
    checkCount(n, 'n (the number of neighbours)');
    checkSearchK(searchK);
    checkBoolean(includeDistances, 'includeDistances');
    const result = searcher.search(n, searchK, includeDistances);
    return includeDistances ? result : result.ids;
  }
}

function isArrayBuffer(value: unknown): value is ArrayBufferLike {
  return value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer);
}

/** Splits a batch of queries (a rows × f matrix, or an array of vectors) into rows, checking its shape. */
export function queryRows(queries: ArrayLike<number> | readonly ArrayLike<number>[], f: number): ArrayLike<number>[] {
  if (queries === null || typeof queries !== 'object' || typeof (queries as { length?: unknown }).length !== 'number') {
    throw new AnnoyArgumentError(`queries must be a matrix (rows × ${f} numbers) or an array of vectors, got ${describe(queries)}`);
  }
  if (ArrayBuffer.isView(queries)) {
    const m = queries as unknown as Float32Array;
    if (m.length % f !== 0) throw new AnnoyArgumentError(`a query matrix must hold whole rows of ${f} values, got ${m.length} values`);
    return Array.from({ length: m.length / f }, (_, r) => m.subarray(r * f, (r + 1) * f));
  }
  return Array.from(queries as readonly ArrayLike<number>[]);
}

/** Runs one query of a batch, prefixing any error with the query's position. */
export function atPosition<T>(k: number, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof AnnoyError) {
      const Class = e.constructor as new (message: string, options?: { cause?: unknown }) => AnnoyError;
      throw new Class(`query ${k}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
