// The labels of an index (words, string keys): a JSON array beside the index, `INDEX.labels.json`,
// named in the sidecar; element i is item i's label (null for ids without one). The one owner of
// that file for the command line (build writes it, query/info read it) and the server.
//
// In memory the labels are packed so that a worker thread can build them and hand them to the
// server cheaply: one string holding every label back to back, the start of each label in it, and
// an open-addressing hash table label → smallest id. Sending an array of 341,479 strings between
// threads costs hundreds of milliseconds of the event loop's time to deserialise; this costs one
// string copy and three typed arrays.
import { basename } from 'node:path';
import { AnnoyFormatError, writeFileAtomic } from 'annoy-ts';

/** Where the labels of the index at `indexPath` are written. */
export function labelsPathFor(indexPath: string): string {
  return `${indexPath}.labels.json`;
}

/** Writes the labels file atomically; returns its file name (what the sidecar records). */
export function writeLabels(indexPath: string, labels: readonly (string | null)[]): string {
  const path = labelsPathFor(indexPath);
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(labels) + '\n'));
  return basename(path);
}

/** Parses and checks a labels file's text: a JSON array of strings (or nulls for holes), at most one per item. */
export function parseLabels(file: string, text: string, nItems: number): (string | null)[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (cause) {
    throw new AnnoyFormatError(`${file} (the index's labels) is not valid JSON: ${(cause as Error).message}`);
  }
  if (!Array.isArray(list) || list.some((l) => l !== null && typeof l !== 'string')) {
    throw new AnnoyFormatError(`${file} (the index's labels) must be a JSON array of strings and nulls`);
  }
  if (list.length > nItems) throw new AnnoyFormatError(`${file} has ${list.length} labels, but the index has only ${nItems} items: it belongs to another index`);
  return list as (string | null)[];
}

/** A labels file's text → the labels, checked against the index's item count. */
export function labelsFromText(file: string, text: string, nItems: number): Labels {
  return new Labels(packLabels(file, parseLabels(file, text, nItems)));
}

/** The packed form (what crosses from the loading thread). */
export interface PackedLabels {
  file: string;
  text: string;
  /** starts[i] … starts[i + 1] is label i in `text`; a null label has isNull[i] = 1. */
  starts: Int32Array;
  isNull: Uint8Array;
  /** Open addressing, linear probing: item ids (-1 = empty), capacity a power of two. */
  table: Int32Array;
}

/** FNV-1a over UTF-16 code units. */
function hash(s: string, from = 0, to = s.length): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function sameText(text: string, start: number, end: number, label: string): boolean {
  if (end - start !== label.length) return false;
  for (let k = 0; k < label.length; k++) if (text.charCodeAt(start + k) !== label.charCodeAt(k)) return false;
  return true;
}

/** Packs a label list (as read from INDEX.labels.json). */
export function packLabels(file: string, list: readonly (string | null)[]): PackedLabels {
  const n = list.length;
  const starts = new Int32Array(n + 1);
  const isNull = new Uint8Array(n);
  let length = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = length;
    const l = list[i];
    if (l === null) isNull[i] = 1;
    else length += l.length;
  }
  starts[n] = length;
  const text = list.map((l) => l ?? '').join('');
  let capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  const table = new Int32Array(capacity).fill(-1);
  const mask = capacity - 1;
  for (let i = 0; i < n; i++) {
    if (isNull[i]) continue;
    const start = starts[i], end = starts[i + 1];
    let slot = hash(text, start, end) & mask;
    for (;;) {
      const id = table[slot];
      if (id === -1) {
        table[slot] = i;
        break;
      }
      if (sameText(text, starts[id], starts[id + 1], text.slice(start, end))) break; // a duplicate: the smallest id stays
      slot = (slot + 1) & mask;
    }
  }
  return { file, text, starts, isNull, table };
}

export class Labels {
  readonly file: string;
  /** Length of the labels array (ids 0 … count − 1; some may have no label). */
  readonly count: number;
  readonly #p: PackedLabels;

  constructor(packed: PackedLabels) {
    this.#p = packed;
    this.file = packed.file;
    this.count = packed.isNull.length;
  }

  /** How many items have a label. */
  get labelled(): number {
    let n = 0;
    for (const isNull of this.#p.isNull) n += 1 - isNull;
    return n;
  }

  /** Label of item `id`, or null (no label, or beyond the labels file). */
  get(id: number): string | null {
    const p = this.#p;
    if (id < 0 || id >= this.count || p.isNull[id]) return null;
    return p.text.slice(p.starts[id], p.starts[id + 1]);
  }

  /** The smallest item id with this label, or undefined. */
  find(label: string): number | undefined {
    const p = this.#p;
    const mask = p.table.length - 1;
    for (let slot = hash(label) & mask; ; slot = (slot + 1) & mask) {
      const id = p.table[slot];
      if (id === -1) return undefined;
      if (sameText(p.text, p.starts[id], p.starts[id + 1], label)) return id;
    }
  }
}
