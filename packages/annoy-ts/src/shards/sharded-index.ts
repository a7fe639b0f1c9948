// A sharded index: a folder of complete annoy-ts indexes (each a plain Annoy file with its
// sidecar) and the manifest naming them, searched as one index. See manifest.ts for the format.
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { atPosition, queryRows, type QueryOptions, type SearchResult, type WithDistances, type WithoutDistances } from '../annoy-index.ts';
import { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIOError, AnnoyStateError, errorClassNamed } from '../errors.ts';
import { createMetric, describe } from '../metrics/index.ts';
import type { Metric, MetricName } from '../metrics/metric.ts';
import { checkNeighbourCount, checkQueryOptions } from '../search/options.ts';
import { AnnoyIndex, attachIndex } from '../node/annoy-index.ts';
import { readTextIfExists } from '../node/files.ts';
import { startWorker } from '../node/workers.ts';
import { checkBoolean, checkItemId, checkSearchK, checkVector } from '../validate.ts';
import { ShardIdDirectory, type ShardLocation } from './ids.ts';
import { MANIFEST_FILE, parseManifest, parseShardFileName, type ShardManifest } from './manifest.ts';
import { loadShard, shardName, type OpenReply, type OpenRequest } from './load.ts';
import { mergeNearest } from './merge.ts';
import { filterError, ShardQuery } from './query.ts';

export interface ShardedOpenOptions {
  /** Compare every shard's CRC-32 (and its id file's) with the manifest (default true; ≈ 0.2 ms per MB). */
  verifyChecksum?: boolean;
  /**
   * Open even when some shards cannot be loaded (default false: any bad shard is an error). The
   * shards that failed are listed in `failedShards`; queries then answer from the others only, and
   * asking for an item of a failed shard is an AnnoyStateError.
   */
  allowPartial?: boolean;
}

/** The options object of a sharded query: AnnoyIndex's QueryOptions, with searchK per shard and filters over global ids. */
export type ShardedQueryOptions = QueryOptions;

/** A shard the index could not load (only with allowPartial). */
export interface FailedShard {
  shard: number;
  path: string;
  error: AnnoyError;
}

interface LoadedShard {
  shard: number;
  index: AnnoyIndex;
}

type VectorMatrix = ArrayLike<number> | readonly ArrayLike<number>[];

/** How often open() starts again when the set was replaced while it was being read. */
const OPEN_ATTEMPTS = 3;

/** The answer of a shard that was not asked (no item of it may be returned). */
const NOTHING: SearchResult = Object.freeze({ ids: [], distances: [] }) as SearchResult;

/**
 * Several annoy-ts indexes searched as one: every query goes to every shard and the per-shard
 * n best are merged exactly (nearest first, equal distances by the smaller id). Item ids are the
 * user's global ids; each shard stores its items under dense local ids (see the manifest).
 *
 * ```ts
 * const index = ShardedIndex.open('vectors.shards');
 * index.getNnsByVector(query, 10);                   // like AnnoyIndex
 * await index.getNnsByVectorsAsync(queries, 10);     // every shard's worker pool at once
 * await index.close();
 * ```
 */
export class ShardedIndex {
  readonly f: number;
  readonly metric: MetricName;
  /** The folder the index was opened from. */
  readonly dir: string;
  readonly manifest: ShardManifest;
  /** Shards that could not be loaded (empty unless opened with allowPartial). */
  readonly failedShards: readonly FailedShard[];
  readonly #shards: readonly LoadedShard[];
  /** The loaded shard holding manifest shard k, or undefined when it failed. */
  readonly #byNumber: readonly (LoadedShard | undefined)[];
  readonly #ids: ShardIdDirectory;
  readonly #largerFirst: boolean;
  readonly #policy: Metric;
  /** Items of each shard (local ids 0 … n − 1). */
  readonly #nLocal: readonly number[];
  #unloaded = false;
  /** A two-item index that computes distances between items of different shards exactly as a shard would. */
  #pair: AnnoyIndex | null = null;

  private constructor(dir: string, manifest: ShardManifest, loaded: LoadedShard[], failed: FailedShard[], ids: ShardIdDirectory) {
    this.dir = dir;
    this.manifest = manifest;
    this.f = manifest.f;
    this.metric = manifest.metric;
    this.#shards = loaded;
    const byNumber: (LoadedShard | undefined)[] = new Array(manifest.shards.length);
    for (const s of loaded) byNumber[s.shard] = s;
    this.#byNumber = byNumber;
    this.failedShards = failed;
    this.#ids = ids;
    this.#largerFirst = manifest.metric === 'dot';
    this.#policy = createMetric(manifest.f, manifest.metric);
    this.#nLocal = manifest.shards.map((s) => s.nItems);
  }

  /**
   * Opens the sharded index in folder `dir`: reads manifest.json, then every shard into its own
   * memory (RSS ≈ the sum of the shard files), checking each against the manifest — present, of
   * the right length, f and metric, item count and checksum — and that no unlisted index file of
   * this build lies in the folder. Any problem is an AnnoyFormatError naming the shard (unless
   * `allowPartial`). When a rebuild replaces the set while it is being read, open starts again.
   */
  static open(dir: string, options: ShardedOpenOptions = {}): ShardedIndex {
    const { verifyChecksum, allowPartial } = checkOpen(dir, options);
    for (let attempt = 1; ; attempt++) {
      const manifest = readManifest(dir);
      try {
        checkNoExtraFiles(dir, manifest);
        const loads = manifest.shards.map((_, k): ShardLoad => {
          try {
            return { ok: true, ...loadShard(dir, manifest, k, verifyChecksum) };
          } catch (e) {
            const load = failedLoad(dir, manifest, k, e);
            if (!allowPartial) throw load.error;
            return load;
          }
        });
        return ShardedIndex.#assemble(dir, manifest, loads);
      } catch (e) {
        // A shard that vanished or changed under a manifest that has since been replaced: the set was rebuilt meanwhile.
        if (attempt >= OPEN_ATTEMPTS || !(e instanceof AnnoyError) || !manifestChanged(dir, manifest)) throw e;
      }
    }
  }

  /**
   * open() without blocking the event loop: the shards are read and checked on worker threads, up
   * to `threads` at a time (default: one per core), and searched in place afterwards (their
   * memories are shared, nothing is copied). Where memories cannot be shared (no WebAssembly SIMD
   * or SharedArrayBuffer), shards are read on the calling thread as open() does.
   */
  static async openAsync(dir: string, options: ShardedOpenOptions & { threads?: number } = {}): Promise<ShardedIndex> {
    const { verifyChecksum, allowPartial } = checkOpen(dir, options);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new AnnoyArgumentError(`threads must be a positive integer, got ${describe(threads)}`);
    for (let attempt = 1; ; attempt++) {
      const manifest = readManifest(dir);
      try {
        checkNoExtraFiles(dir, manifest);
        const loads = await loadOnThreads(dir, manifest, verifyChecksum, allowPartial, Math.min(threads, manifest.shards.length));
        return ShardedIndex.#assemble(dir, manifest, loads);
      } catch (e) {
        if (attempt >= OPEN_ATTEMPTS || !(e instanceof AnnoyError) || !manifestChanged(dir, manifest)) throw e;
      }
    }
  }

  static #assemble(dir: string, manifest: ShardManifest, loads: readonly ShardLoad[]): ShardedIndex {
    const loaded: LoadedShard[] = [];
    const failed: FailedShard[] = [];
    loads.forEach((load, k) => (load.ok ? loaded.push({ shard: k, index: load.index }) : failed.push({ shard: k, path: join(dir, manifest.shards[k].file), error: load.error })));
    if (loaded.length === 0) throw failed[0].error;
    const lists = loads.map((load) => (load.ok ? load.ids : null));
    const ids = new ShardIdDirectory(manifest.shards, lists, (k) => shardName(manifest, k, join(dir, manifest.shards[k].file)));
    return new ShardedIndex(dir, manifest, loaded, failed, ids);
  }

  /** Number of shards in the manifest (failed ones included). */
  getNShards(): number {
    return this.manifest.shards.length;
  }

  /** Largest item id + 1, as AnnoyIndex counts (ids no shard holds are holes). */
  getNItems(): number {
    return this.manifest.nItems;
  }

  /** Trees of each shard (Annoy's root count; the largest when shards differ). */
  getNTrees(): number {
    return Math.max(...this.#shards.map(({ index }) => index.getNTrees()));
  }

  /** Items actually held by the set (failed shards included). */
  get size(): number {
    return this.manifest.count;
  }

  /** The AnnoyIndex of shard k (read-only: it belongs to this ShardedIndex); null when it failed to load. */
  shard(k: number): AnnoyIndex | null {
    if (!Number.isInteger(k) || k < 0 || k >= this.manifest.shards.length) {
      throw new AnnoyArgumentError(`shard must be an integer from 0 to ${this.manifest.shards.length - 1}, got ${describe(k)}`);
    }
    return this.#byNumber[k]?.index ?? null;
  }

  /**
   * The n nearest items to `vector` over all shards: global ids, or { ids, distances } with
   * includeDistances. `searchK` is per shard. The options object takes the filter (global ids, or
   * a predicate asked about global ids) and maxDistance of AnnoyIndex's queries.
   */
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, options: WithDistances): SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, options: WithoutDistances): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, options: QueryOptions): number[] | SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[] | SearchResult;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[] | SearchResult {
    const q = this.#plan(n, searchK, includeDistances, false);
    checkVector(vector, this.f, 'query vector');
    return this.#answer(this.#searchVector(vector, q), q);
  }

  /** The n nearest items to item `id` (a global id) over all shards. */
  getNnsByItem(id: number, n: number, searchK?: number, includeDistances?: false): number[];
  getNnsByItem(id: number, n: number, searchK: number | undefined, includeDistances: true): SearchResult;
  getNnsByItem(id: number, n: number, options: WithDistances): SearchResult;
  getNnsByItem(id: number, n: number, options: WithoutDistances): number[];
  getNnsByItem(id: number, n: number, options: QueryOptions): number[] | SearchResult;
  getNnsByItem(id: number, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[] | SearchResult;
  getNnsByItem(id: number, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[] | SearchResult {
    const q = this.#plan(n, searchK, includeDistances, false);
    return this.#answer(this.#searchItem(id, q), q);
  }

  /** getNnsByVector for each row of a matrix (rows × f values) or array of vectors, in input order. */
  getNnsByVectors(queries: VectorMatrix, n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByVectors(queries: VectorMatrix, n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByVectors(queries: VectorMatrix, n: number, options: WithDistances): SearchResult[];
  getNnsByVectors(queries: VectorMatrix, n: number, options: WithoutDistances): number[][];
  getNnsByVectors(queries: VectorMatrix, n: number, options: QueryOptions): number[][] | SearchResult[];
  getNnsByVectors(queries: VectorMatrix, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[][] | SearchResult[] {
    const q = this.#plan(n, searchK, includeDistances, false);
    const rows = queryRows(queries, this.f);
    return rows.map((row, k) => atPosition(k, () => this.#answer(this.#searchVector(checkVector(row, this.f, 'query vector'), q), q))) as number[][] | SearchResult[];
  }

  /** getNnsByItem for each id, in input order. */
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): number[][];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: WithDistances): SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: WithoutDistances): number[][];
  getNnsByItems(ids: ArrayLike<number>, n: number, options: QueryOptions): number[][] | SearchResult[];
  getNnsByItems(ids: ArrayLike<number>, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): number[][] | SearchResult[] {
    const q = this.#plan(n, searchK, includeDistances, false);
    checkIdList(ids);
    return Array.from(ids, (id, k) => atPosition(k, () => this.#answer(this.#searchItem(id, q), q))) as number[][] | SearchResult[];
  }

  /**
   * Batch queries on worker threads: each shard's own query pool (AnnoyIndex.getNnsByVectorsAsync)
   * searches it, all shards at once, and the answers are merged per query. A filter predicate is
   * asked about every item first, on this thread.
   */
  getNnsByVectorsAsync(queries: VectorMatrix, n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByVectorsAsync(queries: VectorMatrix, n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByVectorsAsync(queries: VectorMatrix, n: number, options: WithDistances): Promise<SearchResult[]>;
  getNnsByVectorsAsync(queries: VectorMatrix, n: number, options: WithoutDistances): Promise<number[][]>;
  getNnsByVectorsAsync(queries: VectorMatrix, n: number, options: QueryOptions): Promise<number[][] | SearchResult[]>;
  async getNnsByVectorsAsync(queries: VectorMatrix, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): Promise<number[][] | SearchResult[]> {
    const q = this.#plan(n, searchK, includeDistances, true);
    const matrix = this.#matrix(queryRows(queries, this.f));
    const rows = matrix.length / this.f;
    // Every shard's options first (a failing filter then fails the call before any shard searches).
    const plans = this.#shards.map(({ shard }) => q.forShard(shard));
    const answers = await Promise.all(this.#shards.map(({ shard, index }, s) => {
      const options = plans[s];
      if (options === null || rows === 0) return [] as SearchResult[];
      return index.getNnsByVectorsAsync(matrix, q.n, options).then((rs) => rs.map((r) => this.#globalize(shard, r)));
    }));
    return Array.from({ length: rows }, (_, r) => this.#answer(answers.map((a) => a[r] ?? NOTHING), q)) as number[][] | SearchResult[];
  }

  /** getNnsByItem for each id on the worker pools (see getNnsByVectorsAsync). */
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: WithDistances): Promise<SearchResult[]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: WithoutDistances): Promise<number[][]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: QueryOptions): Promise<number[][] | SearchResult[]>;
  async getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchK?: number | QueryOptions, includeDistances?: boolean): Promise<number[][] | SearchResult[]> {
    const q = this.#plan(n, searchK, includeDistances, true);
    checkIdList(ids);
    const where = Array.from(ids, (id, k) => atPosition(k, () => this.#locate(id)));
    const vectors = this.#matrix(where.map((at) => (at ? this.#byNumber[at.shard]!.index.getItemVector(at.local) : this.#zeros())));
    const f = this.f;
    const plans = this.#shards.map(({ shard }) => q.forShard(shard));
    const answers = await Promise.all(this.#shards.map(async ({ shard, index }, s) => {
      const out = new Array<SearchResult>(where.length).fill(NOTHING);
      const options = plans[s];
      if (options === null) return out;
      const own: number[] = [], other: number[] = [];
      where.forEach((at, r) => (at && at.shard === shard ? own : other).push(r));
      const [byItem, byVector] = await Promise.all([
        own.length > 0 ? index.getNnsByItemsAsync(own.map((r) => where[r]!.local), q.n, options) : [],
        other.length > 0 ? index.getNnsByVectorsAsync(this.#matrix(other.map((r) => vectors.subarray(r * f, (r + 1) * f))), q.n, options) : [],
      ]);
      own.forEach((r, k) => (out[r] = this.#globalize(shard, byItem[k])));
      other.forEach((r, k) => (out[r] = this.#globalize(shard, byVector[k])));
      return out;
    }));
    return where.map((_, r) => this.#answer(answers.map((a) => a[r]), q)) as number[][] | SearchResult[];
  }

  /** The stored vector of item `id` (a hole — an id no shard holds — reads as zeros, as in AnnoyIndex). */
  getItemVector(id: number): number[] {
    const at = this.#locate(id);
    return at ? this.#byNumber[at.shard]!.index.getItemVector(at.local) : this.#zeros();
  }

  /** The distance between items i and j (global ids), as queries report it, even across shards. */
  getDistance(i: number, j: number): number {
    const a = this.#locate(i), b = this.#locate(j);
    if (a && b && a.shard === b.shard) return this.#byNumber[a.shard]!.index.getDistance(a.local, b.local);
    const pair = (this.#pair ??= new AnnoyIndex(this.f, this.metric));
    pair.addItem(0, a ? this.#byNumber[a.shard]!.index.getItemVector(a.local) : this.#zeros());
    pair.addItem(1, b ? this.#byNumber[b.shard]!.index.getItemVector(b.local) : this.#zeros());
    pair.build(1, 1);
    try {
      return pair.getDistance(0, 1);
    } finally {
      pair.unbuild();
    }
  }

  /** Ends every shard's query pool (a later async call starts new ones). */
  async close(): Promise<void> {
    await Promise.all(this.#shards.map(({ index }) => index.close()));
  }

  /** Drops every shard's memory (after close()): the index answers nothing afterwards. */
  unload(): void {
    for (const { index } of this.#shards) index.unload();
    this.#pair = null;
    this.#unloaded = true;
  }

  /**
   * Checks a query's arguments once (for a whole batch): positional searchK / includeDistances, or
   * an options object (QueryOptions, checked against the set's global ids).
   */
  #plan(n: number, searchK: number | QueryOptions | undefined, includeDistances: boolean | undefined, onThreads: boolean): ShardQuery {
    this.#checkLoaded();
    if (searchK !== null && typeof searchK === 'object') {
      if (includeDistances !== undefined) throw new AnnoyArgumentError('pass includeDistances inside the options object, not after it');
      const checked = checkQueryOptions(searchK, n, this.#policy, this.manifest.nItems);
      return new ShardQuery(n, checked, searchK.maxDistance, this.#ids, this.#nLocal, onThreads);
    }
    checkNeighbourCount(n, false);
    const checked = { searchK: checkSearchK(searchK ?? -1), includeDistances: checkBoolean(includeDistances ?? false, 'includeDistances'), refinement: null };
    return new ShardQuery(n, checked, undefined, this.#ids, this.#nLocal, onThreads);
  }

  #searchVector(vector: ArrayLike<number>, q: ShardQuery): SearchResult[] {
    const parts: SearchResult[] = [];
    try {
      for (const { shard, index } of this.#shards) {
        const options = q.forShard(shard);
        if (options !== null) parts.push(this.#globalize(shard, index.getNnsByVector(vector, q.n, options)));
      }
    } catch (e) {
      throw filterError(e);
    }
    return parts;
  }

  #searchItem(id: number, q: ShardQuery): SearchResult[] {
    const at = this.#locate(id);
    let vector: number[] | null = at ? null : this.#zeros();
    const parts: SearchResult[] = [];
    try {
      for (const { shard, index } of this.#shards) {
        const options = q.forShard(shard);
        if (options === null) continue;
        // The shard holding the item searches from its record (as AnnoyIndex does); the others from its vector.
        if (at && at.shard === shard) {
          parts.push(this.#globalize(shard, index.getNnsByItem(at.local, q.n, options)));
        } else {
          vector ??= this.#byNumber[at!.shard]!.index.getItemVector(at!.local);
          parts.push(this.#globalize(shard, index.getNnsByVector(vector, q.n, options)));
        }
      }
    } catch (e) {
      throw filterError(e);
    }
    return parts;
  }

  #answer(parts: SearchResult[], q: ShardQuery): number[] | SearchResult {
    const merged = mergeNearest(parts, q.n, this.#largerFirst);
    return q.includeDistances ? merged : merged.ids;
  }

  /** A shard's answer with its local ids replaced by global ones. */
  #globalize(shard: number, result: SearchResult): SearchResult {
    const ids = this.#ids;
    return { ids: result.ids.map((local) => ids.toGlobal(shard, local)), distances: result.distances };
  }

  /** Where item `id` lives; null for a hole. Throws for ids out of range and ids of failed shards. */
  #locate(id: number): ShardLocation | null {
    this.#checkLoaded();
    checkItemId(id);
    const nItems = this.manifest.nItems;
    if (id >= nItems) throw new AnnoyArgumentError(`item ${id} does not exist: ids run from 0 to ${nItems - 1}`);
    const at = this.#ids.locate(id);
    if (at === null || this.#byNumber[at.shard]) return at;
    const failure = this.failedShards.find((s) => s.shard === at.shard)!;
    throw new AnnoyStateError(`item ${id} ${at.local === -1 ? 'may live' : 'lives'} in shard ${at.shard}, which failed to load (${failure.error.message})`);
  }

  #checkLoaded(): void {
    if (this.#unloaded) throw new AnnoyStateError(`the sharded index ${this.dir} was unloaded`);
  }

  #zeros(): number[] {
    return new Array<number>(this.f).fill(0);
  }

  /** Rows as one Float64Array (every value kept exactly), checked with the position of a bad one. */
  #matrix(rows: readonly ArrayLike<number>[]): Float64Array {
    const f = this.f;
    const data = new Float64Array(rows.length * f);
    rows.forEach((row, k) => atPosition(k, () => data.set(checkVector(row, f, 'query vector'), k * f)));
    return data;
  }
}

type ShardLoad = { ok: true; index: AnnoyIndex; ids: Int32Array | null } | { ok: false; error: AnnoyError };

function checkOpen(dir: unknown, options: ShardedOpenOptions): { verifyChecksum: boolean; allowPartial: boolean } {
  if (typeof dir !== 'string' || dir.length === 0) throw new AnnoyArgumentError(`dir must be a non-empty string, got ${describe(dir)}`);
  if (options === null || typeof options !== 'object') throw new AnnoyArgumentError(`options must be an object, got ${describe(options)}`);
  return {
    verifyChecksum: checkBoolean(options.verifyChecksum ?? true, 'verifyChecksum'),
    allowPartial: checkBoolean(options.allowPartial ?? false, 'allowPartial'),
  };
}

function failedLoad(dir: string, manifest: ShardManifest, k: number, e: unknown): ShardLoad & { ok: false } {
  const name = shardName(manifest, k, join(dir, manifest.shards[k].file));
  return { ok: false, error: e instanceof AnnoyError ? e : new AnnoyError(`${name}: ${(e as Error).message}`, { cause: e }) };
}

/**
 * Loads the shards on `threads` worker threads (shard k on thread k mod threads): each reads and
 * checks its shards and hands back their shared memories. Without allowPartial the first failure
 * stops every thread and is thrown.
 */
async function loadOnThreads(dir: string, manifest: ShardManifest, verifyChecksum: boolean, allowPartial: boolean, threads: number): Promise<ShardLoad[]> {
  const loads = new Array<ShardLoad | undefined>(manifest.shards.length);
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: threads }, (_, w) => new Promise<void>((resolve, reject) => {
      const shards = manifest.shards.map((_, k) => k).filter((k) => k % threads === w);
      const request: OpenRequest = { dir, manifest, shards, verifyChecksum };
      // startWorker resolves names from src/node (dist/node): this module's worker is one folder over.
      const worker = startWorker('../shards/open-worker', request);
      workers.push(worker);
      let pending = shards.length;
      worker.on('message', (reply: OpenReply) => {
        let load: ShardLoad;
        if (reply.ok) {
          load = { ok: true, index: attachIndex(reply.shared), ids: reply.ids };
        } else if (reply.unshareable) {
          try {
            load = { ok: true, ...loadShard(dir, manifest, reply.shard, verifyChecksum) };
          } catch (e) {
            load = failedLoad(dir, manifest, reply.shard, e);
          }
        } else {
          load = failedLoad(dir, manifest, reply.shard, new (errorClassNamed(reply.name))(reply.message));
        }
        loads[reply.shard] = load;
        if (!load.ok && !allowPartial) reject(load.error);
        else if (--pending === 0) resolve();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (pending > 0) reject(new AnnoyError(`a thread loading shards of ${dir} stopped (exit code ${code}) before it was done`));
      });
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return loads as ShardLoad[];
}

function readManifest(dir: string): ShardManifest {
  const path = join(dir, MANIFEST_FILE);
  const text = readTextIfExists(path);
  if (text === null) {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch (cause) {
      throw new AnnoyIOError(`cannot open the sharded index ${dir}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (cause as Error).message}`, { cause });
    }
    throw new AnnoyFormatError(isDir
      ? `${dir} is not a sharded index: it has no ${MANIFEST_FILE} (an interrupted build writes it last)`
      : `${dir} is not a sharded index: it is a file, not a folder (open a single index with AnnoyIndex.open)`);
  }
  return parseManifest(text, path);
}

function manifestChanged(dir: string, manifest: ShardManifest): boolean {
  try {
    return readManifest(dir).build !== manifest.build;
  } catch {
    return false;
  }
}

/**
 * An index file in the folder that the manifest does not list is an error (a manifest that lost a
 * shard, or files copied in), unless it is named like a shard of another build: those are
 * leftovers of an earlier or interrupted build, which the next build in this folder removes.
 */
function checkNoExtraFiles(dir: string, manifest: ShardManifest): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (cause) {
    throw new AnnoyIOError(`cannot list ${dir}: ${(cause as Error).message}`, { cause });
  }
  const listed = new Set<string>();
  for (const s of manifest.shards) {
    listed.add(s.file);
    if ('file' in s.ids) listed.add(s.ids.file);
    if (s.graph) listed.add(s.graph.file);
  }
  for (const name of names) {
    if (listed.has(name) || !(name.endsWith('.ann') || name.endsWith('.ids'))) continue;
    const parsed = parseShardFileName(name);
    if (parsed && parsed.build !== manifest.build) continue;
    throw new AnnoyFormatError(
      `${join(dir, name)} is not listed in ${join(dir, MANIFEST_FILE)} (build ${manifest.build}, ${manifest.shards.length} shards): ` +
        'an extra shard, or a manifest from another build; rebuild the index or remove the file',
    );
  }
}

function checkIdList(ids: unknown): asserts ids is ArrayLike<number> {
  if (ids === null || typeof ids !== 'object' || typeof (ids as { length?: unknown }).length !== 'number') {
    throw new AnnoyArgumentError(`ids must be an array or typed array of item ids, got ${describe(ids)}`);
  }
}
