import type { BuildProgress, ProgressListener } from './forest/forest.ts';
import { callingThreadBuild, type BuildPolicy } from './forest/policy.ts';
import { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyStateError } from './errors.ts';
import { checkAgainstSidecar, type Sidecar } from './formats/sidecar.ts';
import type { Crc32 } from './formats/checksum.ts';
import { checkGraphOptions, graphQuery, IndexGraph, type GraphOptions, type GraphSource } from './graph/index-graph.ts';
import type { GraphSearcher, GraphWorkspace, PlacedGraph } from './graph/search.ts';
import { openRecords, recordCount } from './formats/open.ts';
import { createIndexMemory, type IndexMemory, type SearchMemory } from './index-memory.ts';
import { createMetric, describe } from './metrics/index.ts';
import type { Metric, MetricName } from './metrics/metric.ts';
import { KISS64_DEFAULT_SEED } from './random/kiss64.ts';
import type { AllowedIds, IdPredicate } from './search/filter.ts';
import { checkNeighbourCount, checkQueryOptions, type CheckedQuery, type QueryOptions } from './search/options.ts';
import { reuseWalkWorkspace, Searcher, type SearchResult } from './search/search.ts';
import { checkBoolean, checkItemId, checkSearchK, checkVector } from './validate.ts';

export type { BuildProgress, GraphOptions, MetricName, QueryOptions, SearchResult };

/** Query options that ask for distances: the answer is { ids, distances }. */
export type WithDistances = QueryOptions & { includeDistances: true };
/** Query options without distances: the answer is the ids. */
export type WithoutDistances = QueryOptions & { includeDistances?: false };

/** @internal An index's searchable state, for the modules that share it with other threads (threads/share.ts). */
export interface SearchState {
  readonly metric: Metric;
  readonly memory: SearchMemory;
  readonly roots: readonly number[];
  readonly nItems: number;
  /** The neighbour graph, when the index has one. */
  readonly graph: IndexGraph | null;
}

/** @internal A graph placed in a shared memory, with one other thread's workspace for searching it. */
export interface AttachedGraph {
  readonly placed: PlacedGraph;
  readonly workspace: GraphWorkspace;
  readonly rootsAt: number;
}

export interface BuildOptions {
  /** Called as trees are built (synchronously, from inside build()). */
  onProgress?: ProgressListener;
  /**
   * Also build the neighbour graph (true, or its options): queries then walk the graph, much
   * faster at the same recall; save() writes it to `path + '.graph'`. See buildGraph().
   */
  graph?: boolean | GraphOptions;
}

/** The companion bytes fromBuffer() can take beside the index bytes. */
export interface FromBufferOptions {
  /** The index's neighbour graph (the bytes of the `.graph` file save() wrote, or of toGraphBuffer()). */
  graph?: ArrayBufferLike | ArrayBufferView;
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
  private readonly buildPolicy: BuildPolicy;
  private state: State = 'adding';
  /** Owned (IndexMemory) once items are added or bytes loaded; search-only when attached to another thread's memory. */
  private memory: IndexMemory | SearchMemory | null = null;
  private nItems = 0;
  private roots: readonly number[] = [];
  /** The seed of the next build (setSeed). */
  private seed: bigint = KISS64_DEFAULT_SEED;
  /** The seed the current trees were built with: from build(), or the sidecar open() read; null when unknown or not built. */
  private builtWith: bigint | null = null;
  private isVerbose = false;
  private searcher: Searcher | null = null;
  /** The neighbour graph (buildGraph, build(…, { graph }), a .graph file, or another thread's), and this thread's searcher of it. */
  private graph: IndexGraph | null = null;
  private graphSearcher: GraphSearcher | null = null;
  /** This thread's workspace for the graph of another thread's memory (attach). */
  private attachedGraph: AttachedGraph | null = null;

  constructor(f: number, metric: MetricName);
  /** @internal `buildPolicy`: how build() builds the trees (the Node entry passes its worker-thread policy). */
  constructor(f: number, metric: MetricName, buildPolicy: BuildPolicy);
  constructor(f: number, metric: MetricName, buildPolicy: BuildPolicy = callingThreadBuild) {
    this.policy = createMetric(f, metric);
    this.buildPolicy = buildPolicy;
    this.f = f;
    this.metric = metric;
  }

  /**
   * Opens index bytes (an Annoy file's contents), copying them into the index's own memory. Give f
   * and metric, or the sidecar object annoy-ts saved beside the file (`path + '.json'`, parsed):
   * then its dimension and metric are used, and the byte length and item count must match it.
   */
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, f: number, metric: MetricName, options?: FromBufferOptions,
  ): T;
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, sidecar: Sidecar, options?: FromBufferOptions,
  ): T;
  static fromBuffer<T extends AnnoyIndex>(
    this: new (f: number, metric: MetricName) => T, bytes: ArrayBufferLike | ArrayBufferView, fOrSidecar: number | Sidecar,
    metricOrOptions?: MetricName | FromBufferOptions, maybeOptions?: FromBufferOptions,
  ): T {
    const bySidecar = typeof fOrSidecar === 'object' && fOrSidecar !== null;
    const options = (bySidecar ? metricOrOptions : maybeOptions) as FromBufferOptions | undefined;
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new AnnoyArgumentError(`fromBuffer options must be an object { graph? }, got ${describe(options)}`);
    }
    const graphBytes = options?.graph === undefined ? null : byteView(options.graph, 'graph bytes');
    const graph: GraphSource | null = graphBytes && { name: 'the graph bytes', read: (allocate) => allocate(graphBytes.byteLength).set(graphBytes) };
    if (bySidecar) {
      const source = byteView(bytes);
      // The checksum is not computed here (the caller has the bytes in hand; checkAgainstSidecar can).
      const sidecar = checkAgainstSidecar(source, fOrSidecar, { verifyChecksum: false });
      const index = new this(sidecar.f, sidecar.metric);
      index.copyIn(source, graph);
      return index;
    }
    const index = new this(fOrSidecar as number, metricOrOptions as MetricName);
    index.copyIn(byteView(bytes), graph);
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
    if (!this.memory || this.nItems === 0) throw new AnnoyStateError('cannot build an index with no items: call addItem() first');
    const graphOptions = options.graph === undefined || options.graph === false ? null : checkGraphOptions(options.graph, nJobs);
    const memory = owned(this.memory);
    const started = Date.now();
    const store = memory.store;
    const log = this.isVerbose ? (p: BuildProgress) => {
      if (p.graph) {
        if (p.graph.done === p.graph.total) console.error(`annoy-ts: graph ${p.graph.stage} done (${Date.now() - started} ms)`);
      } else if (p.placed === p.items) {
        console.error(`annoy-ts: built tree ${p.trees}${p.nTrees > 0 ? ` of ${p.nTrees}` : ''} (${store.count} records, ${Date.now() - started} ms)`);
      }
    } : undefined;
    const listener = options.onProgress && log
      ? (p: BuildProgress) => { log(p); options.onProgress!(p); }
      : options.onProgress ?? log;
    let roots: number[];
    try {
      roots = this.buildPolicy.buildForest({ memory, metric: this.policy, nItems: this.nItems, nTrees, nJobs, seed: this.seed, onProgress: listener });
    } catch (e) {
      // A build that fails half-way (a throwing onProgress, out of memory) leaves no tree records behind.
      store.truncate(this.nItems);
      throw e;
    }
    this.roots = roots;
    this.builtWith = this.seed;
    this.state = 'built';
    this.searcher = null;
    this.dropGraph();
    // build()'s listener hears the graph's progress too (unless the graph options name their own).
    if (graphOptions && !graphOptions.onProgress && listener) graphOptions.onProgress = listener;
    if (graphOptions) this.graph = IndexGraph.build(this.policy, store, this.roots, this.nItems, graphOptions, this.buildPolicy.graphThreading ?? null, nTrees);
  }

  /**
   * Builds the neighbour graph of a built or loaded index — an index saved by Annoy itself (Python,
   * C++…) included — replacing any graph it had. The trees give each item its first candidate
   * neighbours, NN-descent refines them, diversity pruning keeps the useful ones (see README
   * "Graph search"). Queries then walk the graph; save() writes it beside the index file.
   */
  buildGraph(options?: GraphOptions): void {
    const checked = checkGraphOptions(options);
    if (this.state === 'adding') throw new AnnoyStateError('buildGraph: the index has not been built: call build() or load() first');
    const memory = owned(this.memory!);
    this.dropGraph();
    this.graph = IndexGraph.build(this.policy, memory.store, this.roots, this.nItems, checked, this.buildPolicy.graphThreading ?? null);
  }

  /** Whether queries walk a neighbour graph (buildGraph, build(…, { graph }), or a loaded .graph file). */
  hasGraph(): boolean {
    return this.graph !== null;
  }

  /**
   * The bytes of the index's `.graph` file (what save() writes beside the index): they belong to
   * exactly the bytes toBuffer() returns. Throws when the index has no graph.
   */
  toGraphBuffer(): Uint8Array;
  /** @internal `crc32`: the CRC-32 to record the index bytes with (the Node entry's is native). */
  toGraphBuffer(crc32: Crc32): Uint8Array;
  toGraphBuffer(crc32?: Crc32): Uint8Array {
    if (!this.graph) throw new AnnoyStateError('the index has no neighbour graph: call buildGraph() first');
    return this.graph.toBytes(this.policy, this.toBuffer(), crc32);
  }

  private dropGraph(): void {
    this.graph = null;
    this.graphSearcher = null;
    this.attachedGraph = null;
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
    this.dropGraph();
  }

  /**
   * Writes the index to `path` (through a temporary file renamed into place, so a failed save never
   * damages an existing file). Afterwards the index is read-only, as if it had been loaded from `path`.
   * Needs the file system: this portable build explains that; the Node entry's AnnoyIndex saves.
   */
  save(path: string, prefault = false): void {
    checkBoolean(prefault, 'prefault');
    this.toBuffer(); // an unbuilt index is a state error first, as in the Node entry
    throw new AnnoyStateError(`cannot save ${JSON.stringify(path)}: ${FILE_SYSTEM_MISSING}`);
  }

  /**
   * Loads an Annoy index file written by annoy-ts or by Annoy itself (Python, C++, R, Go…), replacing
   * anything this object held. The whole file is read into one ArrayBuffer that queries use directly;
   * `prefault` is accepted for Annoy compatibility (Annoy's MAP_POPULATE) — reading everything up
   * front is what annoy-ts always does. Needs the file system (the Node entry's AnnoyIndex).
   */
  load(path: string, prefault = false): void {
    checkBoolean(prefault, 'prefault');
    throw new AnnoyStateError(`cannot load ${JSON.stringify(path)}: ${FILE_SYSTEM_MISSING}`);
  }

  /**
   * @internal Bytes in, without a copy (the Node entry's load and open): `read(allocate)` asks
   * `allocate` for room for `byteLength` bytes in a fresh index memory, fills it (from a file…) and
   * may check the bytes there. They are then validated and adopted, with `treeSeed` as the seed the
   * trees were built with (null: unknown). If anything throws, the index held before stays intact.
   */
  adoptBytes(
    read: (allocate: (byteLength: number) => Uint8Array) => void, treeSeed: bigint | null = null, graph: GraphSource | null = null,
  ): void {
    let memory = null as IndexMemory | null;
    read((byteLength) => {
      const n = recordCount(this.policy, byteLength);
      memory = createIndexMemory(this.policy.recordBytes, n);
      memory.store.count = n;
      return memory.store.bytes();
    });
    if (!memory) throw new Error('internal: adoptBytes: read() never allocated');
    this.adopt(memory, treeSeed, graph);
  }

  /**
   * @internal After the index's bytes were saved: as in Annoy, the index now behaves as if loaded
   * from them (read-only; roots and item count from Annoy's root scan). The build seed stays known.
   */
  reopen(): void {
    if (this.state === 'adding') throw new AnnoyStateError('the index has not been built: call build() (or load()) first');
    const opened = openRecords(this.policy, this.memory!.store);
    this.roots = opened.roots;
    this.nItems = opened.nItems;
    this.state = 'loaded';
    this.searcher = null;
    // The graph stays (the bytes are the same); its searcher starts again from the roots found now.
    this.graphSearcher = null;
  }

  /** @internal The seed the current trees were built with (from build(), or the sidecar open() read); null when unknown. */
  get treeSeed(): bigint | null {
    return this.builtWith;
  }

  /** Forgets everything: items, trees, seed. The dimension and metric stay. */
  unload(): void {
    this.clear();
  }

  /** unload(), for the steps that replace the index's contents (subclasses learn of those from their own calls). */
  private clear(): void {
    this.state = 'adding';
    this.memory = null;
    this.nItems = 0;
    this.roots = [];
    this.seed = KISS64_DEFAULT_SEED;
    this.builtWith = null;
    this.searcher = null;
    this.dropGraph();
  }

  /**
   * The n nearest items to item `i`: ids, or { ids, distances } with includeDistances. Annoy's
   * positional form (i, n, searchK, includeDistances), or an options object (i, n, { searchK,
   * includeDistances, filter, maxDistance }): see QueryOptions and getNnsByVector.
   */
  getNnsByItem(i: number, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByItem(i: number, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByItem(i: number, n: number, searchK?: number, includeDistances?: boolean): number[] | SearchResult;
  getNnsByItem(i: number, n: number, options: WithDistances): SearchResult;
  getNnsByItem(i: number, n: number, options: WithoutDistances): number[];
  getNnsByItem(i: number, n: number, options: QueryOptions): number[] | SearchResult;
  getNnsByItem(i: number, n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false): number[] | SearchResult {
    const searcher = this.ready('getNnsByItem');
    this.checkExistingId(i);
    const checked = this.checkQuery(n, searchKOrOptions, includeDistances);
    return this.itemQuery(searcher, i, n, checked);
  }

  private itemQuery(searcher: Searcher, i: number, n: number, checked: CheckedQuery): number[] | SearchResult {
    const policy = this.policy;
    const { query, store, arena } = this.memory!;
    query.zeroRecord(0);
    const from = store.word(i) + policy.vectorWord;
    arena.i32.copyWithin(query.word(0) + policy.vectorWord, from, from + policy.vectorWords);
    policy.initRecord(query, 0);
    return this.runSearch(searcher, n, checked);
  }

  /**
   * The n nearest items to `vector`: ids, or { ids, distances } with includeDistances. Annoy's
   * positional form (vector, n, searchK, includeDistances), or an options object:
   *
   * - `filter`: only these items may be returned — a predicate (id) => boolean, or the allowed ids
   *   as a Set, an array, a typed array, or an AllowedIds built once for many calls;
   * - `maxDistance`: only items within this distance (dot: with an inner product of at least it);
   *   n may then be Infinity: every item in range the search reaches (searchK widens it);
   * - `searchK`, `includeDistances` as in the positional form (with a filter, searchK counts
   *   allowed candidates).
   *
   * ```ts
   * index.getNnsByVector(v, 10, { filter: new Set([3, 5, 8, 13]) });
   * index.getNnsByVector(v, Infinity, { maxDistance: 0.5, includeDistances: true });
   * ```
   */
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: boolean): number[] | SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, options: WithDistances): SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, options: WithoutDistances): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, options: QueryOptions): number[] | SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false): number[] | SearchResult {
    const searcher = this.ready('getNnsByVector');
    checkVector(vector, this.f, 'query vector');
    return this.vectorQuery(searcher, vector, n, this.checkQuery(n, searchKOrOptions, includeDistances));
  }

  private vectorQuery(searcher: Searcher, vector: ArrayLike<number>, n: number, checked: CheckedQuery): number[] | SearchResult {
    this.policy.writeItem(searcher.query, 0, vector);
    return this.runSearch(searcher, n, checked);
  }

  /**
   * Many queries at once: `queries` is a matrix (a Float32Array/Float64Array of rows × f values) or
   * an array of vectors. Results come in input order; a bad query throws an error naming its position.
   * Options as for getNnsByVector (a filter's ids become a bitset once for the whole batch).
   */
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: WithDistances): SearchResult[];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: WithoutDistances): number[][];
  getNnsByVectors(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: QueryOptions): number[][] | SearchResult[];
  getNnsByVectors(
    queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false,
  ): number[][] | SearchResult[] {
    const rows = queryRows(queries, this.f);
    if (rows.length === 0) return [];
    const checked = this.checkQuery(n, searchKOrOptions, includeDistances);
    return rows.map((row, k) => atPosition(k, () => {
      const searcher = this.ready('getNnsByVector');
      checkVector(row, this.f, 'query vector');
      return this.vectorQuery(searcher, row, n, checked);
    })) as number[][] | SearchResult[];
  }

  /**
   * getNnsByItem for each id, in input order; a bad id throws an error naming its position.
   * Options as for getNnsByItem (a filter's ids become a bitset once for the whole batch).
   */
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: WithDistances): SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: WithoutDistances): number[][];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: QueryOptions): number[][] | SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false): number[][] | SearchResult[] {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new AnnoyArgumentError(`ids must be an array or typed array of item ids, got ${describe(ids)}`);
    }
    if (ids.length === 0) return [];
    const checked = this.checkQuery(n, searchKOrOptions, includeDistances);
    return Array.from(ids, (id, k) => atPosition(k, () => {
      const searcher = this.ready('getNnsByItem');
      this.checkExistingId(id);
      return this.itemQuery(searcher, id, n, checked);
    })) as number[][] | SearchResult[];
  }

  /**
   * @internal A query's options checked once (Annoy's positional searchK and includeDistances, or
   * an options object; n with them): filter ids become a bitset here.
   */
  checkQuery(n: unknown, searchKOrOptions: unknown, includeDistances: unknown): CheckedQuery {
    if (typeof searchKOrOptions === 'object' && searchKOrOptions !== null) {
      if (includeDistances !== false && includeDistances !== undefined) {
        throw new AnnoyArgumentError('with an options object, give includeDistances inside it: { includeDistances: true }');
      }
      return checkQueryOptions(searchKOrOptions, n, this.policy, this.nItems);
    }
    checkNeighbourCount(n, false);
    return { searchK: checkSearchK(searchKOrOptions), includeDistances: checkBoolean(includeDistances, 'includeDistances'), refinement: null };
  }

  /**
   * @internal The items a predicate filter allows, asking it once about each item (holes are never
   * asked about): how a predicate reaches threads that cannot call it (the query pool).
   */
  allowedBy(predicate: IdPredicate): AllowedIds {
    return this.ready('a filtered query').allowedBy(predicate);
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

  /** @internal What searching this index reads (threads/share.ts describes it for another thread). */
  searchState(): SearchState {
    if (this.state === 'adding') throw new AnnoyStateError('the index has not been built: call build() or load() first');
    return { metric: this.policy, memory: this.memory!, roots: this.roots, nItems: this.nItems, graph: this.graph };
  }

  /**
   * @internal Makes this index a read-only view of records that live elsewhere (another thread's
   * memory, attached by threads/share.ts). They were validated where they were loaded or built.
   */
  attach(memory: SearchMemory, roots: readonly number[], nItems: number, graph: AttachedGraph | null = null): void {
    this.clear();
    this.memory = memory;
    this.roots = roots;
    this.nItems = nItems;
    this.state = 'loaded';
    this.searcher = new Searcher(memory.store, this.policy, roots, nItems, memory.query, memory.batch, memory.walk ?? undefined);
    if (graph) {
      this.graph = IndexGraph.attached(graph.placed, memory.arena);
      this.attachedGraph = graph;
    }
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

  /** Copies index bytes into a fresh index memory and adopts them (fromBuffer). */
  private copyIn(source: Uint8Array, graph: GraphSource | null): void {
    this.adoptBytes((allocate) => allocate(source.byteLength).set(source), null, graph);
  }

  /**
   * Makes `memory` (records of an Annoy file) this index's, once they prove searchable — with the
   * graph of `graph`, once it proves to belong to exactly these bytes.
   */
  private adopt(memory: IndexMemory, treeSeed: bigint | null, graph: GraphSource | null): void {
    const { roots, nItems } = openRecords(this.policy, memory.store);
    const indexGraph = graph && IndexGraph.read(graph, this.policy, memory.store, nItems, memory.store.bytes());
    this.clear();
    this.memory = memory;
    this.roots = roots;
    this.nItems = nItems;
    this.builtWith = treeSeed;
    this.state = 'loaded';
    this.graph = indexGraph;
  }

  private ready(call: string): Searcher {
    if (this.state === 'adding') throw new AnnoyStateError(`${call}: the index has not been built: call build() or load() first`);
    if (this.searcher) return this.searcher;
    const memory = this.memory!;
    const { store, query, batch } = memory;
    if (store.arena.kernels.walk) memory.walk = reuseWalkWorkspace(memory.walk, store, this.roots, this.nItems);
    return (this.searcher = new Searcher(store, this.policy, this.roots, this.nItems, query, batch, memory.walk ?? undefined));
  }

  /** This thread's searcher of the graph (made on first use, in the index's own memory). */
  private searchGraph(): GraphSearcher {
    if (this.graphSearcher) return this.graphSearcher;
    const { store, query } = this.memory!;
    const graph = this.graph!;
    const space = this.attachedGraph ?? graph.reserve(this.roots.length);
    return (this.graphSearcher = graph.searcher(store, this.policy, this.roots, this.nItems, query, space));
  }

  private checkExistingId(i: number): void {
    checkItemId(i);
    if (i >= this.nItems) {
      throw new AnnoyArgumentError(
        this.nItems === 0 ? `item ${i} does not exist: the index is empty` : `item ${i} does not exist: ids run from 0 to ${this.nItems - 1}`,
      );
    }
  }

  private runSearch(searcher: Searcher, n: number, checked: CheckedQuery): number[] | SearchResult {
    const viaGraph = this.hasGraph() && graphQuery(this.searchGraph(), n, checked.searchK, checked.includeDistances, checked.refinement);
    if (viaGraph) return checked.includeDistances ? viaGraph : viaGraph.ids;
    const result = searcher.search(n, checked.searchK, checked.includeDistances, checked.refinement ?? undefined);
    return checked.includeDistances ? result : result.ids;
  }
}

function isArrayBuffer(value: unknown): value is ArrayBufferLike {
  return value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer);
}

/** Index bytes given as an ArrayBuffer or any view of one (Buffer included), as bytes. */
function byteView(bytes: ArrayBufferLike | ArrayBufferView, what = 'index bytes'): Uint8Array {
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isArrayBuffer(bytes)) return new Uint8Array(bytes);
  throw new AnnoyArgumentError(`${what} must be an ArrayBuffer or a typed array / Buffer, got ${describe(bytes)}`);
}

export type { GraphSource };

/** The memory of an index that owns it (only an index attached to another thread's memory does not; it never builds). */
function owned(memory: IndexMemory | SearchMemory): IndexMemory {
  if (!('centroids' in memory)) throw new AnnoyStateError('this index searches another thread\'s memory and is read-only');
  return memory;
}

/** @internal Splits a batch of queries (a rows × f matrix, or an array of vectors) into rows, checking its shape. */
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

/** @internal Runs one query of a batch, prefixing any error with the query's position. */
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
