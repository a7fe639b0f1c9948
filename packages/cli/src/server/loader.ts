// Loading an index for the server without stalling the event loop. Normally a short-lived worker
// thread (load-worker.ts) reads and checks the file straight into a shared WebAssembly memory and
// the server adopts it (AnnoyIndex.fromSharedThread): the event loop does almost nothing. Where
// memory cannot be shared, the file is read asynchronously, the CRC-32 computed in slices, and
// only the copy into the index's memory (fromBuffer) blocks.
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import {
  AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIndex, AnnoyIOError, AnnoyStateError, crc32, parseSidecar, sidecarPath, startWorker,
  type MetricName, type Sidecar,
} from 'annoy-ts';
import { Labels, packLabels, parseLabels } from './labels.ts';
import type { LoadReply, LoadRequest } from './load-worker.ts';

/** What the server knows about one loaded index file. */
export interface LoadedIndex {
  index: AnnoyIndex;
  /** The path as configured (maybe a symbolic link). */
  path: string;
  /** The file actually read (links resolved): its sidecar and labels are looked up beside it. */
  realPath: string;
  sidecar: Sidecar | null;
  labels: Labels | null;
  /** Size and modification time of the index and its sidecar: a changed file shows here. */
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
  return `${real}|${await fingerprintOf([real, sidecarPath(real)])}`;
}

const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const SLICE = 8 << 20;

/** CRC-32 in 8 MiB slices (≈ 2 ms each), yielding to the event loop in between. */
async function crc32Sliced(bytes: Uint8Array, track: (ms: number) => void): Promise<number> {
  if (!nativeCrc) {
    const t = performance.now();
    const sum = crc32(bytes);
    track(performance.now() - t);
    return sum;
  }
  let value = 0;
  for (let at = 0; at < bytes.length; at += SLICE) {
    const t = performance.now();
    value = nativeCrc(bytes.subarray(at, Math.min(bytes.length, at + SLICE)), value);
    track(performance.now() - t);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return value >>> 0;
}

const ERRORS: Record<string, new (message: string) => AnnoyError> = {
  AnnoyArgumentError, AnnoyStateError, AnnoyFormatError, AnnoyIOError, AnnoyError,
};

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
  const fingerprint = `${real}|${await fingerprintOf([real, sidecarPath(real)])}`;
  if (options.inWorker !== false) {
    const request: LoadRequest = { realPath: real, f: options.f, metric: options.metric, verifyChecksum: options.verifyChecksum !== false };
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      const worker = startWorker('./load-worker', request, undefined, import.meta.url);
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AnnoyError(`the loading thread stopped (exit code ${code}) while loading ${real}`)));
    });
    if (reply.ok) {
      const t = performance.now();
      const index = AnnoyIndex.fromSharedThread(reply.shared);
      const labels = reply.labels && new Labels(reply.labels);
      const blockedMillis = performance.now() - t;
      return { index, path, realPath: real, sidecar: reply.sidecar, labels, fingerprint, millis: performance.now() - started, blockedMillis };
    }
    if (!reply.unshareable) throw new (ERRORS[reply.name] ?? AnnoyError)(namingFile(reply.message, real));
  }
  try {
    return await loadOnThisThread(path, real, fingerprint, started, options);
  } catch (e) {
    if (e instanceof AnnoyError && !e.message.includes(real)) throw new (e.constructor as new (m: string) => AnnoyError)(namingFile(e.message, real));
    throw e;
  }
}

/** Core errors about bytes do not know the file they came from. */
function namingFile(message: string, file: string): string {
  return message.includes(file) ? message : `${file}: ${message}`;
}

async function loadOnThisThread(path: string, real: string, fingerprint: string, started: number, options: LoadOptions): Promise<LoadedIndex> {
  let blocked = 0;
  const track = (ms: number) => (blocked = Math.max(blocked, ms));
  const where = sidecarPath(real);
  const text = await textIfExists(where);
  let sidecar: Sidecar | null = null;
  if (text !== null) {
    sidecar = parseSidecar(text, where);
    if (options.f !== undefined && options.f !== sidecar.f) throw new AnnoyFormatError(`${where} says f = ${sidecar.f}, but --f ${options.f} was given`);
    if (options.metric !== undefined && options.metric !== sidecar.metric) {
      throw new AnnoyFormatError(`${where} says metric ${sidecar.metric}, but --metric ${options.metric} was given`);
    }
  } else if (options.f === undefined || options.metric === undefined) {
    throw new AnnoyFormatError(
      `${path} has no sidecar (${where}), so its dimension and metric are unknown: pass --f and --metric, or save it with annoy-ts`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(real);
  } catch (cause) {
    throw ioError('the index', real, cause);
  }
  let index: AnnoyIndex;
  if (sidecar) {
    if (bytes.length !== sidecar.byteLength) {
      throw new AnnoyFormatError(`${real} is ${bytes.length} bytes, but ${where} describes a ${sidecar.byteLength}-byte index (a partial copy, or a stale sidecar)`);
    }
    if (options.verifyChecksum !== false) {
      const sum = `crc32:${(await crc32Sliced(bytes, track)).toString(16).padStart(8, '0')}`;
      if (sum !== sidecar.checksum) throw new AnnoyFormatError(`${real} has checksum ${sum}, but ${where} says ${sidecar.checksum}: the file is damaged or was replaced without its sidecar`);
    }
    const t = performance.now();
    index = AnnoyIndex.fromBuffer(bytes, sidecar);
    track(performance.now() - t);
  } else {
    const t = performance.now();
    index = AnnoyIndex.fromBuffer(bytes, options.f!, options.metric!);
    track(performance.now() - t);
  }
  let labels: Labels | null = null;
  if (sidecar?.labels !== undefined) labels = await readLabels(join(dirname(real), sidecar.labels), index.getNItems(), track);
  return { index, path, realPath: real, sidecar, labels, fingerprint, millis: performance.now() - started, blockedMillis: blocked };
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
