// The Node entry's AnnoyIndex: the portable index composed with the file system (save, load,
// open, sidecars), worker-thread builds (its build policy) and a query pool on worker threads.
import { availableParallelism } from 'node:os';
import {
  atPosition, AnnoyIndex as PortableAnnoyIndex, queryRows, type BuildOptions, type QueryOptions, type SearchResult, type WithDistances,
  type WithoutDistances,
} from '../annoy-index.ts';
import { AnnoyArgumentError } from '../errors.ts';
import {
  checkAgainstSidecar, checkRequested, checkSidecarExtras, INDEX_FORMAT, parseSidecar, serializeSidecar, SIDECAR_FORMAT, SIDECAR_VERSION,
  sidecarPath, type Sidecar,
} from '../formats/sidecar.ts';
import { createMetric, describe, isMetricName } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { attachIndexAs, shareIndex, type SharedIndex } from '../threads/share.ts';
import { checkBoolean, checkVector } from '../validate.ts';
import { checksumOf, crc32 } from './checksum.ts';
import { readFileInto, readTextIfExists, writeIndexAndSidecar } from './files.ts';
import { graphFileSource, saveWithGraph } from './graph-file.ts';
import type { GraphSource } from '../graph/index-graph.ts';
import { workerThreadBuild } from './parallel-build.ts';
import { QueryPool } from './pool.ts';
import { packageVersion } from './version.ts';

export interface SaveOptions {
  /** Accepted for Annoy compatibility, as in save(path, prefault). */
  prefault?: boolean;
  /** Write the sidecar `path + '.json'` (default true). An old sidecar is removed either way. */
  sidecar?: boolean;
  /** Any JSON object, stored in the sidecar as `metadata`. */
  metadata?: Record<string, unknown>;
  /** File name (in the index's folder) of a labels file to name in the sidecar. */
  labels?: string;
  /**
   * Write the index's neighbour graph to `path + '.graph'` (default true, when it has one). An old
   * `.graph` there is removed either way, so none is left describing another index file.
   */
  graph?: boolean;
}

export interface OpenOptions {
  /** Expected dimension: required without a sidecar; with one, a different value is an error. */
  f?: number;
  /** Expected metric: required without a sidecar; with one, a different value is an error. */
  metric?: MetricName;
  /** Compare the file's CRC-32 with the sidecar's (default true; ≈ 0.2 ms per MB). */
  verifyChecksum?: boolean;
  /**
   * Attach the neighbour graph in `path + '.graph'` when there is one (default true). A graph file
   * that does not belong to exactly these index bytes, or is damaged, is an AnnoyFormatError.
   */
  graph?: boolean;
}

/**
 * AnnoyIndex with save() and load() on the file system (Node.js, Deno, Bun), plus sidecars; builds
 * on worker threads (nJobs) and answers batch queries on a pool of them (…Async).
 */
export class AnnoyIndex extends PortableAnnoyIndex {
  #sidecar: Sidecar | null = null;
  /** The query pool (started on first use): private, reached by name only by test fault injection. */
  private pool: QueryPool | null = null;
  #jobs = -1;

  constructor(f: number, metric: MetricName) {
    super(f, metric, workerThreadBuild);
  }

  /**
   * Opens an index saved by annoy-ts: f and metric come from its sidecar (`path + '.json'`), and
   * the file must match the sidecar's size and checksum. `f` and `metric`, when given, must agree
   * with the sidecar; without a sidecar (a file written by Annoy itself) both are required.
   */
  static open(path: string, options: OpenOptions = {}): AnnoyIndex {
    checkPath(path);
    if (options === null || typeof options !== 'object') throw new AnnoyArgumentError(`options must be an object, got ${describe(options)}`);
    const { f, metric, verifyChecksum = true, graph = true } = options;
    if (f !== undefined && (typeof f !== 'number' || !Number.isInteger(f) || f < 1)) {
      throw new AnnoyArgumentError(`f (the vector dimension) must be a positive integer, got ${describe(f)}`);
    }
    if (metric !== undefined && !isMetricName(metric)) createMetric(1, metric); // throws the usual unknown-metric error
    checkBoolean(verifyChecksum, 'verifyChecksum');
    checkBoolean(graph, 'graph');
    const where = sidecarPath(path);
    const text = readTextIfExists(where);
    if (text === null) {
      if (f === undefined || metric === undefined) {
        throw new AnnoyArgumentError(
          `${path} has no sidecar (${where}), so its dimension and metric are unknown (files written by Annoy itself ` +
            `record neither): pass f and metric, or run \`npx annoy-ts info ${path}\` to infer them`,
        );
      }
      const index = new AnnoyIndex(f, metric);
      index.adoptBytes((allocate) => index.#checkSidecarOnLoad(path, readFileInto(path, allocate)), null, graph ? graphSource(path) : null);
      return index;
    }
    const sidecar = parseSidecar(text, where);
    checkRequested(sidecar, where, f, metric); // before reading a large file for nothing
    const index = new AnnoyIndex(sidecar.f, sidecar.metric);
    index.adoptBytes((allocate) => {
      const bytes = readFileInto(path, allocate);
      checkAgainstSidecar(bytes, sidecar, { verifyChecksum, crc32, file: path, sidecarFile: where });
    }, sidecar.seed === null ? null : BigInt(sidecar.seed), graph ? graphSource(path) : null);
    index.#sidecar = sidecar;
    return index;
  }

  /** The sidecar this index was opened with (open()) or last saved with (save()); null otherwise. */
  get sidecar(): Sidecar | null {
    return this.#sidecar;
  }

  /**
   * Batch queries on a pool of worker threads that search this index's memory in place (nothing is
   * copied per worker). The pool starts on first use with nJobs workers (the last build's nJobs, or
   * one per core), stays idle without keeping the process alive, and ends with close().
   */
  getNnsByVectorsAsync(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByVectorsAsync(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByVectorsAsync(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: WithDistances): Promise<SearchResult[]>;
  getNnsByVectorsAsync(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: WithoutDistances): Promise<number[][]>;
  getNnsByVectorsAsync(queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, options: QueryOptions): Promise<number[][] | SearchResult[]>;
  async getNnsByVectorsAsync(
    queries: ArrayLike<number> | readonly ArrayLike<number>[], n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false,
  ): Promise<number[][] | SearchResult[]> {
    const rows = queryRows(queries, this.f);
    const data = new Float64Array(rows.length * this.f);
    rows.forEach((row, k) => atPosition(k, () => data.set(checkVector(row, this.f, 'query vector'), k * this.f)));
    return this.#runPool('vectors', data, rows.length, this.f, n, searchKOrOptions, includeDistances) as Promise<number[][] | SearchResult[]>;
  }

  /** getNnsByItem for each id on the worker pool (see getNnsByVectorsAsync). */
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: WithDistances): Promise<SearchResult[]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: WithoutDistances): Promise<number[][]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: QueryOptions): Promise<number[][] | SearchResult[]>;
  async getNnsByItemsAsync(ids: ArrayLike<number>, n: number, searchKOrOptions: number | QueryOptions = -1, includeDistances = false): Promise<number[][] | SearchResult[]> {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new AnnoyArgumentError(`ids must be an array or typed array of item ids, got ${describe(ids)}`);
    }
    const data = Float64Array.from(ids, (id) => (typeof id === 'number' ? id : NaN));
    return this.#runPool('items', data, data.length, 1, n, searchKOrOptions, includeDistances) as Promise<number[][] | SearchResult[]>;
  }

  /** Ends the query pool's workers (a later async call starts a new pool). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }

  #runPool(kind: 'vectors' | 'items', data: Float64Array, rows: number, width: number, n: number, searchKOrOptions: unknown, includeDistances: unknown) {
    const { searchK, includeDistances: withDistances, refinement } = this.checkQuery(n, searchKOrOptions, includeDistances);
    // Workers get the allowed set as bits (a predicate cannot cross threads: it is asked here, once per item).
    const restriction = rows === 0 ? null : refinement?.restriction ?? null;
    const allowed = restriction?.kind === 'predicate' ? this.allowedBy(restriction.predicate) : restriction?.allowed ?? null;
    return this.queryPool().run(kind, data, rows, width, n, {
      searchK, includeDistances: withDistances, allowed: allowed && { bits: allowed.bits, size: allowed.size }, maxDistance: refinement?.bound?.maxDistance ?? null,
    });
  }

  /** The pool, started with nJobs workers (the last build's nJobs, or one per core) if it is not running. */
  private queryPool(): QueryPool {
    return (this.pool ??= new QueryPool(() => shareIndex(this), this.#jobs === -1 ? availableParallelism() : this.#jobs));
  }

  /** The index's memory changes (build, unbuild, load, save, unload): workers searching the old one must go. */
  #dropPool(): void {
    if (this.pool) void this.close();
  }

  override unbuild(): void {
    super.unbuild();
    this.#dropPool();
  }

  override build(nTrees: number, nJobs = -1, options: BuildOptions = {}): void {
    super.build(nTrees, nJobs, options);
    this.#dropPool();
    this.#jobs = nJobs;
  }

  override unload(): void {
    super.unload();
    this.#dropPool();
    this.#sidecar = null;
  }

  /**
   * Writes the index to `path` and, unless `{ sidecar: false }`, its sidecar to `path + '.json'`
   * (see writeIndexAndSidecar for the order of the two renames). The .ann file is exactly what
   * Annoy writes. `options` may be the Annoy-style `prefault` boolean. Afterwards the index is
   * read-only, as if it had been loaded from `path` (as in Annoy).
   */
  override save(path: string, options: boolean | SaveOptions = false): void {
    const opts: SaveOptions = typeof options === 'boolean' ? { prefault: options } : options;
    if (opts === null || typeof opts !== 'object') throw new AnnoyArgumentError(`save options must be an object or a boolean, got ${describe(options)}`);
    checkBoolean(opts.prefault ?? false, 'prefault');
    checkBoolean(opts.sidecar ?? true, 'sidecar');
    checkBoolean(opts.graph ?? true, 'graph');
    checkSidecarExtras(opts.metadata, opts.labels);
    const bytes = this.toBuffer();
    checkPath(path);
    const sidecar = opts.sidecar === false ? null : this.#describe(bytes, opts);
    const graph = opts.graph !== false && this.hasGraph() ? this.toGraphBuffer(crc32) : null;
    saveWithGraph(path, graph, () => writeIndexAndSidecar(path, bytes, sidecarPath(path), sidecar && serializeSidecar(sidecar)));
    this.reopen();
    this.#sidecar = sidecar;
    this.#dropPool();
  }

  /**
   * Loads an Annoy index file written by annoy-ts or by Annoy itself (Python, C++, R, Go…), replacing
   * anything this object held; if it fails, the index held before stays. The whole file is read
   * straight into the index's memory, which queries use directly; `prefault` is accepted for Annoy
   * compatibility (Annoy's MAP_POPULATE): reading everything up front is what annoy-ts always does.
   */
  override load(path: string, prefault = false): void {
    checkBoolean(prefault, 'prefault');
    checkPath(path);
    this.adoptBytes((allocate) => this.#checkSidecarOnLoad(path, readFileInto(path, allocate)), null, graphSource(path));
    this.#sidecar = null;
    this.#dropPool();
  }

  /** The sidecar of these bytes, about to be saved. */
  #describe(bytes: Uint8Array, opts: SaveOptions): Sidecar {
    const sidecar: Sidecar = {
      format: SIDECAR_FORMAT,
      version: SIDECAR_VERSION,
      indexFormat: INDEX_FORMAT,
      f: this.f,
      metric: this.metric,
      nItems: this.getNItems(),
      nTrees: this.getNTrees(),
      seed: this.treeSeed?.toString() ?? null,
      recordBytes: createMetric(this.f, this.metric).recordBytes,
      byteLength: bytes.length,
      checksum: checksumOf(bytes),
      createdBy: packageVersion(),
    };
    if (opts.labels !== undefined) sidecar.labels = opts.labels;
    if (opts.metadata !== undefined) sidecar.metadata = JSON.parse(JSON.stringify(opts.metadata)) as Record<string, unknown>;
    return sidecar;
  }

  /**
   * load() keeps Annoy's behaviour (the sidecar is not needed and not trusted blindly), with one
   * addition: when the sidecar provably describes these very bytes (same length and checksum) and
   * names another f or metric, loading would only give garbage, so it is an error. The checksum is
   * computed only in that case; an unreadable or stale sidecar is ignored.
   */
  #checkSidecarOnLoad(path: string, bytes: Uint8Array): void {
    const where = sidecarPath(path);
    let sidecar: Sidecar;
    try {
      const text = readTextIfExists(where);
      if (text === null) return;
      sidecar = parseSidecar(text, where);
    } catch {
      return;
    }
    if (sidecar.f === this.f && sidecar.metric === this.metric) return;
    try {
      checkAgainstSidecar(bytes, sidecar, { crc32 });
    } catch {
      return; // a sidecar of other bytes says nothing about these
    }
    checkRequested(sidecar, where, this.f, this.metric);
  }
}

/** The graph file beside `path`, if any, to attach while loading (checked against the index bytes, with the native CRC-32). */
function graphSource(path: string): GraphSource | null {
  return graphFileSource(path, crc32);
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AnnoyArgumentError(`path must be a non-empty string, got ${describe(path)}`);
  }
}

/**
 * The index another thread shared (shareIndex), as this entry's AnnoyIndex: read-only, searching
 * that thread's memory in place, with the worker pool (…Async) and save().
 */
export function attachIndex(shared: SharedIndex): AnnoyIndex {
  return attachIndexAs(AnnoyIndex, shared);
}
