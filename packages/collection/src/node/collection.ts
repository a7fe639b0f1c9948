// A durable collection in a folder: SQLite (WAL, synchronous=FULL) holds every item — key, vector,
// attributes — and which index segments are current; the segments (Annoy files with their sidecar
// and ids companion, and with the graph option a neighbour graph) are derived from it and rebuilt
// on worker threads. See the README, "Collections".
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIndex, AnnoyIOError, AnnoyStateError, attachIndex, type MetricName } from 'annoy-ts';
import type { AttributeFilter } from '../core/filter.ts';
import { checkDimension, checkObject, describe, parseAttributes, type Key, type UpsertItem } from '../core/input.ts';
import type { ItemInfo } from '../core/items.ts';
import {
  buildDue, checkGraph, checkMaxAttributesLength, checkSeed, checkTrees, DEFAULT_SEED, DEFAULT_TREES, graphText, parseGraphText, policyFrom,
  type AutoCompactOptions, type CollectionGraphOptions, type Policy,
} from '../core/options.ts';
import { Segment } from '../core/segment.ts';
import {
  CollectionState, type BuildSnapshot, type Counts, type ItemPredicate, type PreparedUpsert, type QueryOptions, type QueryResult, type StoredItem,
} from '../core/state.ts';
import type { BuildReply, BuildRequest } from './build-worker.ts';
import { DATABASE_FILE, type Meta, type WriteOp } from './database.ts';
import { generationOf, highestGeneration, readIds, removeFiles, segmentFileNames, segmentFiles, segmentName, strayFiles } from './files.ts';
import { Store } from './store.ts';
import { startWorker } from './worker.ts';

export type { AttributeFilter, AutoCompactOptions, CollectionGraphOptions, ItemPredicate, Key, QueryOptions, QueryResult, StoredItem, UpsertItem };

export interface CollectionOptions {
  /** The vector dimension: required to create a collection; when opening one, it must match. */
  f?: number;
  /** The metric: required to create a collection; when opening one, it must match. */
  metric?: MetricName;
  /** Trees per index segment (default 20; stored at creation, may be changed at any open). */
  trees?: number;
  /** Build seed (default 42; stored at creation). */
  seed?: number | bigint;
  /**
   * Also build a neighbour graph for every index segment (true, or annoy-ts graph options without
   * nJobs — the build uses buildThreads — and onProgress; default false). Queries then walk the
   * graph (deleted items excluded through the same live-item set), several times faster than the
   * forest at the same recall; but a build then takes several times longer: on GloVe-100 (331k)
   * the graph alone took 75.5 s on 2 threads, where bench:collection's whole compaction without
   * it took 51.7 s (20 trees), so about 2.5× in all; 6,000 GloVe words on one thread, 10 trees:
   * 1.2–1.4 s against 0.5–0.7 s (collection-graph.test.ts). Each segment gets a `.ann.graph`
   * file (see the README, "Neighbour graphs"). Stored like `trees`: given
   * at any open, it changes the setting, which applies from the next build on; segments without a
   * graph (or whose .graph is missing or damaged: see info().unusedGraphs) are searched with their forest.
   */
  graph?: boolean | CollectionGraphOptions;
  /** Background rebuilds: false to rebuild only on compact(), or thresholds (see AutoCompactOptions). */
  autoCompact?: boolean | AutoCompactOptions;
  /** Threads a rebuild uses (default: all cores but one, at least 1); the event loop's thread is never one of them. */
  buildThreads?: number;
  /** Largest attributes of one item, as JSON text (default 65,536 characters). */
  maxAttributesLength?: number;
  /**
   * Open even if an index segment is missing or damaged: its items (all kept in the database) are
   * searched exactly until the next compaction rebuilds the index. Default false: such a folder is an error.
   */
  repair?: boolean;
  /** Called with errors of background rebuilds (default: a process warning). The collection keeps its previous indexes. */
  onBackgroundError?: (error: Error) => void;
}

/** The last rebuild: how long it took, and how long it held up the thread that answers queries. */
export interface BuildReport {
  kind: 'full' | 'delta';
  items: number;
  seconds: number;
  /** Seconds of the neighbour graph's build within `seconds` (null: no graph built). */
  graphSeconds: number | null;
  /** Milliseconds of the snapshot taken at the start (the only other work on the query thread is the switch). */
  snapshotMs: number;
  /** Milliseconds of the switch to the new index (the database commit runs on its own thread). */
  switchMs: number;
}

export interface CollectionInfo extends Counts {
  dir: string;
  f: number;
  metric: MetricName;
  trees: number;
  /** The graph setting: false, or the graph options builds use (see `base.graph`/`delta.graph` for what segments have). */
  graph: false | CollectionGraphOptions;
  /**
   * Current segments whose `.ann.graph` file exists but could not be used (damaged, or not of
   * that segment's index bytes): they are searched with their forest until a build replaces them
   * (a process warning said so when the collection was opened).
   */
  unusedGraphs: { segment: string; reason: string }[];
  driver: string;
  building: 'full' | 'delta' | null;
  lastBuild: BuildReport | null;
}

/** Folders open in this process (SQLite's lock does not stop a second connection of the same process reliably). */
const openHere = new Set<string>();

type QueuedWrite =
  | { kind: 'upsert'; prepared: PreparedUpsert[]; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'delete'; keys: Key[]; resolve: (n: number) => void; reject: (e: Error) => void };

interface RunningBuild {
  kind: 'full' | 'delta';
  name: string;
  worker: Worker | null;
  graphSeconds: number | null;
}

/**
 * @internal Collections whose next build fails after writing its files, as if the process died
 * before the switch: fault injection for tests, which import this module directly (the package's
 * entries do not export it).
 */
export const failingNextBuild = new WeakSet<object>();

/**
 * A collection of items — a key (string or safe integer), a vector, JSON attributes — stored
 * durably in a folder and searched with annoy-ts indexes, which are rebuilt in the background.
 *
 * ```ts
 * const c = await Collection.open('songs', { f: 100, metric: 'angular' });
 * await c.upsert([{ key: 'a', vector, attributes: { genre: 'jazz', year: 1959 } }]);
 * c.query(vector, 10, { filter: { genre: 'jazz', year: { $gte: 1950 } } }); // [{ key, distance, attributes }]
 * await c.close();
 * ```
 */
export class Collection {
  readonly dir: string;
  readonly f: number;
  readonly metric: MetricName;
  #trees: number;
  readonly #graph: CollectionGraphOptions | null;
  readonly #seed: bigint;
  readonly #threads: number;
  readonly #policy: Policy;
  readonly #onBackgroundError: (error: Error) => void;
  readonly #store: Store;
  readonly #driver: string;
  readonly #state: CollectionState;
  #generation: number;
  /** Writes waiting for the next commit, and whether a commit is under way (one at a time). */
  #queue: QueuedWrite[] = [];
  #committing: Promise<void> | null = null;
  #build: RunningBuild | null = null;
  #lastBuild: BuildReport | null = null;
  /** Builds wait their turn here (one at a time). */
  #builds: Promise<void> = Promise.resolve();
  #autoQueued = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Segments opened without their damaged or foreign graph, and why. */
  readonly #unusedGraphs: { segment: string; reason: string }[];

  private constructor(init: {
    dir: string; f: number; metric: MetricName; trees: number; graph: CollectionGraphOptions | null; seed: bigint; threads: number; policy: Policy;
    onBackgroundError: (error: Error) => void; store: Store; driver: string; state: CollectionState; generation: number;
    unusedGraphs: { segment: string; reason: string }[];
  }) {
    this.dir = init.dir;
    this.f = init.f;
    this.metric = init.metric;
    this.#trees = init.trees;
    this.#graph = init.graph;
    this.#unusedGraphs = init.unusedGraphs;
    this.#seed = init.seed;
    this.#threads = init.threads;
    this.#policy = init.policy;
    this.#onBackgroundError = init.onBackgroundError;
    this.#store = init.store;
    this.#driver = init.driver;
    this.#state = init.state;
    this.#generation = init.generation;
  }

  /**
   * Opens the collection in `dir`, creating it (and the folder) when there is none — then `f` and
   * `metric` are required. An existing collection must match the `f` and `metric` given. Only one
   * Collection may have a folder open at a time (in any process): a second gets an AnnoyStateError.
   */
  static async open(dir: string, options: CollectionOptions = {}): Promise<Collection> {
    if (typeof dir !== 'string' || dir.length === 0) throw new AnnoyArgumentError(`dir must be a non-empty string, got ${describe(dir)}`);
    const o = checkObject(options, 'options') as CollectionOptions;
    const policy = policyFrom(o.autoCompact);
    const trees = o.trees === undefined ? undefined : checkTrees(o.trees);
    const seed = o.seed === undefined ? undefined : checkSeed(o.seed);
    const graph = o.graph === undefined ? undefined : checkGraph(o.graph);
    const maxAttributesLength = checkMaxAttributesLength(o.maxAttributesLength);
    const threads = o.buildThreads === undefined ? Math.max(1, availableParallelism() - 1) : checkThreads(o.buildThreads);
    if (o.repair !== undefined && typeof o.repair !== 'boolean') throw new AnnoyArgumentError(`repair must be true or false, got ${describe(o.repair)}`);
    if (o.onBackgroundError !== undefined && typeof o.onBackgroundError !== 'function') {
      throw new AnnoyArgumentError(`onBackgroundError must be a function, got ${describe(o.onBackgroundError)}`);
    }
    const requested = o.f !== undefined || o.metric !== undefined ? checkDimension(o.f, o.metric) : null;

    const path = resolve(dir);
    const dbPath = `${path}/${DATABASE_FILE}`;
    if (!existsSync(dbPath)) {
      if (!requested) throw new AnnoyArgumentError(`${path} holds no collection (no ${DATABASE_FILE}); to create one, pass f and metric`);
      if (existsSync(path) && !statSync(path).isDirectory()) throw new AnnoyArgumentError(`${path} exists and is not a folder`);
      mkdirSync(path, { recursive: true });
    }
    const real = realpathSync(path);
    if (openHere.has(real)) throw new AnnoyStateError(`the collection in ${real} is already open in this process: close() it first`);
    openHere.add(real);
    const store = new Store({ path: dbPath, dir: real });
    try {
      const settings = await store.open({ requested, trees: trees ?? DEFAULT_TREES, seed: (seed ?? DEFAULT_SEED).toString(), graph: graphText(graph ?? null) });
      const { f, metric } = settings;
      const storedGraph = parseGraphText(settings.graph, `${real}/${DATABASE_FILE}`);
      const state = new CollectionState(f, metric, maxAttributesLength);
      const unusedGraphs: { segment: string; reason: string }[] = [];
      const meta = await loadItems(store, real, state, settings.meta, o.repair === true, (segment, reason) => {
        unusedGraphs.push({ segment, reason });
        process.emitWarning(
          `annoy-ts collection ${real}: the neighbour graph of segment ${segment} is not used (${reason}); its forest answers until the next build replaces it`,
          'AnnoyTsCollectionWarning',
        );
      });
      await removeFiles(real, strayFiles(real, [meta.base, meta.delta].filter((n) => n !== '')));
      const generation = Math.max(highestGeneration(real), ...[meta.base, meta.delta].filter((n) => n !== '').map(generationOf));
      const collection = new Collection({
        dir: real, f, metric, trees: trees ?? settings.trees, graph: graph === undefined ? storedGraph : graph, seed: BigInt(settings.seed), threads, policy,
        onBackgroundError: o.onBackgroundError ?? ((e) => process.emitWarning(`annoy-ts collection ${real}: background rebuild failed: ${e.message}`, 'AnnoyTsCollectionWarning')),
        store, driver: settings.driver, state, generation, unusedGraphs,
      });
      if (trees !== undefined && trees !== settings.trees) await store.setMeta({ trees: String(trees) });
      if (graph !== undefined && graphText(graph) !== settings.graph) await store.setMeta({ graph: graphText(graph) });
      collection.#maybeBuild();
      return collection;
    } catch (e) {
      await store.close();
      openHere.delete(real);
      throw e;
    }
  }

  /** Live items. */
  get size(): number {
    return this.#state.size;
  }

  /** Trees per index segment. */
  get trees(): number {
    return this.#trees;
  }

  /** The graph setting builds use: false, or the graph options (see info() for which segments have a graph). */
  get graph(): false | CollectionGraphOptions {
    return this.#graph === null ? false : { ...this.#graph };
  }

  /**
   * Inserts or replaces items. Resolves once the batch is durable (committed to the database and
   * flushed to disk); from then on queries see it. The batch is checked as a whole first: one bad
   * item rejects it and nothing is written. A key given twice in one batch: the last one wins.
   */
  async upsert(items: readonly UpsertItem[]): Promise<void> {
    this.#checkOpen('upsert');
    const prepared = this.#state.prepareUpsert(items);
    if (prepared.length === 0) return;
    await new Promise<void>((resolve, reject) => this.#enqueue({ kind: 'upsert', prepared, resolve, reject }));
  }

  /** Deletes items by key (keys not present are ignored); resolves, once durable, with how many were deleted. */
  async delete(keys: readonly Key[]): Promise<number> {
    this.#checkOpen('delete');
    const prepared = this.#state.prepareDelete(keys);
    if (prepared.length === 0) return 0;
    return new Promise<number>((resolve, reject) => this.#enqueue({ kind: 'delete', keys: prepared, resolve, reject }));
  }

  /** The item stored under `key` (its vector float32-rounded), or undefined. */
  get(key: Key): StoredItem | undefined {
    this.#checkOpen('get');
    return this.#state.get(key);
  }

  has(key: Key): boolean {
    this.#checkOpen('has');
    return this.#state.has(key);
  }

  /** Every live item's key and attributes (in no particular order). */
  entries(): IterableIterator<{ key: Key; attributes: Record<string, unknown> }> {
    this.#checkOpen('entries');
    return this.#state.entries();
  }

  /**
   * The n nearest items to `vector`, nearest first: `[{ key, distance, attributes, vector? }]`.
   * Every acknowledged write is visible; deleted items never appear; a replaced item appears once.
   */
  query(vector: ArrayLike<number>, n: number, options: QueryOptions = {}): QueryResult[] {
    this.#checkOpen('query');
    return this.#state.query(vector, n, options);
  }

  /** Counts per part, the build in progress and the last one, the SQLite driver. */
  info(): CollectionInfo {
    const counts = this.#state.counts();
    const current = [counts.base?.name, counts.delta?.name];
    return {
      dir: this.dir, f: this.f, metric: this.metric, trees: this.#trees, graph: this.graph,
      unusedGraphs: this.#unusedGraphs.filter((u) => current.includes(u.segment)).map((u) => ({ ...u })),
      driver: this.#driver, building: this.#build?.kind ?? null, lastBuild: this.#lastBuild, ...counts,
    };
  }

  /**
   * Rebuilds the index from all live items on worker threads, then switches to it atomically;
   * queries and writes go on meanwhile (writes made during the build are kept beside it). Resolves
   * after the switch. A crash during the build leaves the previous indexes in use.
   */
  async compact(): Promise<void> {
    this.#checkOpen('compact');
    await this.#flushed();
    await this.#schedule('full', true);
  }

  /** Finishes pending writes, stops a build in progress (its files are removed), closes the database. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    await this.#flushed();
    this.#closed = true;
    await this.#build?.worker?.terminate();
    await this.#builds.catch(() => undefined);
    try {
      await this.#store.close();
    } finally {
      openHere.delete(this.dir);
    }
  }

  #checkOpen(call: string): void {
    if (this.#closed || this.#closing) throw new AnnoyStateError(`${call}: the collection in ${this.dir} is closed`);
  }

  // ---- writes: whatever queued up while the previous commit ran goes in the next (group commit) ----

  #enqueue(op: QueuedWrite): void {
    this.#queue.push(op);
    this.#committing ??= this.#commitAll();
  }

  async #flushed(): Promise<void> {
    while (this.#committing) await this.#committing;
  }

  async #commitAll(): Promise<void> {
    // Let writes made in this turn of the event loop join the first commit.
    await new Promise((r) => setImmediate(r));
    while (this.#queue.length > 0) {
      const ops = this.#queue;
      this.#queue = [];
      await this.#commit(ops);
    }
    this.#committing = null;
  }

  async #commit(ops: QueuedWrite[]): Promise<void> {
    const state = this.#state;
    const infos = ops.map((op) => (op.kind === 'upsert' ? state.assignIds(op.prepared) : null));
    const writes: WriteOp[] = ops.map((op, j) => {
      if (op.kind === 'delete') return { kind: 'delete', keys: op.keys };
      const vectors = new Float32Array(op.prepared.length * this.f);
      op.prepared.forEach((p, k) => vectors.set(p.vector, k * this.f));
      return { kind: 'upsert', ids: infos[j]!.map((i) => i.id), keys: op.prepared.map((p) => p.key), vectors, attributes: op.prepared.map((p) => p.attributesText) };
    });
    try {
      await this.#store.write(writes);
    } catch (cause) {
      const error = cause instanceof AnnoyError ? cause : new AnnoyIOError(`cannot write to ${this.dir}/${DATABASE_FILE}: ${(cause as Error).message}`, { cause });
      for (const op of ops) op.reject(error);
      return;
    }
    // Durable now: apply in order, then acknowledge.
    ops.forEach((op, j) => {
      if (op.kind === 'upsert') {
        state.applyUpsert(op.prepared, infos[j]!);
        op.resolve();
      } else {
        op.resolve(state.applyDelete(op.keys));
      }
    });
    this.#maybeBuild();
  }

  // ---- builds ----

  #maybeBuild(): void {
    if (this.#closed || this.#closing || this.#build || this.#autoQueued) return;
    const s = this.#state;
    const due = buildDue(this.#policy, {
      baseItems: s.base?.count ?? 0, baseLive: s.base?.liveCount ?? 0, deltaLive: s.delta?.liveCount ?? 0,
      memtableRows: s.memtable.count, memtableLive: s.memtable.liveCount,
    });
    if (!due) return;
    this.#autoQueued = true;
    this.#schedule(due, false).catch((e: Error) => {
      if (!this.#closed) this.#onBackgroundError(e);
    });
  }

  /** Queues a build; `awaited`: someone waits for it (compact()), so it keeps the process alive. */
  #schedule(kind: 'full' | 'delta', awaited: boolean): Promise<void> {
    const run = this.#builds.catch(() => undefined).then(() => {
      this.#autoQueued = false;
      return this.#runBuild(kind, awaited);
    });
    this.#builds = run.catch(() => undefined).then(() => this.#maybeBuild());
    return run;
  }

  async #runBuild(kind: 'full' | 'delta', awaited: boolean): Promise<void> {
    if (this.#closed) return;
    const state = this.#state;
    if (kind === 'delta' && state.memtable.count === 0) return;
    if (kind === 'full' && !state.delta && state.memtable.count === 0 && (!state.base || state.base.liveCount === state.base.count)) return;
    const name = segmentName(kind === 'full' ? 'base' : 'delta', ++this.#generation);
    const started = performance.now();
    const snapshot = state.snapshot(kind);
    const snapshotMs = performance.now() - started;
    const build: RunningBuild = { kind, name, worker: null, graphSeconds: null };
    this.#build = build;
    try {
      const segment = snapshot.ids.length === 0 ? null : await this.#buildSegment(snapshot, build, awaited);
      if (this.#closed) {
        await removeFiles(this.dir, segmentFileNames(name));
        return;
      }
      const switchMs = await this.#install(snapshot, segment, name);
      this.#lastBuild = { kind, items: snapshot.ids.length, seconds: (performance.now() - started) / 1000, graphSeconds: build.graphSeconds, snapshotMs, switchMs };
    } catch (e) {
      state.abandon(snapshot);
      await removeFiles(this.dir, segmentFileNames(name));
      throw e;
    } finally {
      this.#build = null;
    }
  }

  async #buildSegment(snapshot: BuildSnapshot, build: RunningBuild, awaited: boolean): Promise<Segment> {
    const request: BuildRequest = {
      f: this.f, metric: this.metric, trees: this.#trees, graph: this.#graph, threads: this.#threads, seed: this.#seed.toString(), dir: this.dir, name: build.name,
      sources: snapshot.sources.map(({ segment, positions }) => ({ path: segmentFiles(this.dir, segment.name).ann, positions })),
      rows: snapshot.rows, rowCount: snapshot.rowCount, ids: snapshot.ids.slice(),
    };
    if (failingNextBuild.delete(this)) request.failAfterWriting = true;
    const worker = startWorker('build-worker', request, [request.rows.buffer as ArrayBuffer, request.ids.buffer as ArrayBuffer]);
    // A build nobody waits for does not keep the process alive (its files are cleaned up at the next open).
    if (!awaited) worker.unref();
    build.worker = worker;
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AnnoyStateError(`the build worker stopped (exit code ${code}) before finishing ${build.name}`)));
    }).finally(() => void worker.terminate());
    if (!reply.ok) throw new AnnoyStateError(`building ${reply.name} failed: ${reply.error}`);
    build.graphSeconds = reply.graphSeconds;
    const index = reply.shared ? attachIndex(reply.shared) : AnnoyIndex.open(segmentFiles(this.dir, build.name).ann, { f: this.f, metric: this.metric });
    return new Segment(build.name, index, snapshot.ids, snapshot.infos);
  }

  /**
   * The switch: the database names the new segment (one small commit, on the database thread),
   * then memory follows in one step, then the old files go. Returns the milliseconds memory took.
   */
  async #install(snapshot: BuildSnapshot, segment: Segment | null, name: string): Promise<number> {
    const state = this.#state;
    const old = snapshot.kind === 'full' ? [state.base?.name, state.delta?.name] : [state.delta?.name];
    const upTo = String(snapshot.maxId);
    await this.#store.setMeta(snapshot.kind === 'full'
      ? { base: segment ? name : '', baseUpTo: upTo, delta: '', deltaUpTo: upTo }
      : { delta: segment ? name : '', deltaUpTo: upTo });
    const t = performance.now();
    state.install(snapshot, segment);
    const switchMs = performance.now() - t;
    void removeFiles(this.dir, old.filter((n): n is string => !!n).flatMap(segmentFileNames)).catch(() => undefined);
    return switchMs;
  }
}

function checkThreads(threads: unknown): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1) {
    throw new AnnoyArgumentError(`buildThreads must be a positive integer, got ${describe(threads)}`);
  }
  return threads;
}

/**
 * Loads a segment named by the database, checking that its files belong together. Its graph
 * (`.ann.graph`, optional) is attached when it belongs to the index bytes; one that does not, or
 * is damaged, is left unused (`unusedGraph` hears why) and the segment is searched with its forest.
 */
function loadSegment(
  dir: string, name: string, f: number, metric: MetricName, unusedGraph: (segment: string, reason: string) => void,
): { index: AnnoyIndex; ids: Float64Array } {
  const files = segmentFiles(dir, name);
  if (!existsSync(files.sidecar)) throw new AnnoyFormatError(`${files.sidecar} is missing`);
  let index: AnnoyIndex;
  let graphProblem: string | null = null;
  try {
    index = AnnoyIndex.open(files.ann, { f, metric });
  } catch (e) {
    if (!existsSync(files.graph)) throw e;
    // Without the graph: if this opens, the graph was the problem (else the index's error stands).
    index = AnnoyIndex.open(files.ann, { f, metric, graph: false });
    graphProblem = (e as Error).message;
  }
  const ids = readIds(files.ids, index.sidecar!);
  if (index.getNItems() !== ids.length) throw new AnnoyFormatError(`${files.ann} holds ${index.getNItems()} items but ${files.ids} lists ${ids.length}`);
  if (graphProblem !== null) unusedGraph(name, graphProblem);
  return { index, ids };
}

/**
 * Reads every item from the database into memory: items covered by a segment become its live
 * positions, later ones go to the memtable with their vectors. Checks that the two agree.
 */
async function loadItems(
  store: Store, dir: string, state: CollectionState, meta: Meta, repair: boolean, unusedGraph: (segment: string, reason: string) => void,
): Promise<Meta> {
  const { f, metric } = state;
  const segments: { name: string; upTo: number; index: AnnoyIndex; ids: Float64Array; live: Uint8Array; infos: ItemInfo[] }[] = [];
  // Items above this id are in no segment: the memtable holds them.
  let memtableFrom = Math.max(meta.baseUpTo, meta.deltaUpTo);
  for (const [name, upTo, below] of [[meta.base, meta.baseUpTo, -1], [meta.delta, meta.deltaUpTo, meta.baseUpTo]] as const) {
    if (name === '') continue;
    try {
      const { index, ids } = loadSegment(dir, name, f, metric, unusedGraph);
      segments.push({ name, upTo, index, ids, live: new Uint8Array(ids.length), infos: new Array<ItemInfo>(ids.length) });
    } catch (e) {
      if (!repair) {
        throw new AnnoyFormatError(
          `the collection in ${dir} cannot use its index segment ${name}: ${(e as Error).message}. Every item is safe in ${DATABASE_FILE}: ` +
            'open with { repair: true } to search them exactly until a compaction rebuilds the index',
          { cause: e },
        );
      }
      // Repair: from this segment on, items go to the memtable (their vectors are in the database);
      // the database forgets the segments dropped, and the next compaction rebuilds them.
      memtableFrom = below;
      meta = name === meta.base ? { base: '', baseUpTo: -1, delta: '', deltaUpTo: -1 } : { ...meta, delta: '', deltaUpTo: meta.baseUpTo };
      await store.setMeta(Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])));
      break;
    }
  }
  const rows = await store.rows(f, memtableFrom);
  const keys = JSON.parse(rows.keys) as (string | number)[];
  const attributeTexts = JSON.parse(rows.attributes) as (string | null)[];
  let s = 0, cursor = 0, withVector = 0, maxId = Math.max(meta.baseUpTo, meta.deltaUpTo);
  for (let r = 0; r < rows.ids.length; r++) {
    const id = rows.ids[r]!, key = keys[r]!, text = attributeTexts[r]!;
    let attributes;
    try {
      attributes = text === null ? null : parseAttributes(text);
    } catch (cause) {
      throw new AnnoyFormatError(`${dir}/${DATABASE_FILE}: the attributes of item ${describe(key)} are not JSON`, { cause });
    }
    const info: ItemInfo = { id, key, attributes };
    maxId = Math.max(maxId, id);
    state.keyMap.set(key, info);
    while (s < segments.length && id > segments[s]!.upTo) {
      s++;
      cursor = 0;
    }
    if (s < segments.length) {
      const seg = segments[s]!;
      while (cursor < seg.ids.length && seg.ids[cursor]! < id) cursor++;
      if (cursor >= seg.ids.length || seg.ids[cursor] !== id) {
        throw new AnnoyFormatError(`${dir}: item ${describe(key)} (id ${id}) is in ${DATABASE_FILE} but not in the index segment ${seg.name} that should hold it`);
      }
      seg.live[cursor] = 1;
      seg.infos[cursor] = info;
    } else {
      if (rows.vectorRows[withVector] !== r) throw new AnnoyFormatError(`${dir}/${DATABASE_FILE}: item ${describe(key)} has no vector`);
      state.memtable.append(info, rows.vectors.subarray(withVector * f, (withVector + 1) * f));
      withVector++;
    }
  }
  state.nextId = maxId + 1;
  state.appliedUpTo = maxId;
  for (const seg of segments) {
    const segment = new Segment(seg.name, seg.index, seg.ids, seg.infos, seg.live);
    if (seg.name === meta.base) state.base = segment;
    else state.delta = segment;
  }
  return meta;
}
