/**
 * Cache file helpers: atomic writes (temp file + fsync + rename, so an
 * interrupted run never leaves a half-written cache file under its final
 * name) and the binary matrix formats used by big-ann-benchmarks:
 *
 *   .fbin   uint32 n, uint32 d, then n*d float32   (row-major, little-endian)
 *   .u8bin  uint32 n, uint32 d, then n*d uint8
 *   .ibin   uint32 n, uint32 d, then n*d int32
 *
 * Readers validate the header against the expected shape and the file size
 * against the header and throw {@link InvalidCacheError} when anything is
 * off; callers catch it, say why on stderr and rebuild.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

if (os.endianness() !== 'LE') {
  // The binary caches are little-endian and read straight into typed arrays.
  throw new Error('annoy-ts datasets: only little-endian hosts are supported');
}

/** A cache file is missing, truncated, of the wrong shape or otherwise stale. */
export class InvalidCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCacheError';
  }
}

export type MatrixKind = 'f32' | 'u8' | 'i32';
export type MatrixArray<K extends MatrixKind> = K extends 'f32'
  ? Float32Array
  : K extends 'u8'
    ? Uint8Array
    : Int32Array;

const BYTES: Record<MatrixKind, number> = { f32: 4, u8: 1, i32: 4 };
const HEADER_BYTES = 8;

function asBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Size of a file in bytes, or null when it does not exist. */
export function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp files left next to `file` by processes that no longer run. */
function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (Number.isFinite(pid) && pidAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
    } catch {
      /* someone else removed it */
    }
  }
}

let tempCounter = 0;

/**
 * Write `parts` (strings are UTF-8 encoded) to `file` atomically: into a temp
 * file in the same folder, fsync, then rename over the target. Creates the
 * folder. Returns the number of bytes written.
 */
export function writeFileAtomic(file: string, parts: ReadonlyArray<string | ArrayBufferView>): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeStaleTemps(file);
  const tmp = `${file}.tmp-${process.pid}-${tempCounter++}`;
  let total = 0;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of parts) {
      const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : asBytes(part);
      let off = 0;
      while (off < bytes.byteLength) {
        off += fs.writeSync(fd, bytes, off, Math.min(bytes.byteLength - off, 1 << 28));
      }
      total += bytes.byteLength;
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw err;
  }
  return total;
}

/** Write a matrix file (.fbin / .u8bin / .ibin, see top of file). Returns bytes written. */
export function writeMatrixFile(
  file: string,
  n: number,
  d: number,
  data: Float32Array | Uint8Array | Int32Array,
): number {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 0 || n > 0xffffffff || d > 0xffffffff) {
    throw new RangeError(`bad matrix shape ${n}x${d}`);
  }
  if (data.length !== n * d) throw new RangeError(`matrix data has ${data.length} values, expected ${n}x${d}`);
  const header = new Uint32Array([n, d]);
  return writeFileAtomic(file, [header, data]);
}

function readFully(fd: number, target: Uint8Array, position: number): void {
  let off = 0;
  while (off < target.byteLength) {
    const got = fs.readSync(fd, target, off, Math.min(target.byteLength - off, 1 << 28), position + off);
    if (got === 0) throw new InvalidCacheError('unexpected end of file');
    off += got;
  }
}

/**
 * Read a matrix file written by {@link writeMatrixFile} straight into a new
 * typed array (no intermediate Buffer copy). Throws {@link InvalidCacheError}
 * if the file is missing, its header disagrees with `expect`, or its size
 * disagrees with its header.
 */
export function readMatrixFile<K extends MatrixKind>(
  file: string,
  kind: K,
  expect: { n?: number; d?: number } = {},
): { n: number; d: number; data: MatrixArray<K> } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new InvalidCacheError(`missing ${path.basename(file)}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEADER_BYTES) throw new InvalidCacheError(`${path.basename(file)} is truncated`);
    const header = new Uint32Array(2);
    readFully(fd, new Uint8Array(header.buffer), 0);
    const n = header[0]!;
    const d = header[1]!;
    if (expect.n !== undefined && n !== expect.n) {
      throw new InvalidCacheError(`${path.basename(file)} has ${n} rows, expected ${expect.n}`);
    }
    if (expect.d !== undefined && d !== expect.d) {
      throw new InvalidCacheError(`${path.basename(file)} has dimension ${d}, expected ${expect.d}`);
    }
    const expectedSize = HEADER_BYTES + n * d * BYTES[kind];
    if (size !== expectedSize) {
      throw new InvalidCacheError(`${path.basename(file)} is ${size} bytes, expected ${expectedSize}`);
    }
    const data =
      kind === 'f32' ? new Float32Array(n * d) : kind === 'u8' ? new Uint8Array(n * d) : new Int32Array(n * d);
    readFully(fd, asBytes(data), HEADER_BYTES);
    return { n, d, data: data as MatrixArray<K> };
  } finally {
    fs.closeSync(fd);
  }
}

/** Parse a JSON file; throws {@link InvalidCacheError} if missing or malformed. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InvalidCacheError(`missing ${path.basename(file)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidCacheError(`${path.basename(file)} is not valid JSON`);
  }
}

/** Write a value as pretty JSON, atomically. */
export function writeJsonFile(file: string, value: unknown): number {
  return writeFileAtomic(file, [`${JSON.stringify(value, null, 2)}\n`]);
}

/** Is `value` a plain object (for validating parsed metadata)? */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Check that every file listed in `sizes` (name relative to `dir` → expected
 * byte size) exists with exactly that size.
 */
export function checkFileSizes(dir: string, sizes: unknown): void {
  if (!isRecord(sizes)) throw new InvalidCacheError('metadata lists no files');
  for (const [name, expected] of Object.entries(sizes)) {
    const actual = fileSize(path.join(dir, name));
    if (actual === null) throw new InvalidCacheError(`missing ${name}`);
    if (actual !== expected) throw new InvalidCacheError(`${name} is ${actual} bytes, metadata says ${String(expected)}`);
  }
}
