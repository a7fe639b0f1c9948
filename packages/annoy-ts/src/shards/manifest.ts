// The manifest of a sharded index: one JSON file (manifest.json) naming every shard of the set,
// with the bytes each must have. It is written last, by a rename, so it is the commit point of a
// build: readers either see the old complete set or the new complete set.
// Pure functions only (no Node built-ins): a browser or a cluster node can check a manifest too.
import { AnnoyFormatError } from '../errors.ts';
import { createMetric, describe, isMetricName } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { MAX_ITEM_ID } from '../validate.ts';

export const MANIFEST_FORMAT = 'annoy-ts-sharded';
/** Bumped when a field changes meaning; readers refuse versions newer than theirs. */
export const MANIFEST_VERSION = 1;
/** The manifest's file name inside the index's folder. */
export const MANIFEST_FILE = 'manifest.json';

/** A file of the set, as the manifest vouches for it. */
export interface ShardFile {
  /** Plain file name inside the index's folder. */
  file: string;
  byteLength: number;
  /** `crc32:` + 8 hex digits over the whole file. */
  checksum: string;
}

/**
 * How a shard's local item ids (0 … nItems − 1, Annoy's ids inside the shard) map to the user's
 * global ids: a contiguous run (global = first + local), or an id file of nItems int32 values
 * (little-endian, strictly ascending: global id of local id k at k).
 */
export type ShardIds = { first: number } | ShardFile;

export interface ShardEntry extends ShardFile {
  /** Items in the shard: its local ids run from 0 to nItems − 1 without holes. */
  nItems: number;
  nTrees: number;
  /** Smallest and largest global id in the shard. */
  firstId: number;
  lastId: number;
  ids: ShardIds;
  /**
   * The shard's neighbour graph (its `.ann` file's name + `.graph`: length and checksum), when
   * the set was built with graphs; opening the set checks it and attaches it to the shard.
   */
  graph?: ShardFile;
}

export interface ShardManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** 8 hex digits naming this build: every shard file name carries it. */
  build: string;
  f: number;
  metric: MetricName;
  /** Largest global id + 1 (as AnnoyIndex.getNItems counts: ids never added are holes). */
  nItems: number;
  /** Items actually held (the sum of the shards' nItems). */
  count: number;
  shards: ShardEntry[];
  createdBy: string;
  /** File name (in the folder) of a labels file: a JSON array, label of global id i at i. */
  labels?: string;
  /** Anything JSON the builder's caller attached. */
  metadata?: Record<string, unknown>;
}

const SHARD_NAME = /^shard-(\d{4,})-([0-9a-f]{8})\.(ann|ann\.json|ann\.graph|ids)$/;

/** File names of shard `k` of build `build`: the .ann file (its sidecar is `.ann.json`) and the id file. */
export function shardFileNames(build: string, k: number): { ann: string; ids: string } {
  const stem = `shard-${String(k).padStart(4, '0')}-${build}`;
  return { ann: `${stem}.ann`, ids: `${stem}.ids` };
}

/** The shard number and build of a file named like a shard's (.ann, its sidecar, its graph, or .ids); null otherwise. */
export function parseShardFileName(name: string): { shard: number; build: string; kind: 'ann' | 'ann.json' | 'ann.graph' | 'ids' } | null {
  const m = SHARD_NAME.exec(name);
  return m ? { shard: Number(m[1]), build: m[2], kind: m[3] as 'ann' | 'ann.json' | 'ann.graph' | 'ids' } : null;
}

export function isBuildId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{8}$/.test(value);
}

/** The manifest as written: stable key order, two-space indent, final newline. */
export function serializeManifest(manifest: ShardManifest): string {
  const ordered: Record<string, unknown> = {
    format: manifest.format, version: manifest.version, build: manifest.build, f: manifest.f, metric: manifest.metric,
    nItems: manifest.nItems, count: manifest.count, createdBy: manifest.createdBy,
  };
  if (manifest.labels !== undefined) ordered['labels'] = manifest.labels;
  if (manifest.metadata !== undefined) ordered['metadata'] = manifest.metadata;
  ordered['shards'] = manifest.shards.map((s) => {
    const entry: Record<string, unknown> = {
      file: s.file, byteLength: s.byteLength, checksum: s.checksum, nItems: s.nItems, nTrees: s.nTrees, firstId: s.firstId, lastId: s.lastId,
      ids: 'file' in s.ids ? { file: s.ids.file, byteLength: s.ids.byteLength, checksum: s.ids.checksum } : { first: s.ids.first },
    };
    if (s.graph) entry['graph'] = { file: s.graph.file, byteLength: s.graph.byteLength, checksum: s.graph.checksum };
    return entry;
  });
  return JSON.stringify(ordered, null, 2) + '\n';
}

/** Parses and checks a manifest's text; every problem is an AnnoyFormatError naming `where` and the field. */
export function parseManifest(text: string, where: string): ShardManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AnnoyFormatError(`${where} is not valid JSON (${(cause as Error).message})`, { cause });
  }
  return checkManifest(raw, where);
}

/**
 * Checks an already-parsed manifest: the format and version, f and metric, and every shard entry
 * (names, lengths, checksums, item counts, id ranges that never overlap between shards). What it
 * cannot see — the files themselves — ShardedIndex.open checks against it.
 */
export function checkManifest(raw: unknown, where: string): ShardManifest {
  const bad = (msg: string): never => {
    throw new AnnoyFormatError(`${where}: ${msg}`);
  };
  const object = (value: unknown, what: string): Record<string, unknown> => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(`${what} must be a JSON object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  };
  const o = object(raw, 'the manifest');
  if (o['format'] !== MANIFEST_FORMAT) bad(`not a sharded annoy-ts index (format is ${describe(o['format'])}, expected "${MANIFEST_FORMAT}")`);
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) bad(`version must be a positive integer, got ${describe(version)}`);
  if ((version as number) > MANIFEST_VERSION) {
    bad(`manifest version ${version as number} is newer than this annoy-ts understands (${MANIFEST_VERSION}): upgrade annoy-ts`);
  }
  const int = (from: Record<string, unknown>, key: string, min: number, max: number, what: string): number => {
    const v = from[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${what}${key} must be an integer from ${min} to ${max}, got ${describe(v)}`);
    return v as number;
  };
  const build = o['build'];
  if (!isBuildId(build)) bad(`build must be 8 lower-case hex digits, got ${describe(build)}`);
  const f = int(o, 'f', 1, Number.MAX_SAFE_INTEGER, '');
  const metric = o['metric'];
  if (!isMetricName(metric)) bad(`unknown metric ${describe(metric)}`);
  try {
    createMetric(f, metric);
  } catch (cause) {
    bad((cause as Error).message);
  }
  const nItems = int(o, 'nItems', 1, MAX_ITEM_ID + 1, '');
  const count = int(o, 'count', 1, nItems, '');
  const createdBy = o['createdBy'];
  if (typeof createdBy !== 'string') bad(`createdBy must be a string, got ${describe(createdBy)}`);
  const shardsRaw = o['shards'];
  if (!Array.isArray(shardsRaw) || shardsRaw.length === 0) bad(`shards must be a non-empty array, got ${describe(shardsRaw)}`);
  const names = new Set<string>();
  const fileOf = (from: Record<string, unknown>, what: string, kind: 'ann' | 'ann.graph' | 'ids', k: number): ShardFile => {
    const file = from['file'];
    if (typeof file !== 'string' || !isPlainName(file)) bad(`${what}file must be a plain file name in the index's folder, got ${describe(file)}`);
    const parsed = parseShardFileName(file as string);
    if (!parsed || parsed.kind !== kind || parsed.build !== build || parsed.shard !== k) {
      bad(`${what}file ${describe(file)} is not named like ${kind === 'ann' ? 'an index file' : kind === 'ids' ? 'an id file' : 'the graph file'} of shard ${k} of build ${build as string}`);
    }
    if (names.has(file as string)) bad(`${what}file ${describe(file)} is named twice`);
    names.add(file as string);
    const byteLength = int(from, 'byteLength', 0, Number.MAX_SAFE_INTEGER, what);
    const checksum = from['checksum'];
    if (typeof checksum !== 'string' || !/^crc32:[0-9a-f]{8}$/.test(checksum)) bad(`${what}checksum must look like "crc32:1a2b3c4d", got ${describe(checksum)}`);
    return { file: file as string, byteLength, checksum: checksum as string };
  };
  const recordBytes = createMetric(f, metric).recordBytes;
  const shards = (shardsRaw as unknown[]).map((value, k): ShardEntry => {
    const what = `shards[${k}].`;
    const s = object(value, `shards[${k}]`);
    const file = fileOf(s, what, 'ann', k);
    if (file.byteLength === 0 || file.byteLength % recordBytes !== 0) {
      bad(`${what}byteLength ${file.byteLength} is not a whole number of ${recordBytes}-byte records (${metric as string}, f = ${f})`);
    }
    const shardItems = int(s, 'nItems', 1, MAX_ITEM_ID + 1, what);
    const nTrees = int(s, 'nTrees', 1, Number.MAX_SAFE_INTEGER, what);
    const firstId = int(s, 'firstId', 0, MAX_ITEM_ID, what);
    const lastId = int(s, 'lastId', firstId, MAX_ITEM_ID, what);
    if (lastId - firstId + 1 < shardItems) bad(`${what}ids ${firstId}…${lastId} cannot hold ${shardItems} distinct items`);
    const idsRaw = object(s['ids'], `${what}ids`);
    let ids: ShardIds;
    if ('first' in idsRaw) {
      const first = int(idsRaw, 'first', 0, MAX_ITEM_ID, `${what}ids.`);
      if (first !== firstId || lastId !== first + shardItems - 1) {
        bad(`${what}ids: a contiguous run from ${first} of ${shardItems} items must have firstId ${first} and lastId ${first + shardItems - 1}, got ${firstId} and ${lastId}`);
      }
      ids = { first };
    } else {
      ids = fileOf(idsRaw, `${what}ids.`, 'ids', k);
      if (ids.byteLength !== 4 * shardItems) bad(`${what}ids.byteLength must be 4 × nItems = ${4 * shardItems}, got ${ids.byteLength}`);
    }
    const entry: ShardEntry = { ...file, nItems: shardItems, nTrees, firstId, lastId, ids };
    if (s['graph'] !== undefined) {
      entry.graph = fileOf(object(s['graph'], `${what}graph`), `${what}graph.`, 'ann.graph', k);
      // The shard is opened with the graph beside it (its file name + .graph): the one checked must be that one.
      if (entry.graph.file !== `${file.file}.graph`) bad(`${what}graph.file ${describe(entry.graph.file)} is not the shard's ${describe(`${file.file}.graph`)}`);
    }
    return entry;
  });
  let total = 0, maxId = -1;
  for (const s of shards) {
    total += s.nItems;
    maxId = Math.max(maxId, s.lastId);
  }
  if (total !== count) bad(`count is ${count}, but the shards hold ${total} items`);
  if (maxId + 1 !== nItems) bad(`nItems is ${nItems}, but the largest id in any shard is ${maxId}`);
  checkContiguousRunsApart(shards, bad);
  const manifest: ShardManifest = {
    format: MANIFEST_FORMAT, version: version as number, build: build as string, f, metric: metric as MetricName, nItems, count,
    shards, createdBy: createdBy as string,
  };
  if (o['labels'] !== undefined) {
    if (typeof o['labels'] !== 'string' || !isPlainName(o['labels'])) bad(`labels must be a plain file name in the index's folder, got ${describe(o['labels'])}`);
    manifest.labels = o['labels'] as string;
  }
  if (o['metadata'] !== undefined) manifest.metadata = object(o['metadata'], 'metadata');
  return manifest;
}

/**
 * Two shards with contiguous runs must not share an id (shards with id files are checked against
 * each other when their files are read: see ShardIdDirectory).
 */
function checkContiguousRunsApart(shards: readonly ShardEntry[], bad: (msg: string) => never): void {
  const runs = shards.map((s, k) => ({ k, s })).filter(({ s }) => 'first' in s.ids).sort((a, b) => a.s.firstId - b.s.firstId);
  for (let r = 1; r < runs.length; r++) {
    const prev = runs[r - 1], cur = runs[r];
    if (cur.s.firstId <= prev.s.lastId) bad(`shards ${prev.k} and ${cur.k} both claim ids from ${cur.s.firstId}`);
  }
}

function isPlainName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[\\/\0]/.test(name);
}
