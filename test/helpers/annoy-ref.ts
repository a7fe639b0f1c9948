// Access to real Annoy from tests and benchmarks, through the reference driver
// in tools/annoy-ref (a small C++ program of ours compiled against the Annoy
// header from Debian's r-cran-rcppannoy; see tools/annoy-ref/setup.sh).
//
//   const driver = annoyRefPath();            // null when unavailable
//   describe.skipIf(!driver)(`vs real Annoy ${annoyRefUnavailableReason() ?? ''}`, ...)
//   refBuild('angular', 16, rows, 10, 42, '/tmp/x.ann');
//   refQuery('angular', 16, '/tmp/x.ann', queries, 10, -1);
//
// Every wrapper runs the driver synchronously (execFileSync) and returns its
// parsed JSON. Inputs given as typed arrays are written to temporary .fbin /
// .ibin files that are removed afterwards. For hamming, `f` counts bits and
// every vector is `f` numbers (> 0.5 is a 1), exactly like Python's module.
// Set ANNOY_REF=0 to disable the driver (annoyRefPath() then returns null).
// Node built-ins only.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Metric = 'angular' | 'euclidean' | 'manhattan' | 'dot' | 'hamming';

/** `scalar`: -O2 -ffp-contract=off, bit-exact with the golden fixtures.
 *  `native`: -O3 -march=native -ffast-math -fno-associative-math, like Python wheels. */
export type RefVariant = 'scalar' | 'native';

export interface RefOptions {
  variant?: RefVariant;
  /** Kill the driver after this many milliseconds (default: 10 minutes). */
  timeoutMs?: number;
}

/** Row-major vectors with `f` numbers per row, or the path of an existing .fbin file. */
export type RowsInput = string | Float32Array;
/** Item ids (int32), or the path of an existing .ibin file. */
export type IdsInput = string | Int32Array | readonly number[];

export interface Fbin {
  n: number;
  dim: number;
  /** n * dim float32 values, row-major, in a fresh (aligned) buffer. */
  rows: Float32Array;
}

export interface RefBuildResult {
  n_items: number;
  n_trees: number;
  build_seconds: number;
}

export interface RefInfo {
  metric: Metric;
  f: number;
  node_size: number;
  K: number;
  n_nodes: number;
  n_items: number;
  n_trees: number;
  /** In the order Annoy's root scan finds them (from the end of the file backwards). */
  roots: number[];
  /** Item records with n_descendants == 1 among ids 0 … n_items-1. */
  items_present: number;
  holes: number;
  /** Every tree reaches every present item exactly once, never a hole or an out-of-range id. */
  trees_ok: boolean;
  /** The first structural problem found, or null. */
  problem: string | null;
}

export interface RefNeighbours {
  ids: number[];
  /** Annoy's returned distances (float32 values printed with 9 significant digits). */
  distances: number[];
}

export interface RefBench {
  load_seconds: number;
  /** Number of query vectors (each searched `repeat` times). */
  queries: number;
  repeat: number;
  /** Wall time of all searches (steady clock, one thread). */
  seconds: number;
  /** queries * repeat / seconds. */
  qps: number;
  results: number[][];
}

export interface RefAbout {
  driver: string;
  cxx: string;
  optimize: boolean;
  fast_math: boolean;
  annoy_simd: 'none' | 'avx' | 'avx512';
  fma: boolean;
  /** Kiss64Random::default_seed as a decimal string (it exceeds 2^53). */
  default_seed: string;
  [key: string]: unknown;
}

// ------------------------------------------------------------------ setup

const SETUP_SCRIPT = fileURLToPath(new URL('../../tools/annoy-ref/setup.sh', import.meta.url));
const SETUP_TIMEOUT_MS = 10 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_BUFFER = 1 << 30;

interface Resolved {
  path: string | null;
  reason: string | null;
}
const resolved: Partial<Record<RefVariant, Resolved>> = {};

function errorText(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { stderr?: unknown; message?: unknown; code?: unknown };
    const stderr = err.stderr === undefined || err.stderr === null ? '' : String(err.stderr).trim();
    if (stderr) return stderr;
    if (err.code === 'ENOENT') return 'bash not found';
    if (typeof err.message === 'string') return err.message;
  }
  return String(e);
}

function resolveVariant(variant: RefVariant): Resolved {
  const cached = resolved[variant];
  if (cached) return cached;
  let result: Resolved;
  const env = process.env.ANNOY_REF;
  if (env !== undefined && /^(0|off|false|no)$/i.test(env)) {
    result = { path: null, reason: `annoy reference driver disabled by ANNOY_REF=${env}` };
  } else {
    try {
      const out = execFileSync('bash', [SETUP_SCRIPT, variant === 'native' ? '--native' : '--scalar'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: SETUP_TIMEOUT_MS,
        maxBuffer: 1 << 24,
      });
      const lines = out.trim().split('\n');
      const path = lines[lines.length - 1]?.trim() ?? '';
      result = path ? { path, reason: null } : { path: null, reason: 'tools/annoy-ref/setup.sh printed no driver path' };
    } catch (e) {
      result = { path: null, reason: `annoy reference driver unavailable: ${errorText(e)}` };
    }
  }
  resolved[variant] = result;
  return result;
}

/**
 * Path of the reference driver, building it on first use (once per process and
 * variant). Returns null when the toolchain or the Annoy package is missing;
 * annoyRefUnavailableReason() then says why.
 */
export function annoyRefPath(variant: RefVariant = 'scalar'): string | null {
  return resolveVariant(variant).path;
}

/** Why annoyRefPath(variant) is null, or null when the driver is available. */
export function annoyRefUnavailableReason(variant: RefVariant = 'scalar'): string | null {
  return resolveVariant(variant).reason;
}

/** The driver's path, or an Error carrying the reason it is unavailable. */
export function requireAnnoyRef(variant: RefVariant = 'scalar'): string {
  const r = resolveVariant(variant);
  if (!r.path) throw new Error(r.reason ?? 'annoy reference driver unavailable');
  return r.path;
}

function runDriver<T>(args: readonly string[], opts: RefOptions | undefined): T {
  const driver = requireAnnoyRef(opts?.variant ?? 'scalar');
  let out: string;
  try {
    out = execFileSync(driver, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: MAX_BUFFER,
      timeout: opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  } catch (e) {
    throw new Error(`annoy-ref ${args.join(' ')} failed: ${errorText(e)}`);
  }
  return JSON.parse(out) as T;
}

function withTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'annoy-ref-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rowsPath(dir: string, name: string, rows: RowsInput, f: number): string {
  if (typeof rows === 'string') return rows;
  if (rows.length % f !== 0) throw new Error(`${name}: ${rows.length} values is not a multiple of f = ${f}`);
  const p = join(dir, `${name}.fbin`);
  writeFbin(p, rows, f);
  return p;
}

/** The driver prints non-finite float32 values as "NaN" / "Infinity" / "-Infinity". */
function num(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

interface RawNeighbours {
  ids: number[];
  distances: (number | string)[];
}

function neighbours(raw: { results: RawNeighbours[] }): RefNeighbours[] {
  return raw.results.map((r) => ({ ids: r.ids, distances: r.distances.map(num) }));
}

// ------------------------------------------------------------------ wrappers

/**
 * `build METRIC F VECTORS.fbin N_TREES SEED OUT.ann [IDS.ibin]`: adds row r under
 * id r (or ids[r]), set_seed(seed) unless 'default' (a 32-bit int, negative
 * values wrap like Python's), build(nTrees) single-threaded, save(out).
 */
export function refBuild(
  metric: Metric,
  f: number,
  vectors: RowsInput,
  nTrees: number,
  seed: number | 'default',
  out: string,
  ids?: IdsInput,
  opts?: RefOptions,
): RefBuildResult {
  return withTemp((dir) => {
    const args = ['build', metric, String(f), rowsPath(dir, 'vectors', vectors, f), String(nTrees), String(seed), out];
    if (ids !== undefined) {
      if (typeof ids === 'string') args.push(ids);
      else {
        const p = join(dir, 'ids.ibin');
        writeIbin(p, ids);
        args.push(p);
      }
    }
    return runDriver<RefBuildResult>(args, opts);
  });
}

/** `info METRIC F INDEX.ann`: what real Annoy finds when loading, plus the tree structure check. */
export function refInfo(metric: Metric, f: number, index: string, opts?: RefOptions): RefInfo {
  return runDriver<RefInfo>(['info', metric, String(f), index], opts);
}

/** `vectors METRIC F INDEX.ann OUT.fbin`: get_item_vector for ids 0 … n_items-1 (hamming: 0/1 values). */
export function refVectors(metric: Metric, f: number, index: string, opts?: RefOptions): Fbin {
  return withTemp((dir) => {
    const p = join(dir, 'vectors.fbin');
    runDriver<unknown>(['vectors', metric, String(f), index, p], opts);
    return readFbin(p);
  });
}

/** `query METRIC F INDEX.ann QUERIES.fbin K SEARCH_K`: get_nns_by_vector with distances, per row. */
export function refQuery(
  metric: Metric,
  f: number,
  index: string,
  queries: RowsInput,
  k: number,
  searchK = -1,
  opts?: RefOptions,
): RefNeighbours[] {
  return withTemp((dir) =>
    neighbours(
      runDriver<{ results: RawNeighbours[] }>(
        ['query', metric, String(f), index, rowsPath(dir, 'queries', queries, f), String(k), String(searchK)],
        opts,
      ),
    ),
  );
}

/** `items METRIC F INDEX.ann K SEARCH_K FIRST COUNT`: get_nns_by_item for ids first … first+count-1. */
export function refItems(
  metric: Metric,
  f: number,
  index: string,
  k: number,
  searchK: number,
  first: number,
  count: number,
  opts?: RefOptions,
): RefNeighbours[] {
  return neighbours(
    runDriver<{ results: RawNeighbours[] }>(
      ['items', metric, String(f), index, String(k), String(searchK), String(first), String(count)],
      opts,
    ),
  );
}

/** `distance METRIC F INDEX.ann I J [I J ...]`: get_distance(i, j) for each pair, in order. */
export function refDistance(
  metric: Metric,
  f: number,
  index: string,
  pairs: ReadonlyArray<readonly [number, number]>,
  opts?: RefOptions,
): number[] {
  const out: number[] = [];
  const CHUNK = 4096; // keep the command line well below ARG_MAX
  for (let start = 0; start < pairs.length; start += CHUNK) {
    const args = ['distance', metric, String(f), index];
    for (const [i, j] of pairs.slice(start, start + CHUNK)) args.push(String(i), String(j));
    const res = runDriver<{ pairs: [number, number, number | string][] }>(args, opts);
    for (const p of res.pairs) out.push(num(p[2]));
  }
  return out;
}

/**
 * `bench METRIC F INDEX.ann QUERIES.fbin K SEARCH_K [REPEAT]`: load, then time
 * get_nns_by_vector over all queries (repeated `repeat` times) on one thread.
 * Use variant 'native' to measure what a Python wheel would do.
 */
export function refBench(
  metric: Metric,
  f: number,
  index: string,
  queries: RowsInput,
  k: number,
  searchK = -1,
  repeat = 1,
  opts?: RefOptions,
): RefBench {
  return withTemp((dir) =>
    runDriver<RefBench>(
      ['bench', metric, String(f), index, rowsPath(dir, 'queries', queries, f), String(k), String(searchK), String(repeat)],
      opts,
    ),
  );
}

/** `about`: compiler, flags and SIMD path of the driver variant. */
export function refAbout(opts?: RefOptions): RefAbout {
  return runDriver<RefAbout>(['about'], opts);
}

// ------------------------------------------------------------------ .fbin / .ibin

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `uint32 n, uint32 dim, n*dim float32` (little-endian). */
export function writeFbin(path: string, rows: Float32Array, dim: number): void {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`writeFbin: bad dim ${dim}`);
  if (rows.length % dim !== 0) throw new Error(`writeFbin: ${rows.length} values is not a multiple of dim ${dim}`);
  const n = rows.length / dim;
  const buf = Buffer.allocUnsafe(8 + rows.length * 4);
  buf.writeUInt32LE(n, 0);
  buf.writeUInt32LE(dim, 4);
  if (LITTLE_ENDIAN) {
    buf.set(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), 8);
  } else {
    for (let i = 0; i < rows.length; i++) buf.writeFloatLE(rows[i] ?? 0, 8 + 4 * i);
  }
  writeFileSync(path, buf);
}

/** Reads an .fbin file into a fresh, aligned Float32Array. */
export function readFbin(path: string): Fbin {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new Error(`${path}: too short for an .fbin header`);
  const n = buf.readUInt32LE(0);
  const dim = buf.readUInt32LE(4);
  const bytes = n * dim * 4;
  if (buf.length !== 8 + bytes) throw new Error(`${path}: ${buf.length} bytes, header says n=${n} dim=${dim}`);
  const rows = new Float32Array(n * dim);
  if (LITTLE_ENDIAN) {
    new Uint8Array(rows.buffer).set(buf.subarray(8, 8 + bytes));
  } else {
    for (let i = 0; i < rows.length; i++) rows[i] = buf.readFloatLE(8 + 4 * i);
  }
  return { n, dim, rows };
}

/** Writes `uint32 n, uint32 1, n int32` (little-endian). */
export function writeIbin(path: string, ids: Int32Array | readonly number[]): void {
  const buf = Buffer.allocUnsafe(8 + ids.length * 4);
  buf.writeUInt32LE(ids.length, 0);
  buf.writeUInt32LE(1, 4);
  for (let i = 0; i < ids.length; i++) buf.writeInt32LE(ids[i] ?? 0, 8 + 4 * i);
  writeFileSync(path, buf);
}

/** Reads an .ibin file. */
export function readIbin(path: string): Int32Array {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new Error(`${path}: too short for an .ibin header`);
  const n = buf.readUInt32LE(0);
  const d = buf.readUInt32LE(4);
  if (d !== 1 || buf.length !== 8 + n * 4) throw new Error(`${path}: not an .ibin file (n=${n}, d=${d})`);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = buf.readInt32LE(8 + 4 * i);
  return ids;
}
