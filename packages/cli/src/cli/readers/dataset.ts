import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { checkValue } from '../args.ts';
import { CliError } from '../errors.ts';

/** Vectors read from a file: `count` rows of `dim` float32 values, row-major. */
export interface Dataset {
  dim: number;
  count: number;
  data: Float32Array;
  /** Per row (words, string keys), or null when the file has none. */
  labels: (string | null)[] | null;
  /** Per row, the item id the file gives it (id column / "id" key), or null: ids are row numbers. */
  ids: number[] | null;
}

export interface ReadOptions {
  /** Bytes read so far and the file's size. */
  onProgress?: (done: number, total: number) => void;
  /** CSV/TSV: the label column (header name or 1-based number). */
  labelColumn?: string;
  /** CSV/TSV: the id column (header name or 1-based number). */
  idColumn?: string;
  /** CSV/TSV: true/false forces the first line to be a header or data; undefined detects it. */
  header?: boolean;
  /** CSV/TSV: the field separator (default ',' for .csv, tab for .tsv). */
  delimiter?: string;
}

const F32_MAX = 3.4028234663852886e38;

/**
 * A dataset from a binary matrix (npy, fvecs, fbin …): checks every value (finite, fits float32)
 * and names the first bad one by row and column. float64 input is rounded to float32 here.
 */
export function fromMatrix(file: string, values: ArrayLike<number>, count: number, dim: number): Dataset {
  if (count === 0 || dim === 0) throw new CliError(`${file}: no vectors found (${count} rows of ${dim} values)`);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!(Math.abs(x) <= F32_MAX)) checkValue(x, `${file} row ${Math.floor(i / dim) + 1}, value ${(i % dim) + 1}`, CliError);
  }
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { dim, count, data, labels: null, ids: null };
}

/** Largest item id Annoy accepts (int32, and n_items = id + 1 must fit too). */
export const MAX_ID = 0x7fffffff - 1;

/** Collects rows of one fixed dimension into a growing Float32Array, checking every value. */
export class MatrixBuilder {
  dim = -1;
  count = 0;
  private data = new Float32Array(0);
  labels: (string | null)[] | null = null;
  ids: number[] | null = null;
  private firstRow = '';
  private seenIds: Map<number, string> | null = null;

  constructor(private readonly file: string) {}

  /** Appends one row; `where` names it in errors (e.g. "line 7"). Values must already be numbers. */
  add(values: ArrayLike<number>, where: string, label: string | null = null, id: number | null = null): void {
    if (this.dim === -1) {
      if (values.length === 0) throw new CliError(`${this.file} ${where}: no values`);
      this.dim = values.length;
      this.firstRow = where;
    } else if (values.length !== this.dim) {
      throw new CliError(
        `${this.file} ${where}: ${values.length} value${values.length === 1 ? '' : 's'}, but ${this.firstRow} has ${this.dim}: every vector needs the same dimension`,
      );
    }
    for (let k = 0; k < values.length; k++) {
      const x = values[k];
      if (!(Math.abs(x) <= F32_MAX)) checkValue(x, `${this.file} ${where}, value ${k + 1}`, CliError);
    }
    if (label !== null) (this.labels ??= new Array<string | null>(this.count).fill(null))[this.count] = label;
    else if (this.labels) this.labels[this.count] = null;
    if (id !== null) {
      if (this.ids === null && this.count > 0) throw new CliError(`${this.file} ${where}: has an id, but earlier rows do not`);
      this.seenIds ??= new Map();
      const before = this.seenIds.get(id);
      if (before !== undefined) throw new CliError(`${this.file} ${where}: id ${id} was already used (${before})`);
      this.seenIds.set(id, where);
      (this.ids ??= []).push(id);
    } else if (this.ids !== null) {
      throw new CliError(`${this.file} ${where}: has no id, but earlier rows do`);
    }
    if ((this.count + 1) * this.dim > this.data.length) {
      const next = new Float32Array(Math.max(1024, Math.ceil((this.count + 1) * this.dim * 1.5)));
      next.set(this.data);
      this.data = next;
    }
    this.data.set(values, this.count * this.dim);
    this.count++;
  }

  finish(): Dataset {
    if (this.count === 0) throw new CliError(`${this.file}: no vectors found`);
    if (this.labels) this.labels.length = this.count;
    return { dim: this.dim, count: this.count, data: this.data.subarray(0, this.count * this.dim), labels: this.labels, ids: this.ids };
  }
}

/** Checks an id read from a file: a non-negative integer Annoy can store. */
export function parseId(text: string, where: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new CliError(`${where}: id ${JSON.stringify(text)} is not a non-negative integer`);
  const id = Number(t);
  if (id > MAX_ID) throw new CliError(`${where}: id ${t} is too large (Annoy ids are int32, at most ${MAX_ID})`);
  return id;
}

/** Reads a whole file into a fresh (aligned) buffer in 16 MiB steps, reporting progress. */
export function readWholeFile(path: string, onProgress?: (done: number, total: number) => void): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new CliError(`cannot open ${path}: ${systemMessage(cause)}`);
  }
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(new ArrayBuffer(size));
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, Math.min(size - done, 1 << 24), done);
      if (n === 0) throw new CliError(`${path} shrank while it was read`);
      done += n;
      onProgress?.(done, size);
    }
    return bytes;
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw new CliError(`cannot read ${path}: ${systemMessage(cause)}`);
  } finally {
    closeSync(fd);
  }
}

/** "no such file or directory" rather than "ENOENT: no such file or directory, open 'x'". */
export function systemMessage(cause: unknown): string {
  const e = cause as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const text: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'it is a folder, not a file',
      ENOTDIR: 'a part of the path is not a folder',
      EMFILE: 'too many open files',
    };
    return text[e.code] ?? e.message;
  }
  return (cause as Error)?.message ?? String(cause);
}
