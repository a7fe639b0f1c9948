// Jazzer.js target: arbitrary bytes read as the `.graph` companion file of a small real index.
// The first byte picks the index (its low bits) and how far the input is "resealed" before it is
// read, so the fuzzer gets past the checksums to the structure behind them:
//   bit 7: the body and header checksums are recomputed over the mutated bytes;
//   bit 6: (with bit 7) the header's .ann length and CRC-32 are set to the index's.
// Promises checked:
//   - parseGraph returns a graph or throws AnnoyFormatError whose message starts with the file's
//     name; nothing else (no TypeError, RangeError, out-of-memory);
//   - it never asks the index about an id outside 0 … nItems − 1 (an out-of-bounds read);
//   - a graph it accepts is whole: offsets from 0 to the edge count, never backwards, every
//     neighbour an item of the index (never a hole), holes without neighbours;
//   - the index opened with it (fromBuffer(…, { graph })) answers queries through it with at most
//     n unique ids, each an item (never a hole, never outside the items), one distance per id.
// Hangs are caught by Jazzer's per-input timeout (fuzz/run.mjs sets it).
import { AnnoyError, AnnoyFormatError, AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/index.ts';
import { crc32Portable } from '../../packages/annoy-ts/src/formats/checksum.ts';
import type { Graph } from '../../packages/annoy-ts/src/graph/build.ts';
import { parseGraph, serializeGraph, type GraphOwner } from '../../packages/annoy-ts/src/graph/format.ts';
import { bytesOf, only, violation } from './common.ts';

const NAME = '/fuzz/index.ann.graph';
const HEADER_BYTES = 64;
export const RESEAL = 0x80;
export const SET_OWNER = 0x40;

export interface GraphFixture {
  readonly label: string;
  readonly owner: GraphOwner;
  /** The graph file of the index (each item's nearest others). */
  readonly graphBytes: Uint8Array;
}

const SHAPES: readonly { metric: MetricName; f: number; count: number; holes: boolean; k: number }[] = [
  { metric: 'angular', f: 3, count: 9, holes: true, k: 3 },
  { metric: 'euclidean', f: 2, count: 1, holes: false, k: 2 },
  { metric: 'manhattan', f: 4, count: 6, holes: false, k: 2 },
  { metric: 'dot', f: 3, count: 8, holes: true, k: 4 },
  { metric: 'hamming', f: 65, count: 7, holes: true, k: 3 },
  { metric: 'euclidean', f: 1, count: 20, holes: true, k: 5 },
];

let fixtures: GraphFixture[] | null = null;

/** The indexes the inputs' first byte picks from (built once, deterministically). */
export function graphFixtures(): GraphFixture[] {
  fixtures ??= SHAPES.map((s, k) => makeFixture(s.metric, s.f, s.count, s.holes, s.k, 5 + k));
  return fixtures;
}

function makeFixture(metric: MetricName, f: number, count: number, holes: boolean, k: number, seed: number): GraphFixture {
  const index = new AnnoyIndex(f, metric);
  const ids = new Set<number>();
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0, id = 0; i < count; i++, id += holes && i % 3 === 1 ? 3 : 1) {
    index.addItem(id, Array.from({ length: f }, () => (metric === 'hamming' ? (next() < 0.5 ? 0 : 1) : 2 * next() - 1)));
    ids.add(id);
  }
  index.setSeed(seed);
  index.build(2);
  const nItems = index.getNItems();
  const offsets = new Uint32Array(nItems + 1);
  const lists: number[] = [];
  for (let v = 0; v < nItems; v++) {
    if (ids.has(v)) lists.push(...index.getNnsByItem(v, k + 1, -1).filter((u) => u !== v).slice(0, k));
    offsets[v + 1] = lists.length;
  }
  const graph: Graph = { nItems, offsets, neighbours: Int32Array.from(lists) };
  const present = (id: number): boolean => {
    if (!Number.isInteger(id) || id < 0 || id >= nItems) violation(`parseGraph asked whether ${String(id)} is an item of an index of ${nItems} (an out-of-bounds read)`);
    return ids.has(id);
  };
  const owner: GraphOwner = { metric, f, nItems, annBytes: index.toBuffer(), present };
  return { label: `${metric}-f${f}-n${count}${holes ? '-holes' : ''}`, owner, graphBytes: serializeGraph(graph, owner) };
}

/** The input a fuzz target takes for graph `bytes` of fixture `which` (inverse of the split in checkGraphBytes). */
export function encodeGraphInput(which: number, flags: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = (which & 0x3f) | flags;
  out.set(bytes, 1);
  return out;
}

export function checkGraphBytes(data: Uint8Array): void {
  const input = bytesOf(data);
  const all = graphFixtures();
  const first = input[0] ?? 0;
  const { owner, label } = all[(first & 0x3f) % all.length];
  const bytes = input.slice(1);
  if (first & RESEAL) reseal(bytes, first & SET_OWNER ? owner.annBytes : null);
  const graph = only([AnnoyFormatError], 'parseGraph', () => {
    try {
      return parseGraph(bytes, owner, NAME);
    } catch (e) {
      if (e instanceof AnnoyFormatError && !e.message.startsWith(`${NAME}: `)) violation(`a graph error that does not name the file first: ${e.message}`);
      throw e;
    }
  });
  if (!graph) return;
  const { nItems, offsets, neighbours } = graph;
  if (nItems !== owner.nItems) violation(`accepted a graph of ${nItems} items for an index of ${owner.nItems}`);
  if (offsets.length !== nItems + 1 || offsets[0] !== 0 || offsets[nItems] !== neighbours.length) {
    violation(`accepted offsets ${offsets[0]} … ${offsets[nItems]} (${offsets.length} of them) for ${neighbours.length} edges`);
  }
  for (let v = 0; v < nItems; v++) {
    const lo = offsets[v], hi = offsets[v + 1];
    if (hi < lo) violation(`accepted offsets that run backwards at item ${v}`);
    if (hi > lo && !owner.present(v)) violation(`accepted neighbours for the hole ${v}`);
    for (let e = lo; e < hi; e++) if (!owner.present(neighbours[e])) violation(`accepted neighbour ${neighbours[e]} of item ${v}, a hole`);
  }
  queryThrough(owner, label, bytes);
}

/** Opens the index with the accepted graph and checks the answers of queries that walk it. */
function queryThrough(owner: GraphOwner, label: string, bytes: Uint8Array): void {
  const index = only([AnnoyError], `fromBuffer ${label} with an accepted graph`, () => AnnoyIndex.fromBuffer(owner.annBytes, owner.f, owner.metric, { graph: bytes }));
  if (!index) violation(`${label}: parseGraph accepted the graph, fromBuffer refused it`);
  if (!index.hasGraph()) violation(`${label}: fromBuffer with an accepted graph has no graph`);
  const first = [...Array(owner.nItems).keys()].find((id) => owner.present(id))!;
  const vector = index.getItemVector(first);
  for (const n of [1, 3, owner.nItems + 2]) {
    for (const searchK of [-1, 1, 50]) {
      const answers = [index.getNnsByItem(first, n, searchK, true), index.getNnsByVector(vector, n, searchK, true)];
      for (const { ids, distances } of answers) {
        if (ids.length > n || distances.length !== ids.length) violation(`${label}: n = ${n}, searchK = ${searchK}: ${ids.length} ids, ${distances.length} distances`);
        if (new Set(ids).size !== ids.length) violation(`${label}: repeated ids ${ids.join(',')}`);
        for (const id of ids) if (!owner.present(id)) violation(`${label}: the walk returned ${id}, not an item`);
      }
    }
  }
  index.unload();
}

/** Rewrites the checksums (and, given `annBytes`, the .ann length and CRC-32) of a mutated file long enough to have them. */
function reseal(bytes: Uint8Array, annBytes: Uint8Array | null): void {
  if (bytes.length < HEADER_BYTES) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (annBytes) {
    view.setUint32(16, annBytes.byteLength, true);
    view.setUint32(20, 0, true);
    view.setUint32(24, crc32Portable(annBytes), true);
  }
  view.setUint32(52, crc32Portable(bytes.subarray(HEADER_BYTES)), true);
  view.setUint32(60, crc32Portable(bytes.subarray(0, 60)), true);
}

export function fuzz(data: Buffer): void {
  checkGraphBytes(data);
}
