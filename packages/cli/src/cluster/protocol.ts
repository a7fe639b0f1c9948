// The wire format between cluster clients and shard servers, one owner for both sides.
//
// Every shard of every index is one NATS subject, `PREFIX.INDEX.SHARD`, served by a queue group
// of the same name: NATS hands each request to one member of the group, so the replicas of a
// shard share its load and a surviving replica takes over when another leaves. Servers announce
// themselves through the NATS services API (`$SRV.PING|INFO|STATS.PREFIX`), whose STATS answer
// carries each endpoint's live state (generation, checksum, items…): that is the discovery.
//
// A request names its operation in a header. `search`: the payload is n query vectors as
// little-endian float32 (the precision the index computes in), k/searchK/f/n in headers; the
// answer is JSON { generation, checksum, set, node, ids[][], distances[][], labels?[][] }, ids
// global (the user's). `lookup`: the payload is JSON { ids } or { labels }; the answer lists the
// items this shard holds, with their stored vectors. Errors use the services API's error headers
// (Nats-Service-Error-Code: 400 bad request, 413 too large, 503 overloaded or stopping, 500).
import { AnnoyArgumentError } from 'annoy-ts';

export const PROTOCOL_VERSION = 1;
export const DEFAULT_PREFIX = 'annoy';

export const HEADER = {
  op: 'Annoy-Op',
  version: 'Annoy-Protocol',
  k: 'Annoy-K',
  searchK: 'Annoy-Search-K',
  f: 'Annoy-F',
  n: 'Annoy-N',
  labels: 'Annoy-Labels',
} as const;

export type Operation = 'search' | 'lookup';

/** Services API names and the prefix share one alphabet: letters, digits, '-' and '_'. */
const PREFIX = /^[A-Za-z0-9_-]{1,64}$/;

export function checkPrefix(prefix: string): string {
  if (!PREFIX.test(prefix)) {
    throw new AnnoyArgumentError(`the NATS prefix must be 1–64 letters, digits, '-' or '_' (it names the subjects and the service), got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/**
 * An index name as one subject token. Names are letters, digits, '.', '_' and '-'; '.' separates
 * subject tokens, so it is written '~' (a character names never contain: the mapping is one-to-one).
 */
export function indexToken(index: string): string {
  return index.replaceAll('.', '~');
}

/** The subject (and queue group) of one shard of one index. */
export function shardSubject(prefix: string, index: string, shard: number): string {
  return `${prefix}.${indexToken(index)}.${shard}`;
}

/** A services API endpoint name (letters, digits, '-', '_'): for people reading `nats micro info`. */
export function endpointName(index: string, shard: number): string {
  return `${index.replace(/[^A-Za-z0-9_-]/g, '_')}-shard-${shard}`;
}

/** What a shard server reports about one shard it serves (the STATS `data` of its endpoint). */
export interface ShardState {
  protocol: number;
  index: string;
  shard: number;
  shards: number;
  f: number;
  metric: string;
  /** Items this shard holds. */
  items: number;
  /** The whole set's largest item id + 1 (what AnnoyIndex.getNItems means). */
  setItems: number;
  trees: number;
  labels: boolean;
  /** This server's generation of the shard (1 at start, +1 per hot swap; counted per server). */
  generation: number;
  /** The shard file's checksum (its sidecar's), or null for a file without a sidecar. */
  checksum: string | null;
  /** Which set of shards this one belongs to: a sharded index's manifest checksum; a plain index's own checksum. */
  set: string | null;
  /** The serving node: a name, its HTTP address, its process. */
  node: NodeInfo;
  inFlight: number;
  draining: boolean;
}

export interface NodeInfo {
  name: string;
  http: string | null;
  pid: number;
  host: string;
}

export interface SearchReply {
  generation: number;
  checksum: string | null;
  set: string | null;
  node: string;
  ids: number[][];
  distances: number[][];
  labels?: (string | null)[][];
}

export interface LookupRequest {
  ids?: number[];
  labels?: string[];
}

export interface LookupReply {
  generation: number;
  checksum: string | null;
  set: string | null;
  node: string;
  /** The items this shard holds: `at` is the position in the request, `id` the global id. */
  found: { at: number; id: number; vector: number[] }[];
}

/** Error codes in Nats-Service-Error-Code, as HTTP statuses. */
export const STATUS = { badRequest: 400, tooLarge: 413, unavailable: 503, internal: 500 } as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** n vectors of f values → little-endian float32 bytes. */
export function encodeVectors(rows: readonly ArrayLike<number>[], f: number): Uint8Array {
  const out = new Float32Array(rows.length * f);
  rows.forEach((row, i) => out.set(row, i * f));
  if (LITTLE_ENDIAN) return new Uint8Array(out.buffer);
  const bytes = new Uint8Array(out.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < out.length; i++) view.setFloat32(4 * i, out[i], true);
  return bytes;
}

/** Little-endian float32 bytes → rows of f numbers; null when the length does not fit n × f. */
export function decodeVectors(bytes: Uint8Array, n: number, f: number): Float32Array | null {
  if (bytes.length !== n * f * 4) return null;
  const out = new Float32Array(n * f);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}
