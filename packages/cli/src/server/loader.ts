// Loading an index for the server without stalling the event loop. Normally a short-lived worker
// thread (load-worker.ts) reads and checks the file straight into a shared WebAssembly memory and
// the server attaches to it (attachIndex): the event loop does almost nothing. Where memory cannot
// be shared, the file is read asynchronously, the CRC-32 computed in slices, and only the copy
// into the index's memory (fromBuffer) blocks.
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  AnnoyError, AnnoyFormatError, AnnoyIndex, AnnoyIOError, attachIndex, checkAgainstSidecar, crc32, errorClassNamed, graphPath, MANIFEST_FILE, parseSidecar,
  ShardedIndex, sidecarPath, type MetricName, type SearchResult, type Sidecar, type WithDistances,
} from 'annoy-ts';
import type { SearchableIndex } from '../cli/open-index.ts';
import { graphSummary, type GraphSummary } from './graph.ts';
import { Labels, packLabels, parseLabels } from './labels.ts';
import type { LoadReply, LoadRequest } from './load-worker.ts';

/** What the server asks of an index: one AnnoyIndex, or the ShardedIndex of a folder (manifest.json and its shards). */
export interface ServedIndex extends SearchableIndex {
  getNnsByVectorsAsync(queries: readonly ArrayLike<number>[], n: number, options: WithDistances): Promise<SearchResult[]>;
  getNnsByVectorsAsync(queries: readonly ArrayLike<number>[], n: number): Promise<number[][]>;
  getNnsByItemsAsync(ids: ArrayLike<number>, n: number, options: WithDistances): Promise<SearchResult[]>;
  close(): Promise<void>;
  unload(): void;
}

/** What the server knows about one loaded index file (or sharded index folder). */
export interface LoadedIndex {
  index: ServedIndex;
  /** The path as configured (maybe a symbolic link). */
  path: string;
  /** The file actually read (links resolved): its sidecar and labels are looked up beside it. */
  realPath: string;
  sidecar: Sidecar | null;
  labels: Labels | null;
  /** The neighbour graph queries walk (INDEX.graph, checked to belong to the index bytes), or null. */
  graph: GraphSummary | null;
  /** Size and modification time of the index, its sidecar and its graph: a changed file shows here. */
  fingerprint: string;
  /** Milliseconds the load took, and how long of that the event loop was blocked at most. */
  millis: number;
  blockedMillis: number;
}

export interface LoadOptions {
  /** For files without a sidecar (written by Annoy itself): the dimension and metric. */
  f?: number;
  metric?: MetricName;
  /** Check the file's CRC-32 against the sidecar (default true). */
  verifyChecksum?: boolean;
  /** Load on a worker thread when the memory can be shared (default true). */
  inWorker?: boolean;
}

function ioError(what: string, path: string, cause: unknown): AnnoyIOError {
  const e = cause as NodeJS.ErrnoException;
  const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
  return new AnnoyIOError(`cannot read ${what} ${path}: ${reason}`, { cause });
}

async function textIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('the sidecar', path, cause);
  }
}

async function fingerprintOf(paths: string[]): Promise<string> {
  const parts: string[] = [];
  for (const p of paths) {
    try {
      const s = await stat(p);
      parts.push(`${s.ino}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

/** The identity of what `path` currently points at (to skip reloading an unchanged file). */
export async function currentFingerprint(path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return 'missing';
  }
  return `${real}|${await fingerprintOf(await isFolder(real) ? [join(real, MANIFEST_FILE)] : [real, sidecarPath(real), graphPath(real)])}`;
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A sharded index's folder: every shard loaded and checked on worker threads (ShardedIndex.openAsync)
 * against the manifest, which is the folder's identity — a rebuild commits by replacing it, so a
 * reload swaps the whole set at once.
 */
async function loadSharded(path: string, real: string, started: number, options: LoadOptions): Promise<LoadedIndex> {
  const fingerprint = `${real}|${await fingerprintOf([join(real, MANIFEST_FILE)])}`;
  const index = options.inWorker === false
    ? ShardedIndex.open(real, { verifyChecksum: options.verifyChecksum !== false })
    : await ShardedIndex.openAsync(real, { verifyChecksum: options.verifyChecksum !== false });
  try {
    if (options.f !== undefined && options.f !== index.f) throw new AnnoyFormatError(`${real}: its manifest says f = ${index.f}, but --f ${options.f} was given`);
    if (options.metric !== undefined && options.metric !== index.metric) throw new AnnoyFormatError(`${real}: its manifest says metric ${index.metric}, but --metric ${options.metric} was given`);
    let blocked = 0;
    const name = index.manifest.labels;
    const labels = name === undefined ? null : await readLabels(join(real, name), index.getNItems(), (ms) => (blocked = Math.max(blocked, ms)));
    return { index, path, realPath: real, sidecar: null, labels, graph: null, fingerprint, millis: performance.now() - started, blockedMillis: blocked };
  } catch (e) {
    await index.close();
    index.unload();
    throw e;
  }
}

const SLICE = 8 << 20;

/** CRC-32 in 8 MiB slices (≈ 2 ms each with zlib's), yielding to the event loop in between. */
async function crc32Sliced(bytes: Uint8Array, track: (ms: number) => void): Promise<number> {
  let value = 0;
  for (let at = 0; at < bytes.length; at += SLICE) {
    const t = performance.now();
    value = crc32(bytes.subarray(at, Math.min(bytes.length, at + SLICE)), value);
    track(performance.now() - t);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return value;
}

/**
 * Starts the loading thread. Built (dist/*.js) it is a plain module worker; run from the
 * TypeScript sources (tests, tsx) a two-line bootstrap registers tsx (a development dependency)
 * first. Workers do not inherit the parent's Node flags (--import loaders would be set up again).
 */
function startLoadWorker(request: LoadRequest): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./load-worker${fromSources ? '.ts' : '.js'}`, import.meta.url);
  const options = { workerData: request, execArgv: [] };
  if (!fromSources) return new Worker(entry, options);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** For files without a sidecar: f and metric must come from the command line. */
function missingSidecar(path: string, where: string): AnnoyFormatError {
  return new AnnoyFormatError(
    `${path} has no sidecar (${where}), so its dimension and metric are unknown: pass --f and --metric, or save it with annoy-ts`,
  );
}

/**
 * Loads the index at `path` (its sidecar and labels too) into a new AnnoyIndex, checking it the
 * way AnnoyIndex.open does: the sidecar's dimension, metric, size, item count and checksum must
 * all agree with the file. Any problem throws an AnnoyError naming the file and what is wrong.
 */
export async function loadIndex(path: string, options: LoadOptions = {}): Promise<LoadedIndex> {
  const started = performance.now();
  let real: string;
  try {
    real = await realpath(path);
  } catch (cause) {
    throw ioError('the index', path, cause);
  }
  if (await isFolder(real)) return loadSharded(path, real, started, options);
  const where = sidecarPath(real);
  const fingerprint = `${real}|${await fingerprintOf([real, where, graphPath(real)])}`;
  const sidecarText = await textIfExists(where);
  if (sidecarText === null && (options.f === undefined || options.metric === undefined)) throw missingSidecar(path, where);
  if (options.inWorker !== false) {
    const request: LoadRequest = { realPath: real, f: options.f, metric: options.metric, verifyChecksum: options.verifyChecksum !== false };
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      const worker = startLoadWorker(request);
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AnnoyError(`the loading thread stopped (exit code ${code}) while loading ${real}`)));
    });
    if (reply.ok) {
      const t = performance.now();
      const index = attachIndex(reply.shared);
      const labels = reply.labels && new Labels(reply.labels);
      const blockedMillis = performance.now() - t;
      return { index, path, realPath: real, sidecar: reply.sidecar, labels, graph: reply.graph, fingerprint, millis: performance.now() - started, blockedMillis };
    }
    if (!reply.unshareable) throw new (errorClassNamed(reply.name))(namingFile(reply.message, real));
  }
  try {
    return await loadOnThisThread(path, real, sidecarText, fingerprint, started, options);
  } catch (e) {
    if (e instanceof AnnoyError && !e.message.includes(real)) throw new (errorClassNamed(e.name))(namingFile(e.message, real), { cause: e });
    throw e;
  }
}

/** Core errors about bytes do not know the file they came from. */
function namingFile(message: string, file: string): string {
  return message.includes(file) ? message : `${file}: ${message}`;
}

async function loadOnThisThread(
  path: string, real: string, sidecarText: string | null, fingerprint: string, started: number, options: LoadOptions,
): Promise<LoadedIndex> {
  let blocked = 0;
  const track = (ms: number) => (blocked = Math.max(blocked, ms));
  const where = sidecarPath(real);
  const sidecar = sidecarText === null ? null : parseSidecar(sidecarText, where);
  let bytes: Buffer;
  try {
    bytes = await readFile(real);
  } catch (cause) {
    throw ioError('the index', real, cause);
  }
  // The graph beside the file, attached when it belongs to these bytes (else an AnnoyFormatError naming it).
  const graphFile = graphPath(real);
  let graphBytes: Buffer | undefined;
  try {
    graphBytes = await readFile(graphFile);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('the graph file', graphFile, cause);
  }
  const withGraph = graphBytes ? { graph: graphBytes } : {};
  const namingGraph = <T>(open: () => T): T => {
    try {
      return open();
    } catch (e) {
      const prefix = 'the graph bytes: ';
      if (e instanceof AnnoyFormatError && e.message.startsWith(prefix)) throw new AnnoyFormatError(`${graphFile}: ${e.message.slice(prefix.length)}`, { cause: e });
      throw e;
    }
  };
  let index: AnnoyIndex;
  if (sidecar) {
    const verifyChecksum = options.verifyChecksum !== false;
    // Computed in slices here (no CRC of a file whose length already disagrees), compared there.
    const crc = verifyChecksum && bytes.length === sidecar.byteLength ? await crc32Sliced(bytes, track) : undefined;
    checkAgainstSidecar(bytes, sidecar, { f: options.f, metric: options.metric, verifyChecksum, crc, file: real, sidecarFile: where });
    const t = performance.now();
    index = namingGraph(() => AnnoyIndex.fromBuffer(bytes, sidecar, withGraph));
    track(performance.now() - t);
  } else {
    const t = performance.now();
    index = namingGraph(() => AnnoyIndex.fromBuffer(bytes, options.f!, options.metric!, withGraph));
    track(performance.now() - t);
  }
  let labels: Labels | null = null;
  if (sidecar?.labels !== undefined) labels = await readLabels(join(dirname(real), sidecar.labels), index.getNItems(), track);
  const graph = graphSummary(real, index.hasGraph(), graphBytes);
  return { index, path, realPath: real, sidecar, labels, graph, fingerprint, millis: performance.now() - started, blockedMillis: blocked };
}

async function readLabels(file: string, nItems: number, track: (ms: number) => void): Promise<Labels> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw ioError('the labels file', file, cause);
  }
  const t = performance.now();
  const labels = new Labels(packLabels(file, parseLabels(file, text, nItems)));
  track(performance.now() - t);
  return labels;
}
