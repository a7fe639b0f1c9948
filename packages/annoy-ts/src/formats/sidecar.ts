// The sidecar: a small JSON file written beside an index (`index.ann` → `index.ann.json`) that
// records what Annoy's files do not: the dimension, the metric and a checksum of the bytes.
// Pure functions only (no Node built-ins), so the portable build can adopt this module as it is.
import { AnnoyArgumentError, AnnoyFormatError } from '../errors.ts';
import { createMetric, describe, isMetricName } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';

export const SIDECAR_FORMAT = 'annoy-ts-sidecar';
/** Bumped when a field changes meaning; readers refuse versions newer than theirs. */
export const SIDECAR_VERSION = 1;
/** The .ann layout the sidecar vouches for: Annoy 1.17.x records (dot: the 1.17.x layout). */
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

/** Checks the user-supplied parts of a sidecar: metadata (a JSON object) and the labels file name. */
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

/** The sidecar as written: stable key order, two-space indent, final newline. */
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

/** Throws when the sidecar's f or metric disagrees with what the caller asked for; names both values. */
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
