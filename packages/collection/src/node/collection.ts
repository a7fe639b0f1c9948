// A durable collection in a folder: SQLite (WAL, synchronous=FULL) holds every item — key, vector,
// attributes — and which index segments are current; the segments (Annoy files with their sidecar
// and ids companion) are derived from it and rebuilt on worker threads. See the README, "Collections".
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import {
  AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIndex, AnnoyIOError, AnnoyStateError, attachIndex, type MetricName,
} from 'annoy-ts';
import type { AttributeFilter } from '../core/filter.ts';
import { checkDimension, checkObject, describe, parseAttributes, type Key, type UpsertItem } from '../core/input.ts';
import type { ItemInfo } from '../core/items.ts';
import {
  buildDue, checkMaxAttributesLength, checkSeed, checkTrees, policyFrom, type AutoCompactOptions, type Policy,
} from '../core/options.ts';
import { Segment } from '../core/segment.ts';
import {
  CollectionState, type BuildSnapshot, type Counts, type ItemPredicate, type PreparedUpsert, type QueryOptions, type QueryResult, type StoredItem,
} from '../core/state.ts';
import type { BuildReply, BuildRequest } from './build-worker.ts';
import {
  DATABASE_FILE, generationOf, highestGeneration, readIds, removeFiles, segmentFileNames, segmentFiles, segmentName, strayFiles,
} from './files.ts';
import { openDatabase, type SqlDatabase, type SqlStatement, type SqlValue } from './sqlite.ts';
import { startWorker } from './worker.ts';

export type { AttributeFilter, AutoCompactOptions, ItemPredicate, Key, QueryOptions, QueryResult, StoredItem, UpsertItem };

export interface CollectionOptions {
  /** The vector dimension: required to create a collection; when opening one, it must match. */
  f?: number;
  /** The metric: required to create a collection; when opening one, it must match. */
  metric?: MetricName;
  /** Trees per index segment (default 20; stored at creation, may be changed at any open). */
  trees?: number;
  /** Build seed (default 42; stored at creation). */
  seed?: number | bigint;
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

export interface CollectionInfo extends Counts {
  dir: string;
  f: number;
  metric: MetricName;
  trees: number;
  driver: string;
  building: 'full' | 'delta' | null;
}

const FORMAT = 'annoy-ts-collection';
const VERSION = 1;
/** Folders open in this process (SQLite's lock does not stop a second connection of the same process reliably). */
const openHere = new Set<string>();

interface Meta {
  base: string;
  baseUpTo: number;
  delta: string;
  deltaUpTo: number;
}

type WriteOp =
  | { kind: 'upsert'; prepared: PreparedUpsert[]; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'delete'; keys: Key[]; resolve: (n: number) => void; reject: (e: Error) => void };

interface RunningBuild {
  kind: 'full' | 'delta';
  name: string;
  worker: Worker | null;
  done: Promise<void>;
}

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
  readonly #seed: bigint;
  readonly #threads: number;
  readonly #policy: Policy;
  readonly #onBackgroundError: (error: Error) => void;
  readonly #db: SqlDatabase;
  readonly #state: CollectionState;
  readonly #sql: { upsert: SqlStatement; remove: SqlStatement; setMeta: SqlStatement };
  #meta: Meta;
  #generation: number;
  #queue: WriteOp[] = [];
  #flushScheduled = false;
  #build: RunningBuild | null = null;
  /** Builds wait their turn here (one at a time). */
  #builds: Promise<void> = Promise.resolve();
  #autoQueued = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Tests: make the next build fail after writing its files. */
  #failNextBuild = false;

  private constructor(init: {
    dir: string; f: number; metric: MetricName; trees: number; seed: bigint; threads: number; policy: Policy;
    onBackgroundError: (error: Error) => void; db: SqlDatabase; state: CollectionState; meta: Meta; generation: number;
  }) {
    this.dir = init.dir;
    this.f = init.f;
    this.metric = init.metric;
    this.#trees = init.trees;
    this.#seed = init.seed;
    this.#threads = init.threads;
    this.#policy = init.policy;
    this.#onBackgroundError = init.onBackgroundError;
    this.#db = init.db;
    this.#state = init.state;
    this.#meta = init.meta;
    this.#generation = init.generation;
    this.#sql = {
      upsert: this.#db.prepare('INSERT OR REPLACE INTO items (id, key, vector, attributes) VALUES (?, ?, ?, ?)'),
      remove: this.#db.prepare('DELETE FROM items WHERE key = ?'),
      setMeta: this.#db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    };
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
      if (!requested) {
        throw new AnnoyArgumentError(`${path} holds no collection (no ${DATABASE_FILE}); to create one, pass f and metric`);
      }
      if (existsSync(path) && !statSync(path).isDirectory()) throw new AnnoyArgumentError(`${path} exists and is not a folder`);
      mkdirSync(path, { recursive: true });
    }
    const real = realpathSync(path);
    if (openHere.has(real)) throw new AnnoyStateError(`the collection in ${real} is already open in this process: close() it first`);
    openHere.add(real);
    let db: SqlDatabase | null = null;
    try {
      db = await openDatabase(dbPath);
      lock(db, real);
      const stored = readOrCreateMeta(db, real, requested, trees ?? undefined, seed ?? undefined);
      const f = stored.f, metric = stored.metric;
      const state = new CollectionState(f, metric, maxAttributesLength);
      const meta = loadItems(db, real, state, stored.meta, o.repair === true);
      for (const file of strayFiles(real, [meta.base, meta.delta].filter((n) => n !== ''))) await removeFiles(real, [file]);
      const generation = Math.max(highestGeneration(real), ...[meta.base, meta.delta].filter((n) => n !== '').map(generationOf));
      const collection = new Collection({
        dir: real, f, metric, trees: trees ?? stored.trees, seed: stored.seed, threads, policy,
        onBackgroundError: o.onBackgroundError ?? ((e) => process.emitWarning(`annoy-ts collection ${real}: background rebuild failed: ${e.message}`, 'AnnoyTsCollectionWarning')),
        db, state, meta, generation,
      });
      if (trees !== undefined && trees !== stored.trees) collection.#writeMeta({ trees: String(trees) });
      collection.#maybeBuild();
      return collection;
    } catch (e) {
      try {
        db?.close();
      } catch {
        // already failing
      }
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

  /** Counts per part, the build in progress, the SQLite driver. */
  info(): CollectionInfo {
    return {
      dir: this.dir, f: this.f, metric: this.metric, trees: this.#trees, driver: this.#db.driver,
      building: this.#build?.kind ?? null, ...this.#state.counts(),
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
    await this.#schedule('full');
  }

  /** Finishes pending writes, stops a build in progress (its files are removed), closes the database. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    await this.#flushed();
    this.#closed = true;
    const build = this.#build;
    if (build) {
      await build.worker?.terminate();
      await build.done.catch(() => undefined);
    }
    await this.#builds.catch(() => undefined);
    try {
      this.#db.close();
    } finally {
      openHere.delete(this.dir);
    }
  }

  #checkOpen(call: string): void {
    if (this.#closed || this.#closing) throw new AnnoyStateError(`${call}: the collection in ${this.dir} is closed`);
  }

  // ---- writes: one transaction per turn of the event loop (group commit) ----

  #enqueue(op: WriteOp): void {
    this.#queue.push(op);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  async #flushed(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushScheduled) await new Promise((r) => setImmediate(r));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const ops = this.#queue;
    this.#queue = [];
    if (ops.length === 0) return;
    const state = this.#state;
    const infos: (ItemInfo[] | null)[] = [];
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const op of ops) {
          if (op.kind === 'upsert') {
            const assigned = state.assignIds(op.prepared);
            for (let j = 0; j < assigned.length; j++) {
              const p = op.prepared[j]!;
              this.#sql.upsert.run(assigned[j]!.id, p.key, vectorBytes(p.vector), p.attributesText);
            }
            infos.push(assigned);
          } else {
            for (const key of op.keys) this.#sql.remove.run(key);
            infos.push(null);
          }
        }
        this.#db.exec('COMMIT');
      } catch (e) {
        try {
          this.#db.exec('ROLLBACK');
        } catch {
          // the transaction may already be gone
        }
        throw e;
      }
    } catch (cause) {
      const error = cause instanceof AnnoyError ? cause : new AnnoyIOError(`cannot write to ${this.dir}/${DATABASE_FILE}: ${(cause as Error).message}`, { cause });
      for (const op of ops) op.reject(error);
      return;
    }
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

  #writeMeta(values: Record<string, string>): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const [name, value] of Object.entries(values)) this.#sql.setMeta.run(name, value);
      this.#db.exec('COMMIT');
    } catch (e) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // already rolled back
      }
      throw e;
    }
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
    this.#schedule(due).catch((e: Error) => {
      if (!this.#closed) this.#onBackgroundError(e);
    });
  }

  #schedule(kind: 'full' | 'delta'): Promise<void> {
    const run = this.#builds.catch(() => undefined).then(() => {
      this.#autoQueued = false;
      return this.#runBuild(kind);
    });
    this.#builds = run.catch(() => undefined).then(() => this.#maybeBuild());
    return run;
  }

  async #runBuild(kind: 'full' | 'delta'): Promise<void> {
    if (this.#closed) return;
    const state = this.#state;
    if (kind === 'delta' && state.memtable.count === 0) return;
    if (kind === 'full' && !state.delta && state.memtable.count === 0 && (!state.base || state.base.liveCount === state.base.count)) return;
    const name = segmentName(kind === 'full' ? 'base' : 'delta', ++this.#generation);
    const snapshot = state.snapshot(kind);
    let finish!: () => void;
    const build: RunningBuild = { kind, name, worker: null, done: new Promise((r) => (finish = r)) };
    this.#build = build;
    try {
      const segment = snapshot.ids.length === 0 ? null : await this.#buildSegment(snapshot, build);
      if (this.#closed) {
        await removeFiles(this.dir, segmentFileNames(name));
        return;
      }
      this.#install(snapshot, segment, name);
    } catch (e) {
      state.abandon(snapshot);
      await removeFiles(this.dir, segmentFileNames(name));
      throw e;
    } finally {
      this.#build = null;
      finish();
    }
  }

  async #buildSegment(snapshot: BuildSnapshot, build: RunningBuild): Promise<Segment> {
    const request: BuildRequest = {
      f: this.f, metric: this.metric, trees: this.#trees, threads: this.#threads, seed: this.#seed.toString(), dir: this.dir, name: build.name,
      sources: snapshot.sources.map(({ segment, positions }) => ({ path: segmentFiles(this.dir, segment.name).ann, positions })),
      rows: snapshot.rows, rowCount: snapshot.rowCount, ids: snapshot.ids.slice(),
    };
    if (this.#failNextBuild) {
      this.#failNextBuild = false;
      request.failAfterWriting = true;
    }
    const worker = startWorker('build-worker', request, [request.rows.buffer as ArrayBuffer, request.ids.buffer as ArrayBuffer]);
    build.worker = worker;
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AnnoyStateError(`the build worker stopped (exit code ${code}) before finishing ${build.name}`)));
    }).finally(() => void worker.terminate());
    if (!reply.ok) throw new AnnoyStateError(`building ${reply.name} failed: ${reply.error}`);
    const index = reply.shared ? attachIndex(reply.shared) : AnnoyIndex.open(segmentFiles(this.dir, build.name).ann, { f: this.f, metric: this.metric });
    return new Segment(build.name, index, snapshot.ids, snapshot.infos);
  }

  /** The switch: the database names the new segment (one small transaction), then memory follows, then old files go. */
  #install(snapshot: BuildSnapshot, segment: Segment | null, name: string): void {
    const state = this.#state;
    const old = snapshot.kind === 'full' ? [state.base?.name, state.delta?.name] : [state.delta?.name];
    const upTo = String(snapshot.maxId);
    const values: Record<string, string> = snapshot.kind === 'full'
      ? { base: segment ? name : '', baseUpTo: upTo, delta: '', deltaUpTo: upTo }
      : { delta: segment ? name : '', deltaUpTo: upTo };
    this.#writeMeta(values);
    this.#meta = { ...this.#meta, ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, k.endsWith('UpTo') ? Number(v) : v])) } as Meta;
    state.install(snapshot, segment);
    const files = old.filter((n): n is string => !!n).flatMap(segmentFileNames);
    void removeFiles(this.dir, files).catch(() => undefined);
  }

  /** @internal Tests: the next build fails after writing its files (as if the process died before the switch). */
  failNextBuildForTest(): void {
    this.#failNextBuild = true;
  }
}

function checkThreads(threads: unknown): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1) {
    throw new AnnoyArgumentError(`buildThreads must be a positive integer, got ${describe(threads)}`);
  }
  return threads;
}

function vectorBytes(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Takes SQLite's exclusive lock for as long as the database stays open (released by the OS if the process dies). */
function lock(db: SqlDatabase, dir: string): void {
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    // Batched upserts into a large table spend most of their time in checkpoints (copying the log
    // into the database, with fsync) and in key-index pages touched at random: checkpoints every
    // 16 MiB of log instead of 4 MiB and a 64 MiB page cache took 331k upserts in batches of 1,000
    // from 21k to 32k items/s here.
    db.exec('PRAGMA cache_size = -65536');
    db.exec('PRAGMA wal_autocheckpoint = 4096');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (cause) {
    const message = (cause as Error).message;
    if (/locked|busy/i.test(message)) {
      throw new AnnoyStateError(`the collection in ${dir} is open in another process (only one writer at a time): ${message}`, { cause });
    }
    throw databaseError(dir, cause);
  }
}

function databaseError(dir: string, cause: unknown): AnnoyError {
  const message = (cause as Error).message;
  if (/not a database|malformed|corrupt/i.test(message)) {
    return new AnnoyFormatError(`${dir}/${DATABASE_FILE} is damaged or not a collection database: ${message}`, { cause });
  }
  return new AnnoyIOError(`cannot use ${dir}/${DATABASE_FILE}: ${message}`, { cause });
}

function readOrCreateMeta(
  db: SqlDatabase, dir: string, requested: { f: number; metric: MetricName } | null, trees: number | undefined, seed: bigint | undefined,
): { f: number; metric: MetricName; trees: number; seed: bigint; meta: Meta } {
  let rows: { name: string; value: string }[];
  try {
    const hasMeta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) {
      const hasAny = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").get();
      if (hasAny) throw new AnnoyFormatError(`${dir}/${DATABASE_FILE} is an SQLite database, but not a collection's (it has no meta table)`);
      if (!requested) throw new AnnoyArgumentError(`${dir} holds no collection yet; to create one, pass f and metric`);
      db.exec('BEGIN IMMEDIATE');
      db.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
      db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, key ANY NOT NULL UNIQUE, vector BLOB NOT NULL, attributes TEXT) STRICT');
      const set = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
      const initial: Record<string, string> = {
        format: FORMAT, version: String(VERSION), f: String(requested.f), metric: requested.metric,
        trees: String(trees ?? checkTrees(undefined)), seed: (seed ?? checkSeed(undefined)).toString(),
        base: '', baseUpTo: '-1', delta: '', deltaUpTo: '-1',
      };
      for (const [name, value] of Object.entries(initial)) set.run(name, value);
      db.exec('COMMIT');
    }
    rows = db.prepare('SELECT name, value FROM meta').all() as { name: string; value: string }[];
  } catch (cause) {
    if (cause instanceof AnnoyError) throw cause;
    throw databaseError(dir, cause);
  }
  const m = new Map(rows.map((r) => [r.name, r.value]));
  if (m.get('format') !== FORMAT) throw new AnnoyFormatError(`${dir}/${DATABASE_FILE} is not a collection database (format ${describe(m.get('format'))})`);
  const version = Number(m.get('version'));
  if (version !== VERSION) throw new AnnoyFormatError(`${dir} is a version ${m.get('version')} collection; this annoy-ts reads version ${VERSION}`);
  const f = Number(m.get('f'));
  const metric = m.get('metric') as MetricName;
  checkDimension(f, metric);
  if (requested && (requested.f !== f || requested.metric !== metric)) {
    throw new AnnoyArgumentError(
      `the collection in ${dir} holds ${f}-dimensional vectors with metric '${metric}', not f = ${requested.f} with '${requested.metric}' as requested`,
    );
  }
  const num = (name: string) => {
    const v = Number(m.get(name));
    if (!Number.isSafeInteger(v)) throw new AnnoyFormatError(`${dir}/${DATABASE_FILE}: meta ${name} is ${describe(m.get(name))}`);
    return v;
  };
  return {
    f, metric, trees: num('trees'), seed: BigInt(m.get('seed') ?? '42'),
    meta: { base: m.get('base') ?? '', baseUpTo: num('baseUpTo'), delta: m.get('delta') ?? '', deltaUpTo: num('deltaUpTo') },
  };
}

/** Loads a segment named by the database, checking that its three files belong together. */
function loadSegment(dir: string, name: string, f: number, metric: MetricName): { index: AnnoyIndex; ids: Float64Array } {
  const files = segmentFiles(dir, name);
  if (!existsSync(files.sidecar)) throw new AnnoyFormatError(`${files.sidecar} is missing`);
  const index = AnnoyIndex.open(files.ann, { f, metric });
  const ids = readIds(files.ids, index.sidecar!);
  if (index.getNItems() !== ids.length) throw new AnnoyFormatError(`${files.ann} holds ${index.getNItems()} items but ${files.ids} lists ${ids.length}`);
  return { index, ids };
}

/**
 * Reads every item from the database into memory: items covered by a segment become its live
 * positions, later ones go to the memtable with their vectors. Checks that the two agree.
 */
function loadItems(db: SqlDatabase, dir: string, state: CollectionState, meta: Meta, repair: boolean): Meta {
  const { f, metric } = state;
  const segments: { name: string; upTo: number; index: AnnoyIndex; ids: Float64Array; live: Uint8Array; infos: ItemInfo[] }[] = [];
  // Items above this id are in no segment: the memtable holds them.
  let memtableFrom = Math.max(meta.baseUpTo, meta.deltaUpTo);
  for (const [name, upTo, below] of [[meta.base, meta.baseUpTo, -1], [meta.delta, meta.deltaUpTo, meta.baseUpTo]] as const) {
    if (name === '') continue;
    try {
      const { index, ids } = loadSegment(dir, name, f, metric);
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
      meta = name === meta.base
        ? { base: '', baseUpTo: -1, delta: '', deltaUpTo: -1 }
        : { ...meta, delta: '', deltaUpTo: meta.baseUpTo };
      const set = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
      db.exec('BEGIN IMMEDIATE');
      for (const [k, v] of Object.entries(meta)) set.run(k, String(v));
      db.exec('COMMIT');
      break;
    }
  }
  let rows: { id: number; key: SqlValue; attributes: string | null; vector: Uint8Array | null }[];
  try {
    rows = db.prepare('SELECT id, key, attributes, CASE WHEN id > ? THEN vector END AS vector FROM items ORDER BY id').all(memtableFrom) as typeof rows;
  } catch (cause) {
    throw databaseError(dir, cause);
  }
  let s = 0, cursor = 0, maxId = Math.max(meta.baseUpTo, meta.deltaUpTo);
  for (const row of rows) {
    const id = Number(row.id);
    const key = typeof row.key === 'bigint' ? Number(row.key) : row.key;
    if (typeof key !== 'string' && typeof key !== 'number') throw new AnnoyFormatError(`${dir}/${DATABASE_FILE}: item ${id} has a key of type ${describe(key)}`);
    let attributes;
    try {
      attributes = row.attributes === null ? null : parseAttributes(row.attributes);
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
      const blob = row.vector;
      if (!(blob instanceof Uint8Array) || blob.byteLength !== 4 * f) {
        throw new AnnoyFormatError(`${dir}/${DATABASE_FILE}: the vector of item ${describe(key)} is not ${f} float32 values`);
      }
      state.memtable.append(info, new Float32Array(Uint8Array.prototype.slice.call(blob).buffer));
    }
  }
  state.nextId = maxId + 1;
  for (const seg of segments) {
    const segment = new Segment(seg.name, seg.index, seg.ids, seg.infos, seg.live);
    if (seg.name === meta.base) state.base = segment;
    else state.delta = segment;
  }
  return meta;
}
