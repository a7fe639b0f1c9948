// The `.graph` companion file read back from hostile bytes: truncated, foreign, damaged,
// mismatched or structurally wrong files. Every one must be an AnnoyFormatError whose message
// starts with the file's name and names the problem — never another error, an out-of-bounds read
// (an id outside the items handed to `present`) or a loop. The graphs are real: the exact
// k-nearest-neighbour lists of real indexes (with holes), written by serializeGraph.
// Structural damage is "resealed" (both checksums recomputed), as a buggy writer would produce it,
// so the structure checks behind the checksums are reached.
import { describe, expect, it } from 'vitest';
import { AnnoyFormatError, AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/index.ts';
import { crc32Portable as crc32 } from '../../packages/annoy-ts/src/formats/checksum.ts';
import { parseGraph, readGraphHeader, serializeGraph, type GraphOwner } from '../../packages/annoy-ts/src/graph/format.ts';
import type { Graph } from '../../packages/annoy-ts/src/graph/build.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

const NAME = '/data/vectors.ann.graph';
const HEADER = 64;

interface Fixture {
  owner: GraphOwner;
  graph: Graph;
  bytes: Uint8Array;
  ids: number[];
}

/** A real index (ids with holes when `holes`) and the graph of each item's `k` exact nearest others. */
function fixture(metric: MetricName, f: number, count: number, k: number, holes: boolean, seed = 7): Fixture {
  const rng = new Rng(seed);
  const index = new AnnoyIndex(f, metric);
  const ids: number[] = [];
  for (let i = 0, id = 0; i < count; i++, id += holes && i % 4 === 1 ? 3 : 1) {
    index.addItem(id, Array.from({ length: f }, () => (metric === 'hamming' ? rng.nextInt(2) : rng.nextRange(-1, 1))));
    ids.push(id);
  }
  index.setSeed(seed);
  index.build(3);
  const nItems = index.getNItems();
  const present = new Set(ids);
  const offsets = new Uint32Array(nItems + 1);
  const lists: number[] = [];
  for (let v = 0; v < nItems; v++) {
    if (present.has(v)) lists.push(...index.getNnsByItem(v, k + 1, -1).filter((u) => u !== v).slice(0, k));
    offsets[v + 1] = lists.length;
  }
  const graph: Graph = { nItems, offsets, neighbours: Int32Array.from(lists) };
  const owner: GraphOwner = { metric, f, nItems, annBytes: index.toBuffer(), present: guardedPresent(present, nItems) };
  return { owner, graph, bytes: serializeGraph(graph, owner), ids };
}

/** `present` as an index answers it — but a call with an id outside the items is an out-of-bounds read, a failure here. */
function guardedPresent(ids: Set<number>, nItems: number): (id: number) => boolean {
  return (id) => {
    if (!Number.isInteger(id) || id < 0 || id >= nItems) throw new Error(`out-of-bounds read: present(${String(id)}) of ${nItems} items`);
    return ids.has(id);
  };
}

/** Recomputes the body and header checksums (a structurally wrong file that is otherwise intact). */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(52, crc32(bytes.subarray(HEADER)), true);
  view.setUint32(60, crc32(bytes.subarray(0, 60)), true);
  return bytes;
}

function edited(bytes: Uint8Array, edit: (view: DataView) => void, resealed = true): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return resealed ? reseal(copy) : copy;
}

/** The file's error: an AnnoyFormatError whose message names the file first, then the problem. */
function formatError(fn: () => unknown): AnnoyFormatError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an AnnoyFormatError').toBeInstanceOf(AnnoyFormatError);
  const error = thrown as AnnoyFormatError;
  expect(error.message.startsWith(`${NAME}: `), error.message).toBe(true);
  return error;
}

function expectRefused(bytes: Uint8Array, owner: GraphOwner, problem: RegExp): void {
  expect(formatError(() => parseGraph(bytes, owner, NAME)).message).toMatch(problem);
}

/** Byte offsets in the body: the offsets array, then the neighbour ids. */
const offsetAt = (v: number) => HEADER + 4 * v;
const neighbourAt = (g: Graph, e: number) => HEADER + 4 * (g.nItems + 1) + 4 * e;

const base = fixture('euclidean', 5, 40, 6, true);

describe('a graph file that belongs is read back exactly', () => {
  it.each([
    ['angular', 4], ['euclidean', 5], ['manhattan', 3], ['dot', 6], ['hamming', 70],
  ] as const)('%s f=%i, with holes', (metric, f) => {
    const { owner, graph, bytes } = fixture(metric, f, 30, 5, true);
    const header = readGraphHeader(bytes, NAME);
    expect(header).toMatchObject({ metric, f, nItems: owner.nItems, edges: graph.neighbours.length, annByteLength: owner.annBytes.byteLength });
    const read = parseGraph(bytes, owner, NAME);
    expect(read.nItems).toBe(graph.nItems);
    expect([...read.offsets]).toEqual([...graph.offsets]);
    expect([...read.neighbours]).toEqual([...graph.neighbours]);
  });

  it('from a view at an odd offset inside a larger buffer', () => {
    const shifted = new Uint8Array(base.bytes.length + 3);
    shifted.set(base.bytes, 3);
    expect([...parseGraph(shifted.subarray(3), base.owner, NAME).neighbours]).toEqual([...base.graph.neighbours]);
  });
});

describe('truncated, extended and foreign files', () => {
  it('every truncation is refused: too short for the header, or truncated against the header', () => {
    for (let cut = 0; cut < base.bytes.length; cut += cut < 80 ? 1 : 13) {
      const error = formatError(() => parseGraph(base.bytes.subarray(0, cut), base.owner, NAME));
      expect(error.message).toMatch(cut < HEADER ? /too short|truncated/ : /truncated/);
      if (cut >= HEADER) expect(error.message).toContain(`${cut} bytes`);
    }
    expectRefused(new Uint8Array(0), base.owner, /0 bytes is too short/);
  });

  it('bytes after the end are refused', () => {
    const longer = new Uint8Array(base.bytes.length + 4);
    longer.set(base.bytes);
    expectRefused(longer, base.owner, /followed by extra bytes/);
  });

  it('a file that is not a graph file: the .ann itself, its sidecar text, another format, zeros', () => {
    expectRefused(base.owner.annBytes, base.owner, /not an annoy-ts graph file/);
    expectRefused(new TextEncoder().encode(`{"format":"annoy-ts-sidecar","version":1,"f":5,"metric":"euclidean"${' '.repeat(64)}}`), base.owner, /not an annoy-ts graph file/);
    expectRefused(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(120)]), base.owner, /not an annoy-ts graph file/);
    expectRefused(new Uint8Array(base.bytes.length), base.owner, /not an annoy-ts graph file/);
    const lower = edited(base.bytes, (v) => v.setUint8(0, 'a'.charCodeAt(0)));
    expectRefused(lower, base.owner, /not an annoy-ts graph file/);
  });

  it('a version this reader does not know, even with a valid checksum, says which version and what to do', () => {
    for (const version of [0, 2, 0xffffffff]) {
      const bytes = edited(base.bytes, (v) => v.setUint32(8, version, true));
      const message = formatError(() => readGraphHeader(bytes, NAME)).message;
      expect(message).toContain(`version ${version}`);
      expect(message).toMatch(/rebuild/);
      expectRefused(bytes, base.owner, new RegExp(`version ${version}`));
    }
  });

  it('a header size other than the one the format has', () => {
    expectRefused(edited(base.bytes, (v) => v.setUint32(12, 128, true)), base.owner, /header says it is 128 bytes/);
  });

  it('an unknown metric code', () => {
    expectRefused(edited(base.bytes, (v) => v.setUint32(28, 5, true)), base.owner, /unknown metric code 5/);
  });
});

describe('damage the checksums catch', () => {
  it('any changed header byte (without a new header checksum)', () => {
    for (let at = 12; at < 60; at++) {
      const bytes = edited(base.bytes, (v) => v.setUint8(at, v.getUint8(at) ^ 0x10), false);
      expectRefused(bytes, base.owner, /header is damaged/);
    }
  });

  it('any changed body byte (without a new body checksum)', () => {
    for (let at = HEADER; at < base.bytes.length; at += 7) {
      const bytes = edited(base.bytes, (v) => v.setUint8(at, v.getUint8(at) ^ 0x01), false);
      expectRefused(bytes, base.owner, /graph is damaged \(its checksum/);
    }
  });
});

describe('a graph that does not belong to the index it is offered with', () => {
  it('other .ann bytes of the same length (one changed byte): the CRC differs', () => {
    const other = base.owner.annBytes.slice();
    other[8] ^= 0x40; // a vector component of the first record
    expectRefused(base.bytes, { ...base.owner, annBytes: other }, /belongs to other index bytes.*CRC-32/);
  });

  it('an .ann of another length: both lengths named', () => {
    const other = fixture('euclidean', 5, 40, 6, true, 99);
    const extended = new Uint8Array(base.owner.annBytes.length + other.owner.annBytes.length);
    extended.set(base.owner.annBytes);
    const message = formatError(() => parseGraph(base.bytes, { ...base.owner, annBytes: extended }, NAME)).message;
    expect(message).toContain(`${base.owner.annBytes.length}-byte index file`);
    expect(message).toContain(`${extended.length} bytes`);
  });

  it('the graph of a rebuilt index (same items, another seed)', () => {
    const rebuilt = fixture('euclidean', 5, 40, 6, true, 8);
    expect(() => parseGraph(base.bytes, rebuilt.owner, NAME)).toThrow(AnnoyFormatError);
    formatError(() => parseGraph(base.bytes, rebuilt.owner, NAME));
  });

  it('another metric, another f, another item count: the message names what differs', () => {
    expectRefused(base.bytes, { ...base.owner, metric: 'angular' }, /'euclidean' index with f = 5, not of this 'angular' index/);
    expectRefused(base.bytes, { ...base.owner, f: 6 }, /f = 5, not of this 'euclidean' index with f = 6/);
    expectRefused(base.bytes, { ...base.owner, nItems: base.owner.nItems + 1 }, new RegExp(`describes ${base.owner.nItems} items, but the index holds ${base.owner.nItems + 1}`));
    // A graph whose header claims another item count (resealed), offered to the right index.
    const moreItems = edited(base.bytes, (v) => v.setUint32(36, base.owner.nItems - 1, true));
    expectRefused(moreItems, base.owner, /truncated|extra bytes|items/);
  });

  it('the graph of a different index of the same shape is refused, not used', () => {
    const angular = fixture('angular', 5, 40, 6, true);
    expectRefused(angular.bytes, base.owner, /'angular' index/);
  });
});

describe('structure behind valid checksums (a buggy or hostile writer)', () => {
  const { graph, owner, bytes } = base;
  const firstHole = [...Array(owner.nItems).keys()].find((v) => !base.ids.includes(v)) ?? -1;
  const firstItem = base.ids[0];

  it('the fixture has holes and items with neighbours', () => {
    expect(base.ids.includes(firstHole)).toBe(false);
    expect(graph.offsets[firstItem + 1]).toBeGreaterThan(graph.offsets[firstItem]);
  });

  it.each([
    ['the item count', owner.nItems],
    ['-1', -1],
    ['the largest int32', 0x7fffffff],
    ['the smallest int32', -0x80000000],
  ])('a neighbour id of %s is outside the items', (_, id) => {
    const bad = edited(bytes, (v) => v.setInt32(neighbourAt(graph, 0), Number(id), true));
    expectRefused(bad, owner, new RegExp(`item ${firstItem} lists neighbour ${id}, outside 0 … ${owner.nItems - 1}`));
  });

  it('a neighbour that is a hole', () => {
    const bad = edited(bytes, (v) => v.setInt32(neighbourAt(graph, 2), firstHole, true));
    expectRefused(bad, owner, new RegExp(`neighbour ${firstHole}, which is not in the index \\(a hole\\)`));
  });

  it('a hole with neighbours', () => {
    // Move one edge from the node after the hole onto the hole: offsets stay monotone, the count stays.
    const bad = edited(bytes, (v) => v.setUint32(offsetAt(firstHole + 1), graph.offsets[firstHole + 1] + 1, true));
    expectRefused(bad, owner, new RegExp(`item ${firstHole} is not in the index \\(a hole\\) but has neighbours`));
  });

  it('offsets that run backwards', () => {
    // Item 1's range ends before it starts; item 0's stays as it was.
    const bad = edited(bytes, (v) => v.setUint32(offsetAt(2), graph.offsets[1] - 1, true));
    expectRefused(bad, owner, /offsets of item 1 run backwards \(6 → 5\)/);
  });

  it('an offset beyond the neighbour ids is refused as such, before any neighbour past the end is read', () => {
    // Node 0's range ends past the last edge, and the header's largest degree allows it.
    const beyond = graph.neighbours.length + 5;
    const bad = edited(bytes, (v) => {
      v.setUint32(offsetAt(1), beyond, true);
      v.setUint32(44, beyond, true);
    });
    expectRefused(bad, owner, /offset/);
  });

  it('a first offset other than 0, a last offset other than the edge count', () => {
    expectRefused(edited(bytes, (v) => v.setUint32(offsetAt(0), 1, true)), owner, /first offset is 1, not 0/);
    expectRefused(
      edited(bytes, (v) => v.setUint32(offsetAt(graph.nItems), graph.neighbours.length - 1, true)), owner,
      new RegExp(`last offset is ${graph.neighbours.length - 1}, but there are ${graph.neighbours.length} edges`),
    );
  });

  it('a node with more neighbours than the header\'s largest degree', () => {
    expectRefused(edited(bytes, (v) => v.setUint32(44, 5, true)), owner, /has 6 neighbours, more than the header's largest degree 5/);
  });

  it('huge counts in a small file are refused by length, before anything is allocated by them', () => {
    for (const [at, value] of [[36, 0xffffffff], [40, 0xffffffff], [36, 0x3fffffff]] as const) {
      const bad = edited(bytes, (v) => v.setUint32(at, value, true));
      expectRefused(bad, owner, /truncated/);
    }
  });
});

describe('odd but harmless lists', () => {
  it('self-loops and repeated neighbours: refused, or (when accepted) queries through the graph still return unique items', () => {
    const { graph, owner, bytes } = base;
    const first = base.ids[0], second = base.ids[1];
    const odd = edited(bytes, (v) => {
      v.setInt32(neighbourAt(graph, graph.offsets[first]), first, true); // item → itself
      v.setInt32(neighbourAt(graph, graph.offsets[second]), graph.neighbours[graph.offsets[second] + 1], true); // the same neighbour twice
    });
    let index: AnnoyIndex;
    try {
      index = AnnoyIndex.fromBuffer(owner.annBytes, owner.f, owner.metric, { graph: odd });
    } catch (e) {
      expect(e).toBeInstanceOf(AnnoyFormatError);
      return;
    }
    expect(index.hasGraph()).toBe(true);
    for (const id of base.ids.slice(0, 10)) {
      for (const searchK of [-1, 40]) {
        const { ids, distances } = index.getNnsByItem(id, 8, searchK, true);
        expect(new Set(ids).size).toBe(ids.length);
        expect(distances).toHaveLength(ids.length);
        for (const u of ids) expect(owner.present(u)).toBe(true);
        expect(ids[0]).toBe(id);
      }
    }
  });
});

describe('random damage', () => {
  it('thousands of resealed random edits: each file is refused with a named problem, or parses into a graph whose every id is an item', () => {
    const rng = new Rng(2026);
    const small = fixture('angular', 3, 12, 3, true, 3);
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = small.bytes.slice();
      const view = new DataView(bytes.buffer);
      const edits = 1 + rng.nextInt(3);
      for (let e = 0; e < edits; e++) {
        const word = 2 + rng.nextInt(bytes.length / 4 - 2);
        const pick = rng.nextInt(4);
        const value = pick === 0 ? rng.nextInt(small.owner.nItems + 2) - 1 : pick === 1 ? rng.nextInt(2 ** 32) : pick === 2 ? view.getUint32(4 * word, true) ^ (1 << rng.nextInt(32)) : 0;
        view.setUint32(4 * word, value >>> 0, true);
      }
      const sealed = rng.nextInt(4) !== 0 ? reseal(bytes) : bytes;
      let graph: Graph | undefined;
      try {
        graph = parseGraph(sealed, small.owner, NAME);
      } catch (e) {
        if (!(e instanceof AnnoyFormatError)) throw e;
        expect(e.message.startsWith(`${NAME}: `)).toBe(true);
        continue;
      }
      accepted++;
      for (let v = 0; v < graph.nItems; v++) {
        expect(graph.offsets[v + 1]).toBeGreaterThanOrEqual(graph.offsets[v]);
        for (let e = graph.offsets[v]; e < graph.offsets[v + 1]; e++) expect(small.owner.present(graph.neighbours[e])).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(0); // some edits (a neighbour replaced by another item) are valid graphs
  });
});
