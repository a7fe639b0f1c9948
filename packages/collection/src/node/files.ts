// A collection folder's files besides the database: index segments (an Annoy file, its sidecar,
// and the ids companion that maps index positions to item ids), written durably before the
// database names them, and removed only once the database no longer does.
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AnnoyFormatError, AnnoyIOError, crc32, type Sidecar } from 'annoy-ts';

const IDS_MAGIC = 'ATSCIDS1';
const IDS_VERSION = 1;
const IDS_HEADER = 32;
/** Segment files: base-000012.ann, base-000012.ann.json, base-000012.ids, base-000012.ann.graph (optional; the same for delta). */
const SEGMENT_FILE = /^(base|delta)-(\d{6,})\.(ann|ann\.json|ann\.graph|ids)$/;
/** Temporary files of a write that did not finish (ours, and the library's save()): `.<target>.<pid>.<hex>.tmp`. */
const TEMP_FILE = /^\.(base|delta)-\d{6,}\.(ann|ann\.json|ann\.graph|ids)\.\d+\.[0-9a-f]+\.tmp$/;

export function segmentFiles(dir: string, name: string): { ann: string; sidecar: string; ids: string; graph: string } {
  const ann = join(dir, `${name}.ann`);
  return { ann, sidecar: `${ann}.json`, ids: join(dir, `${name}.ids`), graph: `${ann}.graph` };
}

/** The generation number in a segment name (base-000012 → 12). */
export function generationOf(name: string): number {
  return Number(name.slice(name.indexOf('-') + 1));
}

export function segmentName(kind: 'base' | 'delta', generation: number): string {
  return `${kind}-${String(generation).padStart(6, '0')}`;
}

function checksumNumber(sidecar: Sidecar): number {
  return Number.parseInt(sidecar.checksum.slice('crc32:'.length), 16) >>> 0;
}

/**
 * The ids companion: a 32-byte header (magic, version, count, the CRC-32 of the .ann bytes it
 * belongs to, the CRC-32 of the ids), then `count` float64 ids, ascending.
 */
export function encodeIds(ids: Float64Array, sidecar: Sidecar): Uint8Array {
  const bytes = new Uint8Array(IDS_HEADER + ids.byteLength);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(IDS_MAGIC), 0);
  view.setUint32(8, IDS_VERSION, true);
  view.setUint32(12, ids.length, true);
  view.setUint32(16, checksumNumber(sidecar), true);
  const body = new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
  view.setUint32(20, crc32(body), true);
  bytes.set(body, IDS_HEADER);
  return bytes;
}

export function readIds(path: string, sidecar: Sidecar): Float64Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new AnnoyIOError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const bad = (what: string): never => {
    throw new AnnoyFormatError(`${path} is not a valid ids file of its segment: ${what}`);
  };
  if (bytes.length < IDS_HEADER) bad(`only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== IDS_MAGIC) bad('wrong magic bytes');
  const version = view.getUint32(8, true);
  if (version !== IDS_VERSION) bad(`version ${version}, this annoy-ts reads version ${IDS_VERSION}`);
  const count = view.getUint32(12, true);
  if (count !== sidecar.nItems) bad(`it lists ${count} ids, but the index holds ${sidecar.nItems} items`);
  if (view.getUint32(16, true) !== checksumNumber(sidecar)) bad('it belongs to other index bytes (checksum differs)');
  if (bytes.length !== IDS_HEADER + 8 * count) bad(`${bytes.length} bytes, expected ${IDS_HEADER + 8 * count}`);
  const ids = new Float64Array(count);
  const body = new Uint8Array(ids.buffer);
  body.set(bytes.subarray(IDS_HEADER));
  if (crc32(body) !== view.getUint32(20, true)) bad('the ids are damaged (checksum mismatch)');
  for (let p = 0; p < count; p++) {
    const id = ids[p]!;
    if (!Number.isSafeInteger(id) || id < 0 || (p > 0 && id <= ids[p - 1]!)) bad(`id ${id} at position ${p} is not a valid ascending id`);
  }
  return ids;
}

/**
 * Segment files the database does not name (a build that crashed or failed before its switch, or
 * old segments whose removal a crash interrupted) and unfinished temporary files: safe to delete.
 */
export function strayFiles(dir: string, current: readonly string[]): string[] {
  const keep = new Set(current);
  return readdirSync(dir).filter((file) => {
    if (TEMP_FILE.test(file)) return true;
    const m = SEGMENT_FILE.exec(file);
    return m !== null && !keep.has(`${m[1]}-${m[2]}`);
  });
}

/** The highest generation among segment file names in `dir` (0 when none). */
export function highestGeneration(dir: string): number {
  let g = 0;
  for (const file of readdirSync(dir)) {
    const m = SEGMENT_FILE.exec(file);
    if (m) g = Math.max(g, Number(m[2]));
  }
  return g;
}

export async function removeFiles(dir: string, files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => rm(join(dir, file), { force: true })));
}

export function segmentFileNames(name: string): string[] {
  return [`${name}.ann`, `${name}.ann.json`, `${name}.ids`, `${name}.ann.graph`];
}
