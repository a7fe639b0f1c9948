/**
 * .fbin / .ibin matrices (big-ann-benchmarks layout, little-endian):
 *   uint32 n, uint32 d, then n·d float32 (.fbin) or int32 (.ibin), row-major.
 * Read straight into a fresh typed array (no intermediate Buffer).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Matrix<T extends Float32Array | Int32Array> {
  n: number;
  d: number;
  data: T;
}

function writeMatrix(file: string, data: Float32Array | Int32Array, d: number): void {
  if (!Number.isInteger(d) || d < 1 || data.length % d !== 0) throw new RangeError(`${file}: ${data.length} values is not a multiple of d = ${d}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, new Uint8Array(new Uint32Array([data.length / d, d]).buffer));
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 28));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function readMatrix<T extends Float32Array | Int32Array>(file: string, make: (n: number) => T): Matrix<T> {
  const fd = fs.openSync(file, 'r');
  try {
    const header = new Uint32Array(2);
    if (fs.readSync(fd, new Uint8Array(header.buffer), 0, 8, 0) !== 8) throw new Error(`${file}: no header`);
    const n = header[0]!;
    const d = header[1]!;
    const size = fs.fstatSync(fd).size;
    if (size !== 8 + n * d * 4) throw new Error(`${file}: ${size} bytes, header says ${n} × ${d}`);
    const data = make(n * d);
    const bytes = new Uint8Array(data.buffer);
    for (let off = 0; off < bytes.length; ) {
      const got = fs.readSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 28), 8 + off);
      if (got === 0) throw new Error(`${file}: truncated`);
      off += got;
    }
    return { n, d, data };
  } finally {
    fs.closeSync(fd);
  }
}

export const writeFbin = (file: string, data: Float32Array, d: number): void => writeMatrix(file, data, d);
export const writeIbin = (file: string, data: Int32Array, d: number): void => writeMatrix(file, data, d);
export const readFbin = (file: string): Matrix<Float32Array> => readMatrix(file, (n) => new Float32Array(n));
export const readIbin = (file: string): Matrix<Int32Array> => readMatrix(file, (n) => new Int32Array(n));
