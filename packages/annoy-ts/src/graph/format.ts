// The `.graph` companion file: an index's neighbour graph, beside its `.ann` file (which never
// changes). Its header records which `.ann` bytes it belongs to (their length and CRC-32), the
// metric, f, the item count and a format version, and it carries checksums of its own; a graph
// that does not belong to the bytes it is offered with is refused, never used.
//
// Layout (little-endian), a 64-byte header then the body:
//    0  8 bytes  magic "ATSGRAPH"
//    8  u32      format version (1)
//   12  u32      header bytes (64)
//   16  u32×2    byte length of the .ann file (low, high 32 bits)
//   24  u32      CRC-32 of the .ann file
//   28  u32      metric (0 angular, 1 euclidean, 2 manhattan, 3 dot, 4 hamming)
//   32  u32      f
//   36  u32      item count (the index's n_items: largest id + 1)
//   40  u32      edges (neighbour ids in the body)
//   44  u32      largest degree
//   48  u32      flags: bit 0 = walk on int8 codes of the vectors (GraphOptions.quantize); others 0
//   52  u32      CRC-32 of the body
//   56  u32      0
//   60  u32      CRC-32 of header bytes 0 … 59
//   64  u32 × (items + 1)  offsets: node v's neighbours are ids[offsets[v] … offsets[v + 1])
//       i32 × edges        neighbour ids, nearest first
// Pure functions, no Node built-ins: the portable build reads and writes it too.
import { AnnoyFormatError } from '../errors.ts';
import { crc32Portable, type Crc32 } from '../formats/checksum.ts';
import type { MetricName } from '../metrics/metric.ts';
import type { Graph } from './build.ts';

export const GRAPH_MAGIC = 'ATSGRAPH';
/** Bumped when the layout changes; readers refuse versions they do not know. */
export const GRAPH_FORMAT_VERSION = 1;
const HEADER_BYTES = 64;
const FLAG_QUANTIZED = 1;
const METRIC_CODES: Record<MetricName, number> = { angular: 0, euclidean: 1, manhattan: 2, dot: 3, hamming: 4 };
const METRIC_NAMES = Object.keys(METRIC_CODES) as MetricName[];

/** Where the graph of `indexPath` lives. */
export function graphPath(indexPath: string): string {
  return `${indexPath}.graph`;
}

/** The index a graph file describes (from its header). */
export interface GraphHeader {
  version: number;
  annByteLength: number;
  annCrc32: number;
  metric: MetricName;
  f: number;
  nItems: number;
  edges: number;
  maxDegree: number;
  /** Queries walk on int8 codes of the vectors (computed when the graph is attached), re-ranking with the floats. */
  quantized: boolean;
}

/** What the graph must belong to. */
export interface GraphOwner {
  metric: MetricName;
  f: number;
  nItems: number;
  /** The .ann bytes (their length and CRC-32 are compared with the header's). */
  annBytes: Uint8Array;
  /** Whether item `id` exists (holes are never in a graph). */
  present(id: number): boolean;
}

/** The bytes of `graph`'s file, for the index whose .ann bytes are `owner.annBytes`. */
export function serializeGraph(graph: Graph, owner: Omit<GraphOwner, 'present'>, crc32: Crc32 = crc32Portable, quantized = false): Uint8Array {
  const n = graph.nItems;
  const edges = graph.offsets[n];
  let maxDegree = 0;
  for (let v = 0; v < n; v++) maxDegree = Math.max(maxDegree, graph.offsets[v + 1] - graph.offsets[v]);
  const bytes = new Uint8Array(HEADER_BYTES + 4 * (n + 1) + 4 * edges);
  const body = new Uint32Array(bytes.buffer, HEADER_BYTES, n + 1 + edges);
  body.set(graph.offsets, 0);
  body.set(new Uint32Array(graph.neighbours.buffer, graph.neighbours.byteOffset, edges), n + 1);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = GRAPH_MAGIC.charCodeAt(i);
  const annLength = owner.annBytes.byteLength;
  const words = [
    GRAPH_FORMAT_VERSION, HEADER_BYTES, annLength % 2 ** 32, Math.floor(annLength / 2 ** 32), crc32(owner.annBytes),
    METRIC_CODES[owner.metric], owner.f, n, edges, maxDegree, quantized ? FLAG_QUANTIZED : 0, crc32(bytes.subarray(HEADER_BYTES)), 0,
  ];
  words.forEach((w, i) => view.setUint32(8 + 4 * i, w >>> 0, true));
  view.setUint32(60, crc32(bytes.subarray(0, 60)), true);
  return bytes;
}

/** Reads and checks a graph file's header; `name` names the file in errors. */
export function readGraphHeader(bytes: Uint8Array, name: string, crc32: Crc32 = crc32Portable): GraphHeader {
  const fail = (problem: string): never => {
    throw new AnnoyFormatError(`${name}: ${problem}`);
  };
  if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes is too short for a graph file (the header alone is ${HEADER_BYTES}): it is truncated or not a graph file`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== GRAPH_MAGIC.charCodeAt(i)) fail(`not an annoy-ts graph file (it does not start with "${GRAPH_MAGIC}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const version = u32(8);
  if (version !== GRAPH_FORMAT_VERSION) fail(`graph format version ${version}, but this annoy-ts reads version ${GRAPH_FORMAT_VERSION} (rebuild the graph with buildGraph())`);
  if (u32(60) !== crc32(bytes.subarray(0, 60))) fail('the header is damaged (its checksum does not match)');
  if (u32(12) !== HEADER_BYTES) fail(`the header says it is ${u32(12)} bytes, expected ${HEADER_BYTES}`);
  const metricCode = u32(28);
  if (metricCode >= METRIC_NAMES.length) fail(`unknown metric code ${metricCode}`);
  const flags = u32(48);
  if ((flags & ~FLAG_QUANTIZED) !== 0) fail(`unknown flags 0x${flags.toString(16)} (written by a newer annoy-ts?)`);
  return {
    version,
    annByteLength: u32(16) + u32(20) * 2 ** 32,
    annCrc32: u32(24),
    metric: METRIC_NAMES[metricCode],
    f: u32(32),
    nItems: u32(36),
    edges: u32(40),
    maxDegree: u32(44),
    quantized: (flags & FLAG_QUANTIZED) !== 0,
  };
}

/**
 * Checks that `bytes` are a whole, undamaged graph file belonging to `owner`, and returns its
 * graph: every neighbour an existing item (so a walk can never read outside the items), holes
 * without neighbours. Anything else is an AnnoyFormatError naming `name` and the problem. The
 * graph's arrays are views of `bytes` (little-endian, as every runtime annoy-ts runs on), so
 * bytes read into an index's memory are used where they are.
 */
export function parseGraph(bytes: Uint8Array, owner: GraphOwner, name: string, crc32: Crc32 = crc32Portable): Graph & { quantized: boolean } {
  const h = readGraphHeader(bytes, name, crc32);
  const fail = (problem: string): never => {
    throw new AnnoyFormatError(`${name}: ${problem}`);
  };
  const n = h.nItems;
  const expected = HEADER_BYTES + 4 * (n + 1) + 4 * h.edges;
  if (bytes.byteLength !== expected) {
    fail(`${bytes.byteLength} bytes, but its header describes ${expected} (${n} items, ${h.edges} edges): the file is ${bytes.byteLength < expected ? 'truncated' : 'followed by extra bytes'}`);
  }
  if (h.metric !== owner.metric || h.f !== owner.f) {
    fail(`it is the graph of a '${h.metric}' index with f = ${h.f}, not of this '${owner.metric}' index with f = ${owner.f}`);
  }
  if (h.annByteLength !== owner.annBytes.byteLength) {
    fail(`it belongs to a ${h.annByteLength}-byte index file, not to this one of ${owner.annBytes.byteLength} bytes (the index was rebuilt or replaced after the graph was saved)`);
  }
  if (n !== owner.nItems) fail(`it describes ${n} items, but the index holds ${owner.nItems}`);
  if (u32At(bytes, 52) !== crc32(bytes.subarray(HEADER_BYTES))) fail('the graph is damaged (its checksum does not match)');
  if (h.annCrc32 !== crc32(owner.annBytes)) {
    fail('it belongs to other index bytes (the CRC-32 of the index file differs from the one the graph was built for): the index was rebuilt or replaced after the graph was saved');
  }
  // The body as it lies (copied first only when it is not 4-byte aligned), then every entry checked.
  const aligned = (bytes.byteOffset + HEADER_BYTES) % 4 === 0 ? bytes : bytes.slice();
  const offsets = new Uint32Array(aligned.buffer, aligned.byteOffset + HEADER_BYTES, n + 1);
  const neighbours = new Int32Array(aligned.buffer, aligned.byteOffset + HEADER_BYTES + 4 * (n + 1), h.edges);
  checkGraph({ nItems: n, offsets, neighbours }, owner.present, h.maxDegree, fail);
  return { nItems: n, offsets, neighbours, quantized: h.quantized };
}

/** Checks a graph's structure (also used on graphs built in memory, in tests). */
export function checkGraph(graph: Graph, present: (id: number) => boolean, maxDegree: number, fail: (problem: string) => never): void {
  const { nItems: n, offsets, neighbours } = graph;
  if (offsets[0] !== 0) fail(`the first offset is ${offsets[0]}, not 0`);
  if (offsets[n] !== neighbours.length) fail(`the last offset is ${offsets[n]}, but there are ${neighbours.length} edges`);
  for (let v = 0; v < n; v++) {
    const lo = offsets[v], hi = offsets[v + 1];
    if (hi < lo) fail(`the offsets of item ${v} run backwards (${lo} → ${hi})`);
    if (hi > neighbours.length) fail(`the offset of item ${v + 1} is ${hi}, past the ${neighbours.length} edges`);
    if (hi - lo > maxDegree) fail(`item ${v} has ${hi - lo} neighbours, more than the header's largest degree ${maxDegree}`);
    if (hi > lo && !present(v)) fail(`item ${v} is not in the index (a hole) but has neighbours`);
    for (let e = lo; e < hi; e++) {
      const u = neighbours[e];
      if (u < 0 || u >= n) fail(`item ${v} lists neighbour ${u}, outside 0 … ${n - 1}`);
      if (!present(u)) fail(`item ${v} lists neighbour ${u}, which is not in the index (a hole)`);
    }
  }
}

function u32At(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}
