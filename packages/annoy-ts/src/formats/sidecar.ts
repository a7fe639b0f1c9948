// The sidecar: a small JSON file written beside an index (`index.ann` → `index.ann.json`) that
// records what Annoy's files do not: the dimension, the metric and a checksum of the bytes.
// Pure functions only (no Node built-ins), so the portable build can adopt this module as it is.
import { AnnoyArgumentError, AnnoyFormatError } from '../errors.ts';
import { checksumText, crc32Portable, type Crc32 } from './checksum.ts';
import { createMetric, describe, isMetricName } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';

export const SIDECAR_FORMAT = 'annoy-ts-sidecar';
/** Bumped when a field changes meaning; readers refuse versions newer than theirs. */
export const SIDECAR_VERSION = 1;
/** @internal The .ann layout the sidecar vouches for: Annoy 1.17.x records (dot: the 1.17.x layout). */
export const INDEX_FORMAT = 'annoy-1.17';

export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  version: number;
  indexFormat: string;
  f: number;
  metric: MetricName;
  nItems: number;
  /** Trees built (Annoy's loader may report more roots for tiny indexes: see the README). */
  nTrees: number;
  /** The 64-bit build seed as a decimal string; null when unknown (an index re-saved after load()). */
  seed: string | null;
  recordBytes: number;
  byteLength: number;
  /** `crc32:` + 8 hex digits, over all `byteLength` bytes of the index file. */
  checksum: string;
  createdBy: string;
  /** File name (no folders) of the labels file beside the index: a JSON array, label of item i at i. */
  labels?: string;
  /** Anything JSON the caller attached with save(path, { metadata }). */
  metadata?: Record<string, unknown>;
}

/** Where the sidecar of `indexPath` lives. */
export function sidecarPath(indexPath: string): string {
  return `${indexPath}.json`;
}

/** @internal Checks the user-supplied parts of a sidecar: metadata (a JSON object) and the labels file name. */
export function checkSidecarExtras(metadata: unknown, labels: unknown): void {
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new AnnoyArgumentError(`metadata must be a plain object, got ${describe(metadata)}`);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(metadata);
    } catch (cause) {
      throw new AnnoyArgumentError(`metadata must be JSON-serialisable: ${(cause as Error).message}`, { cause });
    }
    if (text === undefined) throw new AnnoyArgumentError('metadata must be JSON-serialisable');
  }
  if (labels !== undefined) checkLabelsName(labels, AnnoyArgumentError);
}

function checkLabelsName(name: unknown, Err: typeof AnnoyArgumentError | typeof AnnoyFormatError, where = ''): void {
  if (typeof name !== 'string' || name.length === 0 || name === '.' || name === '..' || /[\\/\0]/.test(name)) {
    throw new Err(`${where}labels must be a plain file name in the index's folder (no '/' or '\\'), got ${describe(name)}`);
  }
}

/** @internal The sidecar as written: stable key order, two-space indent, final newline. */
export function serializeSidecar(sidecar: Sidecar): string {
  const ordered: Record<string, unknown> = {
    format: sidecar.format,
    version: sidecar.version,
    indexFormat: sidecar.indexFormat,
    f: sidecar.f,
    metric: sidecar.metric,
    nItems: sidecar.nItems,
    nTrees: sidecar.nTrees,
    seed: sidecar.seed,
    recordBytes: sidecar.recordBytes,
    byteLength: sidecar.byteLength,
    checksum: sidecar.checksum,
    createdBy: sidecar.createdBy,
  };
  if (sidecar.labels !== undefined) ordered['labels'] = sidecar.labels;
  if (sidecar.metadata !== undefined) ordered['metadata'] = sidecar.metadata;
  return JSON.stringify(ordered, null, 2) + '\n';
}

/**
 * Parses and validates a sidecar's text. Every problem is an AnnoyFormatError naming `where`
 * (the sidecar's path) and the field, so a hand-edited or foreign JSON file is caught here.
 */
export function parseSidecar(text: string, where: string): Sidecar {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AnnoyFormatError(`${where} is not valid JSON (${(cause as Error).message}); delete it or save the index again`, { cause });
  }
  return checkSidecar(raw, where);
}

/** Validates an already-parsed sidecar object (e.g. fetched as JSON in a browser); see parseSidecar. */
export function checkSidecar(raw: unknown, where: string): Sidecar {
  const bad = (msg: string): never => {
    throw new AnnoyFormatError(`${where}: ${msg}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad(`expected a JSON object, got ${describe(raw)}`);
  const o = raw as Record<string, unknown>;
  if (o['format'] !== SIDECAR_FORMAT) bad(`not an annoy-ts sidecar (format is ${describe(o['format'])}, expected "${SIDECAR_FORMAT}")`);
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) bad(`version must be a positive integer, got ${describe(version)}`);
  if ((version as number) > SIDECAR_VERSION) {
    bad(`sidecar version ${version as number} is newer than this annoy-ts understands (${SIDECAR_VERSION}): upgrade annoy-ts`);
  }
  const int = (key: string, min: number): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(`${key} must be an integer ≥ ${min}, got ${describe(v)}`);
    return v as number;
  };
  const f = int('f', 1);
  const metric = o['metric'];
  if (!isMetricName(metric)) bad(`unknown metric ${describe(metric)}`);
  let recordBytes: number;
  try {
    recordBytes = createMetric(f, metric).recordBytes;
  } catch (cause) {
    return bad((cause as Error).message);
  }
  if (int('recordBytes', 1) !== recordBytes) {
    bad(`recordBytes is ${o['recordBytes'] as number}, but ${metric as string} records with f = ${f} are ${recordBytes} bytes`);
  }
  const byteLength = int('byteLength', 1);
  if (byteLength % recordBytes !== 0) bad(`byteLength ${byteLength} is not a whole number of ${recordBytes}-byte records`);
  const nItems = int('nItems', 1);
  const nTrees = int('nTrees', 1);
  const seed = o['seed'];
  if (seed !== null && (typeof seed !== 'string' || !/^\d{1,20}$/.test(seed) || BigInt(seed) >= 1n << 64n)) {
    bad(`seed must be null or a decimal string of a 64-bit unsigned integer, got ${describe(seed)}`);
  }
  const checksum = o['checksum'];
  if (typeof checksum !== 'string' || !/^crc32:[0-9a-f]{8}$/.test(checksum)) bad(`checksum must look like "crc32:1a2b3c4d", got ${describe(checksum)}`);
  const createdBy = o['createdBy'];
  if (typeof createdBy !== 'string') bad(`createdBy must be a string, got ${describe(createdBy)}`);
  const indexFormat = o['indexFormat'];
  if (indexFormat !== INDEX_FORMAT) bad(`indexFormat ${describe(indexFormat)} is not one this annoy-ts reads ("${INDEX_FORMAT}")`);
  const sidecar: Sidecar = {
    format: SIDECAR_FORMAT,
    version: version as number,
    indexFormat: INDEX_FORMAT,
    f,
    metric: metric as MetricName,
    nItems,
    nTrees,
    seed: seed as string | null,
    recordBytes,
    byteLength,
    checksum: checksum as string,
    createdBy: createdBy as string,
  };
  if (o['labels'] !== undefined) {
    checkLabelsName(o['labels'], AnnoyFormatError, `${where}: `);
    sidecar.labels = o['labels'] as string;
  }
  const metadata = o['metadata'];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) bad(`metadata must be an object, got ${describe(metadata)}`);
    sidecar.metadata = metadata as Record<string, unknown>;
  }
  return sidecar;
}

/** @internal Throws when the sidecar's f or metric disagrees with what the caller asked for; names both values. */
export function checkRequested(sidecar: Sidecar, where: string, f: number | undefined, metric: MetricName | undefined): void {
  const given: string[] = [], built: string[] = [];
  if (f !== undefined && f !== sidecar.f) {
    given.push(`f = ${f}`);
    built.push(`f = ${sidecar.f}`);
  }
  if (metric !== undefined && metric !== sidecar.metric) {
    given.push(`metric '${metric}'`);
    built.push(`metric '${sidecar.metric}'`);
  }
  if (given.length > 0) {
    throw new AnnoyArgumentError(
      `${given.join(' and ')} ${given.length > 1 ? 'were' : 'was'} given, but ${where} says the index was built with ${built.join(' and ')}`,
    );
  }
}

export interface SidecarCheckOptions {
  /** The dimension and metric the caller expects: a different value in the sidecar is an AnnoyArgumentError naming both. */
  f?: number;
  metric?: MetricName;
  /** Compare the bytes' CRC-32 with the sidecar's checksum (default true). */
  verifyChecksum?: boolean;
  /** The bytes' CRC-32 when it is already known (e.g. computed in slices between other work): used instead of computing it. */
  crc?: number;
  /** How to compute the CRC-32: default the portable JavaScript one; under Node, `crc32` from 'annoy-ts' is native and much faster. */
  crc32?: Crc32;
  /** Names for messages: the index file and its sidecar (default "the index" and "the sidecar"). */
  file?: string;
  sidecarFile?: string;
}

/**
 * Checks that `bytes` are the index `sidecar` describes, before anything trusts the sidecar's f and
 * metric: the f and metric asked for (if any) agree with it, the length matches, the CRC-32 matches
 * (unless `verifyChecksum: false`) and the item count (Annoy's: the last record's n_descendants)
 * matches. Every opener of annoy-ts uses it. Throws an AnnoyFormatError naming the file, the
 * sidecar and both values; returns the sidecar, validated (`sidecar` may be a parsed JSON object).
 */
export function checkAgainstSidecar(bytes: Uint8Array, sidecar: Sidecar, options: SidecarCheckOptions = {}): Sidecar {
  if (options === null || typeof options !== 'object') throw new AnnoyArgumentError(`options must be an object, got ${describe(options)}`);
  const { f, metric, verifyChecksum = true, crc, crc32 = crc32Portable, file = 'the index', sidecarFile = 'the sidecar' } = options;
  if (!(bytes instanceof Uint8Array)) throw new AnnoyArgumentError(`bytes must be a Uint8Array (or a Buffer), got ${describe(bytes)}`);
  if (typeof verifyChecksum !== 'boolean') throw new AnnoyArgumentError(`verifyChecksum must be true or false, got ${describe(verifyChecksum)}`);
  if (crc !== undefined && (typeof crc !== 'number' || !Number.isInteger(crc) || crc < 0 || crc > 0xffffffff)) {
    throw new AnnoyArgumentError(`crc must be an unsigned 32-bit integer, got ${describe(crc)}`);
  }
  if (typeof crc32 !== 'function') throw new AnnoyArgumentError(`crc32 must be a function, got ${describe(crc32)}`);
  const checked = checkSidecar(sidecar, sidecarFile);
  checkRequested(checked, sidecarFile, f, metric);
  const advice = `the file is damaged, or was replaced after ${sidecarFile} was written (a partial copy, another tool, a copy that left ` +
    'the sidecar behind): delete the sidecar and open the index with f and metric, or save it again';
  if (bytes.length !== checked.byteLength) {
    throw new AnnoyFormatError(`${file} is ${bytes.length} bytes, but ${sidecarFile} describes a ${checked.byteLength}-byte index; ${advice}`);
  }
  if (verifyChecksum) {
    const sum = checksumText(crc ?? crc32(bytes));
    if (sum !== checked.checksum) throw new AnnoyFormatError(`${file} has checksum ${sum}, but ${sidecarFile} says ${checked.checksum}; ${advice}`);
  }
  // Annoy's loader takes n_items from the last record's n_descendants (formats/open.ts).
  const nItems = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - checked.recordBytes, 4).getInt32(0, true);
  if (nItems !== checked.nItems) {
    throw new AnnoyFormatError(`${file} holds ${nItems} items, but ${sidecarFile} says ${checked.nItems}: the sidecar belongs to another index`);
  }
  return checked;
}
