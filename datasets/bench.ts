/**
 * Benchmark datasets in the style of ann-benchmarks: a base set, held-out
 * queries and the exact 100 nearest base rows of every query.
 *
 *   glove-100-angular            341,479 wink/GloVe word vectors × 100, cosine;
 *                                10,000 held out as queries (seeded), 331,479 base rows
 *   fashion-mnist-784-euclidean  70,000 images × 784 pixels (0..255), L2;
 *                                10,000 held out as queries (seeded), 60,000 base rows
 *
 * The split is `splitBaseQueries(count, 10000, seed)`: base rows are in
 * ascending source-id order (`baseIds[i]` is the source row of base row i),
 * queries in the seeded draw order. `opts.nQueries` (< 10,000) takes the
 * first queries of that same held-out set against the same base, so a quick
 * run's ground truth is a prefix of the full one.
 *
 * Ground truth (see ground-truth.ts) is computed once and cached:
 *   <cache>/bench/<name>/seed-<seed>/gt-q<nQueries>-k<k>.ibin       uint32 n, uint32 k, n×k int32 base row ids, nearest first
 *   <cache>/bench/<name>/seed-<seed>/gt-q<nQueries>-k<k>.dist.fbin  uint32 n, uint32 k, n×k float32 distances (Annoy's convention)
 *   <cache>/bench/<name>/seed-<seed>/gt-q<nQueries>-k<k>.json       metadata incl. seconds taken, threads, data hash (written last)
 * A cached file computed for at least as many queries and neighbours as asked
 * for is reused (its first rows / columns). The data hash (SHA-1 of the
 * shape, a sample of base rows and all held-out queries) guards against a
 * cache computed from other data.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  InvalidCacheError,
  checkFileSizes,
  isRecord,
  readJsonFile,
  readMatrixFile,
  writeJsonFile,
  writeMatrixFile,
} from './cache.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import { loadGlove } from './glove.ts';
import { type Metric, computeGroundTruth } from './ground-truth.ts';
import { type LoadOptions, cacheDir, formatBytes, log, secondsSince } from './paths.ts';
import { compactRowsInPlace, gatherRows, splitBaseQueries } from './split.ts';

export type BenchDatasetName = 'glove-100-angular' | 'fashion-mnist-784-euclidean';
export const BENCH_DATASETS: readonly BenchDatasetName[] = ['glove-100-angular', 'fashion-mnist-784-euclidean'];

/** Seed of the query/base split. */
export const DEFAULT_SEED = 42;
/** Queries held out of each dataset. */
export const HELD_OUT_QUERIES = 10_000;
/** Neighbours in the ground truth (as in ann-benchmarks). */
export const GROUND_TRUTH_K = 100;
/** Number of queries of a "quick" run (prepare.ts --quick). */
export const QUICK_QUERIES = 1_000;

const GT_FORMAT = 1;

export interface BenchDatasetOptions extends LoadOptions {
  /** Queries to use, ≤ 10,000 (the first ones of the held-out set). Default 10,000. */
  nQueries?: number;
  /** Neighbours per query in `groundTruth`. Default 100. */
  k?: number;
  /** Split seed. Default {@link DEFAULT_SEED}. */
  seed?: number;
  /** Threads for computing the ground truth. Default os.availableParallelism(). */
  threads?: number;
  /** Recompute the ground truth even if a cached one is valid. */
  recomputeGroundTruth?: boolean;
}

export interface BenchDataset {
  name: BenchDatasetName;
  metric: Metric;
  dim: number;
  /**
   * nBase × dim float32, row-major. May be a view (subarray) at the start of a
   * larger buffer (the source array, compacted in place): use
   * base.byteOffset/byteLength, not base.buffer alone.
   */
  base: Float32Array;
  nBase: number;
  /** nQueries × dim float32, row-major. */
  queries: Float32Array;
  nQueries: number;
  /** Neighbours per query in groundTruth (100 unless asked otherwise). */
  k: number;
  /** nQueries × k base row ids (indices into `base`), nearest first, ties by smaller id. */
  groundTruth: Int32Array;
  /** nQueries × k distances matching groundTruth: angular sqrt(2 − 2·cos), euclidean L2 (Annoy's conventions). */
  groundTruthDistances: Float32Array;
  /** Seconds the (cached) ground-truth computation took when it was done. */
  groundTruthSeconds: number;
  /** Number of queries that computation covered (≥ nQueries when a larger cached result was sliced). */
  groundTruthComputedQueries: number;
  /** Source row id of each base row / query (word index for GloVe, image index for Fashion-MNIST). */
  baseIds: Uint32Array;
  queryIds: Uint32Array;
  seed: number;
  /** How this call went. */
  info: {
    sourceLoadedFrom: 'cache' | 'source';
    sourceSeconds: number;
    groundTruthFrom: 'cache' | 'computed';
    /** Seconds this call spent on ground truth (loading or computing). */
    groundTruthLoadSeconds: number;
    groundTruthFile: string;
    seconds: number;
  };
}

interface GtMeta {
  nQueries: number;
  k: number;
  seconds: number;
  file: string;
}

/**
 * Identifies a dataset's data: SHA-1 of the shape, every (nBase / 4096)-th base row and every query
 * row. The ground-truth cache here and the benchmark's build and subset caches (bench/lib/data.ts)
 * both key on it.
 */
export function dataHash(base: Float32Array, nBase: number, queries: Float32Array, dim: number): string {
  const h = createHash('sha1');
  h.update(new Uint32Array([dim, nBase, queries.length / dim]));
  const step = Math.max(1, Math.floor(nBase / 4096));
  for (let j = 0; j < nBase; j += step) {
    const row = base.subarray(j * dim, (j + 1) * dim);
    h.update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
  }
  h.update(new Uint8Array(queries.buffer, queries.byteOffset, queries.byteLength));
  return h.digest('hex');
}

/** Load a benchmark dataset (building its caches and ground truth on first use). */
export async function loadBenchDataset(name: BenchDatasetName, opts: BenchDatasetOptions = {}): Promise<BenchDataset> {
  const t0 = performance.now();
  if (!BENCH_DATASETS.includes(name)) throw new RangeError(`unknown benchmark dataset ${String(name)}`);
  const seed = opts.seed ?? DEFAULT_SEED;
  const nQueries = opts.nQueries ?? HELD_OUT_QUERIES;
  const k = opts.k ?? GROUND_TRUTH_K;
  if (!Number.isInteger(nQueries) || nQueries < 1 || nQueries > HELD_OUT_QUERIES) {
    throw new RangeError(`nQueries must be in [1, ${HELD_OUT_QUERIES}], got ${nQueries}`);
  }
  const quiet = opts.quiet === true;
  const loadOpts: LoadOptions = { quiet, rebuild: opts.rebuild === true };
  const src = name === 'glove-100-angular' ? await loadGlove(loadOpts) : await loadFashionMnist(loadOpts);
  const metric: Metric = name === 'glove-100-angular' ? 'angular' : 'euclidean';
  const dim = src.dim;

  const split = splitBaseQueries(src.count, HELD_OUT_QUERIES, seed);
  const nBase = split.baseIds.length;
  if (!Number.isInteger(k) || k < 1 || k > nBase) throw new RangeError(`k must be in [1, ${nBase}], got ${k}`);
  // Copy the held-out rows out first, then move the base rows to the front of
  // the source array in place (no second big allocation).
  const heldOut = gatherRows(src.vectors, dim, split.queryIds);
  const base = compactRowsInPlace(src.vectors, dim, split.baseIds);
  const queryIds = split.queryIds.slice(0, nQueries);
  const queries = nQueries === HELD_OUT_QUERIES ? heldOut : heldOut.slice(0, nQueries * dim);
  const hash = dataHash(base, nBase, heldOut, dim);

  const dir = cacheDir('bench', name, `seed-${seed}`);
  const tGt = performance.now();
  let gt: { ids: Int32Array; dist: Float32Array; meta: GtMeta } | null = null;
  if (opts.recomputeGroundTruth !== true) gt = findCachedGroundTruth(dir, { name, metric, seed, dim, nBase, hash, nQueries, k }, quiet);
  let from: 'cache' | 'computed' = 'cache';
  if (gt === null) {
    from = 'computed';
    const kGt = Math.max(k, Math.min(GROUND_TRUTH_K, nBase));
    const res = await computeGroundTruth(
      { base, queries, dim, metric, k: kGt },
      { quiet, label: `${name} ground truth`, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) },
    );
    const stem = `gt-q${nQueries}-k${kGt}`;
    const files = {
      [`${stem}.ibin`]: writeMatrixFile(path.join(dir, `${stem}.ibin`), nQueries, kGt, res.ids),
      [`${stem}.dist.fbin`]: writeMatrixFile(path.join(dir, `${stem}.dist.fbin`), nQueries, kGt, res.distances),
    };
    writeJsonFile(path.join(dir, `${stem}.json`), {
      format: GT_FORMAT,
      name,
      metric,
      seed,
      dim,
      nBase,
      nQueries,
      k: kGt,
      dataHash: hash,
      seconds: Math.round(res.seconds * 1000) / 1000,
      threads: res.threads,
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      computedAt: new Date().toISOString(),
      files,
    });
    if (!quiet) {
      const bytes = Object.values(files).reduce((a, b) => a + b, 0);
      log(`${name}: ground truth cached in ${path.join(dir, stem)}.* (${formatBytes(bytes)})`);
    }
    gt = { ids: res.ids, dist: res.distances, meta: { nQueries, k: kGt, seconds: res.seconds, file: `${stem}.ibin` } };
  }
  const groundTruth = sliceRows(gt.ids, gt.meta.k, nQueries, k) as Int32Array;
  const groundTruthDistances = sliceRows(gt.dist, gt.meta.k, nQueries, k) as Float32Array;
  return {
    name,
    metric,
    dim,
    base,
    nBase,
    queries,
    nQueries,
    k,
    groundTruth,
    groundTruthDistances,
    groundTruthSeconds: gt.meta.seconds,
    groundTruthComputedQueries: gt.meta.nQueries,
    baseIds: split.baseIds,
    queryIds,
    seed,
    info: {
      sourceLoadedFrom: src.loadedFrom,
      sourceSeconds: src.seconds,
      groundTruthFrom: from,
      groundTruthLoadSeconds: secondsSince(tGt),
      groundTruthFile: path.join(dir, gt.meta.file),
      seconds: secondsSince(t0),
    },
  };
}

/** First `rows` rows and `cols` columns of a row-major matrix with `stride` columns. */
function sliceRows(data: Int32Array | Float32Array, stride: number, rows: number, cols: number): Int32Array | Float32Array {
  if (stride === cols) return data.slice(0, rows * cols);
  const out = data instanceof Int32Array ? new Int32Array(rows * cols) : new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * stride, r * stride + cols), r * cols);
  return out;
}

interface GtWanted {
  name: BenchDatasetName;
  metric: Metric;
  seed: number;
  dim: number;
  nBase: number;
  hash: string;
  nQueries: number;
  k: number;
}

/** The smallest valid cached ground truth covering `want`, or null. */
function findCachedGroundTruth(
  dir: string,
  want: GtWanted,
  quiet: boolean,
): { ids: Int32Array; dist: Float32Array; meta: GtMeta } | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  const candidates: GtMeta[] = [];
  for (const file of names) {
    const m = /^gt-q(\d+)-k(\d+)\.json$/.exec(file);
    if (m === null) continue;
    const nQ = Number(m[1]);
    const kk = Number(m[2]);
    if (nQ < want.nQueries || kk < want.k) continue;
    candidates.push({ nQueries: nQ, k: kk, seconds: 0, file });
  }
  candidates.sort((a, b) => a.nQueries * a.k - b.nQueries * b.k);
  for (const c of candidates) {
    const stem = c.file.slice(0, -'.json'.length);
    try {
      const meta = readJsonFile(path.join(dir, c.file));
      if (!isRecord(meta) || meta['format'] !== GT_FORMAT) throw new InvalidCacheError('another cache format');
      for (const key of ['name', 'metric', 'seed', 'dim', 'nBase'] as const) {
        if (meta[key] !== want[key]) throw new InvalidCacheError(`${key} differs`);
      }
      if (meta['nQueries'] !== c.nQueries || meta['k'] !== c.k) throw new InvalidCacheError('shape differs from file name');
      if (meta['dataHash'] !== want.hash) throw new InvalidCacheError('computed from other data (hash differs)');
      const seconds = meta['seconds'];
      if (typeof seconds !== 'number') throw new InvalidCacheError('no timing');
      checkFileSizes(dir, meta['files']);
      const { data: ids } = readMatrixFile(path.join(dir, `${stem}.ibin`), 'i32', { n: c.nQueries, d: c.k });
      const { data: dist } = readMatrixFile(path.join(dir, `${stem}.dist.fbin`), 'f32', { n: c.nQueries, d: c.k });
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (id < 0 || id >= want.nBase) throw new InvalidCacheError(`neighbour id ${id} out of range`);
      }
      return { ids, dist, meta: { ...c, seconds, file: `${stem}.ibin` } };
    } catch (err) {
      if (!(err instanceof InvalidCacheError)) throw err;
      if (!quiet) log(`${want.name}: cached ground truth ${stem} not usable (${err.message}); ignoring it`);
    }
  }
  return null;
}
