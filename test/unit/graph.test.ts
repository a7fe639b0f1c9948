// The neighbour graph (issue 15) through the public API: built for files real Annoy wrote (every
// metric, holes), answers checked against real Annoy's exhaustive answers; the .graph file and
// bytes (round trips, determinism, mismatches refused naming the file); saving and loading next to
// the .ann; filters; the TypeScript fallback walk; threads sharing the graph.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AllowedIds, AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, AnnoyStateError, attachIndex, kernelInfo, readGraphHeader, shareIndex, type MetricName,
} from '../../packages/annoy-ts/src/node/index.ts';
import { setKernels } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { fixturesAvailable, loadFixtures, type Fixture, type QueryFile } from '../helpers/fixtures.ts';
import { skipWithout } from '../helpers/requirements.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setKernels('auto'));

const METRICS: MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];

/** A pseudo-random index with holes (ids ≡ 3 mod 7 are never added). */
function withHoles(metric: MetricName, f: number, n: number, seed = 5): { index: AnnoyIndex; vectors: number[][] } {
  const index = new AnnoyIndex(f, metric);
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const vectors: number[][] = [];
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: f }, () => (metric === 'hamming' ? (next() < 0.5 ? 1 : 0) : next() * 2 - 1));
    vectors.push(v);
    if (i % 7 !== 3) index.addItem(i, v);
  }
  index.setSeed(seed);
  return { index, vectors };
}

function recallOf(found: readonly number[], truth: readonly number[]): number {
  const want = new Set(truth);
  return found.filter((id) => want.has(id)).length / truth.length;
}

describe.skipIf(skipWithout(fixturesAvailable(), 'fixtures/annoy'))('graphs for index files written by real Annoy', () => {
  const fixtures = loadFixtures().filter((fx) => fx.info.n_items >= 100);

  it.each(fixtures.map((fx) => [fx.name, fx] as [string, Fixture]))('%s: buildGraph() on the loaded file; answers match Annoy\'s exhaustive ones', (_, fx) => {
    const index = AnnoyIndex.fromBuffer(readFileSync(fx.file('index.ann')), fx.f, fx.metric);
    expect(index.hasGraph()).toBe(false);
    index.buildGraph();
    expect(index.hasGraph()).toBe(true);
    const exact = fx.json<QueryFile>('query-k10-all.json');
    const present = new Set(fx.ids);
    let recall = 0;
    fx.queries.forEach((q, r) => {
      const got = index.getNnsByVector(q, 10, { includeDistances: true });
      const want = exact.results[r];
      recall += recallOf(got.ids, want.ids);
      for (const id of got.ids) expect(present.has(id)).toBe(true);
      // Distances are Annoy's own (exact, as getDistance reports them), nearest first.
      got.ids.forEach((id, j) => {
        const k = want.ids.indexOf(id);
        if (k >= 0) expect(got.distances[j]).toBe(Math.fround(want.distances[k]));
      });
      expect([...got.distances].sort((a, b) => (fx.metric === 'dot' ? b - a : a - b))).toEqual(got.distances);
    });
    // Tiny pseudo-random sets in up to 100 dimensions: the graph must find nearly all.
    expect(recall / fx.queries.length).toBeGreaterThanOrEqual(fx.metric === 'hamming' ? 0.85 : 0.95);
  });
});

describe('the graph of an index', () => {
  it('the embedded WebAssembly binary is built from assembly/graph.ts as it is', () => {
    expect(() => execFileSync(process.execPath, ['tools/build-graph-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('build(…, { graph }) and buildGraph() give the same graph; the same seed gives the same bytes, another seed other bytes', () => {
    const a = withHoles('angular', 24, 1500).index;
    a.build(4, 1, { graph: true });
    const b = withHoles('angular', 24, 1500).index;
    b.build(4, 1);
    b.buildGraph();
    const bytes = a.toGraphBuffer();
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('ATSGRAPH');
    expect(b.toGraphBuffer()).toEqual(bytes);
    b.buildGraph({ seed: 2 });
    expect(b.toGraphBuffer()).not.toEqual(bytes);
  });

  it('the same graph for every nJobs (worker threads); build()\'s onProgress hears the graph\'s stages', () => {
    const a = withHoles('euclidean', 16, 3000).index;
    a.build(3, 1, { graph: { nJobs: 1 } });
    const b = withHoles('euclidean', 16, 3000).index;
    const stages: { stage: string; done: number; total: number }[] = [];
    b.build(3, 1, { graph: { nJobs: 2 }, onProgress: (p) => void (p.graph && stages.push(p.graph)) });
    expect(b.toGraphBuffer()).toEqual(a.toGraphBuffer());
    expect([...new Set(stages.map((p) => p.stage))]).toEqual(['leaves', 'descent', 'pruning']);
    expect(stages.at(-1)).toEqual({ stage: 'pruning', done: 2, total: 2 });
    for (const p of stages) expect(p.done).toBeLessThanOrEqual(p.total);
  });

  it('builds on more than 16 threads (a step\'s arguments, one per thread, fit the control block)', () => {
    // 17 threads need over 17 × 1024 items (buildGraph gives each thread at least 1024).
    const n = 17 * 1024 + 1;
    const a = new AnnoyIndex(2, 'euclidean');
    let s = 3;
    const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) a.addItem(i, [next(), next()]);
    a.build(2, 1, { graph: { nJobs: 17, rounds: 1 } });
    expect(a.hasGraph()).toBe(true);
    expect(a.getNnsByItem(5, 3)[0]).toBe(5);
  });

  it('round trip through bytes: fromBuffer(…, { graph }) answers like the index that built it', () => {
    for (const metric of METRICS) {
      const f = metric === 'hamming' ? 70 : 20;
      const { index, vectors } = withHoles(metric, f, 1200);
      index.build(5, 1, { graph: { degree: 24 } });
      const copy = AnnoyIndex.fromBuffer(index.toBuffer(), f, metric, { graph: index.toGraphBuffer() });
      expect(copy.hasGraph()).toBe(true);
      for (let q = 0; q < 20; q++) {
        expect(copy.getNnsByVector(vectors[q * 37], 10, -1, true)).toEqual(index.getNnsByVector(vectors[q * 37], 10, -1, true));
        // (Not from a hole: its zero vector is as near to everything, any answer is right.)
        if ((q * 41 + 1) % 7 !== 3) expect(copy.getNnsByItem(q * 41 + 1, 5)).toEqual(index.getNnsByItem(q * 41 + 1, 5));
      }
    }
  });

  it('quantize (the int8-code walk) is recorded in the .graph file; either way answers are exact and alike', () => {
    const { index } = withHoles('angular', 48, 2000, 6);
    index.build(3, 1, { graph: { quantize: false } });
    const floats = index.toGraphBuffer();
    expect(readGraphHeader(floats, 'g').quantized).toBe(false);
    const copy = AnnoyIndex.fromBuffer(index.toBuffer(), 48, 'angular', { graph: floats });
    index.buildGraph();
    expect(readGraphHeader(index.toGraphBuffer(), 'g').quantized).toBe(true);
    let agree = 0;
    for (let q = 0; q < 40; q++) {
      const item = q * 42 + 1; // never a hole (those are ≡ 3 mod 7)
      const a = index.getNnsByItem(item, 10, 2000, true), b = copy.getNnsByItem(item, 10, 2000, true);
      agree += recallOf(a.ids, b.ids);
      // Distances as getDistance reports them, whichever walk found the items.
      for (const r of [a, b]) r.ids.forEach((id, j) => expect(r.distances[j]).toBe(index.getDistance(item, id)));
    }
    expect(agree / 40).toBeGreaterThan(0.97);
  });

  it('holes are never in the graph and never returned', () => {
    for (const metric of METRICS) {
      const { index, vectors } = withHoles(metric, metric === 'hamming' ? 64 : 12, 900);
      index.build(3, 1, { graph: true });
      for (let q = 0; q < 60; q++) {
        for (const id of index.getNnsByVector(vectors[q * 13], 50, 4000)) expect(id % 7).not.toBe(3);
      }
    }
  });

  it('searchK is the one knob: larger searchK, higher recall; -1 is a sensible default', () => {
    const { index, vectors } = withHoles('euclidean', 32, 4000, 9);
    index.build(5, 1, { graph: true });
    // Exact answers: a graph-less copy walking every tree to its end.
    const plain = AnnoyIndex.fromBuffer(index.toBuffer(), 32, 'euclidean');
    let low = 0, dflt = 0, high = 0;
    for (let q = 0; q < 100; q++) {
      const v = vectors[q * 31].map((x, k) => x + 0.02 * Math.cos(q + k));
      const truth = plain.getNnsByVector(v, 10, Infinity);
      low += recallOf(index.getNnsByVector(v, 10, 10), truth);
      dflt += recallOf(index.getNnsByVector(v, 10), truth);
      high += recallOf(index.getNnsByVector(v, 10, 20000), truth);
    }
    expect(low).toBeLessThan(high);
    expect(dflt / 100).toBeGreaterThan(0.9);
    expect(high / 100).toBeGreaterThan(0.99);
    // searchK Infinity stays exact with a graph attached: the same ids and distances as the plain copy.
    for (let q = 0; q < 20; q++) {
      const v = vectors[q * 97].map((x, k) => x - 0.05 * Math.sin(q * k));
      expect(index.getNnsByVector(v, 25, Infinity, true)).toEqual(plain.getNnsByVector(v, 25, Infinity, true));
    }
  });

  it('n beyond the widest beam (4,096 results) is answered by the trees: n results, as without the graph', () => {
    const { index, vectors } = withHoles('euclidean', 8, 6000, 3);
    index.build(3, 1, { graph: true });
    const plain = AnnoyIndex.fromBuffer(index.toBuffer(), 8, 'euclidean');
    for (const searchK of [-1, 100_000]) {
      expect(index.getNnsByVector(vectors[0], 5000, searchK)).toEqual(plain.getNnsByVector(vectors[0], 5000, searchK));
    }
    expect(index.getNnsByVector(vectors[0], 5000)).toHaveLength(5000);
  });

  it('bad options, wrong states', () => {
    const { index } = withHoles('angular', 8, 200);
    expect(() => index.buildGraph()).toThrow(AnnoyStateError);
    expect(() => index.toGraphBuffer()).toThrow(AnnoyStateError);
    index.build(2, 1);
    expect(() => index.toGraphBuffer()).toThrow(/no neighbour graph/);
    expect(() => index.buildGraph({ degree: 0 })).toThrow(AnnoyArgumentError);
    expect(() => index.buildGraph({ alpha: 0.5 })).toThrow(/alpha/);
    expect(() => index.buildGraph({ deg: 3 } as never)).toThrow(/unknown graph option "deg"/);
    expect(() => index.build(2, 1, { graph: 'yes' as never })).toThrow(AnnoyStateError); // already built: the state error comes first
    index.buildGraph();
    expect(index.hasGraph()).toBe(true);
    index.unbuild();
    expect(index.hasGraph()).toBe(false);
    expect(() => index.build(2, 1, { graph: 'yes' as never })).toThrow(/graph options must be an object/);
    expect(() => AnnoyIndex.fromBuffer(new Uint8Array(8), 8, 'angular', { graph: 5 as never })).toThrow(/graph bytes must be/);
  });

  it('graph bytes that do not belong to the index bytes are refused, naming them and the problem', () => {
    const a = withHoles('euclidean', 16, 800, 1).index;
    a.build(3, 1, { graph: true });
    const b = withHoles('euclidean', 16, 800, 2).index;
    b.build(3, 1, { graph: true });
    expect(() => AnnoyIndex.fromBuffer(b.toBuffer(), 16, 'euclidean', { graph: a.toGraphBuffer() }))
      .toThrow(/^the graph bytes: it belongs to a \d+-byte index file, not to this one of \d+ bytes/);
    // Same length, one item's vector changed: the CRC-32 of the index bytes tells.
    const changed = a.toBuffer().slice();
    changed[16 + 4 * 3] ^= 0x01;
    expect(() => AnnoyIndex.fromBuffer(changed, 16, 'euclidean', { graph: a.toGraphBuffer() }))
      .toThrow(/^the graph bytes: it belongs to other index bytes \(the CRC-32/);
    expect(() => AnnoyIndex.fromBuffer(a.toBuffer(), 16, 'manhattan', { graph: a.toGraphBuffer() })).toThrow(AnnoyFormatError);
    const damaged = a.toGraphBuffer().slice();
    damaged[damaged.length - 3] ^= 0x40;
    expect(() => AnnoyIndex.fromBuffer(a.toBuffer(), 16, 'euclidean', { graph: damaged })).toThrow(/^the graph bytes: the graph is damaged/);
    expect(() => AnnoyIndex.fromBuffer(a.toBuffer(), 16, 'euclidean', { graph: a.toGraphBuffer().subarray(0, 100) })).toThrow(/truncated/);
  });
});

describe('the .graph file beside the index', () => {
  it('save() writes path.graph; load() and open() attach it; open({ graph: false }) does not', () => {
    const { index, vectors } = withHoles('angular', 16, 1000);
    index.build(4, 1, { graph: true });
    const path = join(dir, 'a.ann');
    const want = index.getNnsByVector(vectors[5], 10, -1, true);
    index.save(path);
    expect(existsSync(`${path}.graph`)).toBe(true);
    // The .ann is Annoy's file, unchanged by the graph.
    expect(readFileSync(path)).toEqual(Buffer.from(index.toBuffer()));
    expect(index.getNnsByVector(vectors[5], 10, -1, true)).toEqual(want);
    const opened = AnnoyIndex.open(path);
    expect(opened.hasGraph()).toBe(true);
    expect(opened.getNnsByVector(vectors[5], 10, -1, true)).toEqual(want);
    const loaded = new AnnoyIndex(16, 'angular');
    loaded.load(path);
    expect(loaded.hasGraph()).toBe(true);
    expect(loaded.getNnsByVector(vectors[5], 10, -1, true)).toEqual(want);
    expect(AnnoyIndex.open(path, { graph: false }).hasGraph()).toBe(false);
  });

  it('a .graph left beside another index file is refused on load, naming it; the index loaded before stays', () => {
    const first = withHoles('euclidean', 16, 600, 1).index;
    first.build(3, 1, { graph: true });
    const path = join(dir, 'b.ann');
    first.save(path, { sidecar: false });
    const other = withHoles('euclidean', 16, 600, 2).index;
    other.build(3, 1);
    const index = new AnnoyIndex(16, 'euclidean');
    index.load(path);
    const before = index.getNnsByItem(7, 10, -1, true);
    // Another tool rewrites the .ann (the .graph stays behind).
    writeFileSync(path, other.toBuffer());
    expect(() => index.load(path)).toThrow(new RegExp(`^${path.replace(/[.\\/]/g, '\\$&')}\\.graph: it belongs to a \\d+-byte index file`));
    expect(index.hasGraph()).toBe(true);
    expect(index.getNnsByItem(7, 10, -1, true)).toEqual(before);
    expect(() => AnnoyIndex.open(path, { f: 16, metric: 'euclidean' })).toThrow(AnnoyFormatError);
    expect(AnnoyIndex.open(path, { f: 16, metric: 'euclidean', graph: false }).getNItems()).toBe(600);
  });

  it('saving an index without a graph removes an old .graph; { graph: false } too', () => {
    const a = withHoles('manhattan', 8, 300).index;
    a.build(2, 1, { graph: true });
    const path = join(dir, 'c.ann');
    a.save(path);
    expect(existsSync(`${path}.graph`)).toBe(true);
    const b = withHoles('manhattan', 8, 300, 3).index;
    b.build(2, 1);
    b.save(path);
    expect(existsSync(`${path}.graph`)).toBe(false);
    const c = withHoles('manhattan', 8, 300, 4).index;
    c.build(2, 1, { graph: true });
    c.save(path, { graph: false });
    expect(existsSync(`${path}.graph`)).toBe(false);
    expect(AnnoyIndex.open(path).hasGraph()).toBe(false);
  });

  it('a folder where the graph goes fails the save before anything is written, and stays where it was', () => {
    const path = join(dir, 'folder-graph.ann');
    mkdirSync(`${path}.graph`);
    const { index } = withHoles('euclidean', 4, 100);
    index.build(2, 1, { graph: true });
    expect(() => index.save(path)).toThrow(/is a folder/);
    expect(statSync(`${path}.graph`).isDirectory()).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith('.folder-graph'))).toEqual([]);
  });
});

describe('filters through the graph', () => {
  it('only allowed items are returned; the walk still passes through the others', () => {
    const { index, vectors } = withHoles('angular', 24, 3000, 4);
    index.build(4, 1, { graph: true });
    const plain = AnnoyIndex.fromBuffer(index.toBuffer(), 24, 'angular');
    const allowed = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 === 0);
    const set = new Set(allowed);
    let recall = 0;
    for (let q = 0; q < 50; q++) {
      const v = vectors[q * 53 + 1];
      const got = index.getNnsByVector(v, 10, { filter: allowed });
      const truth = plain.getNnsByVector(v, 10, { filter: allowed, searchK: Infinity });
      for (const id of got) expect(set.has(id)).toBe(true);
      recall += recallOf(got, truth);
    }
    expect(recall / 50).toBeGreaterThan(0.9);
  });

  it('never returns fewer than min(n, allowed) items, whatever searchK (a walk that ends short leaves the query to the forest)', () => {
    const { index, vectors } = withHoles('euclidean', 16, 3000, 6);
    index.build(4, 1, { graph: true });
    // Enough allowed items for the walk (see graphQuery), scattered (ids ≡ 0 mod 10) or one region
    // (the items nearest to item 1) far from most queries; small searchK caps the walk's distances.
    const present = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 7 !== 3);
    const byDistance = [...present].sort((a, b) => index.getDistance(1, a) - index.getDistance(1, b));
    for (const allowed of [present.filter((i) => i % 10 === 0), byDistance.slice(0, 300)]) {
      const set = new Set(allowed);
      for (const searchK of [1, 20, 100, 300]) {
        for (let q = 0; q < 20; q++) {
          const got = index.getNnsByVector(vectors[q * 149 + 2], 10, { searchK, filter: allowed });
          expect(got).toHaveLength(10);
          for (const id of got) expect(set.has(id)).toBe(true);
        }
      }
    }
  });

  it('an AllowedIds built for fewer items than the index allows none of the rest, whatever the query before it allowed', () => {
    const { index, vectors } = withHoles('euclidean', 8, 2000, 7);
    index.build(4, 1, { graph: true });
    const present = Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 7 !== 3);
    const low = AllowedIds.from(present.filter((i) => i < 1000), 1000);
    for (let q = 0; q < 10; q++) {
      const v = vectors[1000 + q * 97 + 1];
      // Every item allowed first (the walk's bitset in the index's memory then has every bit set) …
      expect(index.getNnsByVector(v, 10, { filter: present })).toHaveLength(10);
      // … then only ids below 1000: the words past this set's end must not keep the last query's bits.
      const got = index.getNnsByVector(v, 10, { filter: low });
      expect(got).toHaveLength(10);
      for (const id of got) expect(id).toBeLessThan(1000);
    }
  });
});

describe('the TypeScript walk (no WebAssembly memory)', () => {
  it('answers with the same quality as the WebAssembly walk', () => {
    const make = () => {
      const { index, vectors } = withHoles('dot', 16, 2000, 8);
      index.build(4, 1, { graph: true });
      return { index, vectors };
    };
    const wasm = make();
    setKernels('js');
    const js = make();
    expect(kernelInfo().kind).toBe('js');
    expect(js.index.toGraphBuffer()).toEqual(wasm.index.toGraphBuffer());
    let agree = 0;
    for (let q = 0; q < 50; q++) {
      const v = wasm.vectors[q * 29];
      agree += recallOf(js.index.getNnsByVector(v, 10), wasm.index.getNnsByVector(v, 10));
    }
    expect(agree / 50).toBeGreaterThan(0.95);
  });
});

describe.skipIf(skipWithout(kernelInfo().sharedMemory, 'shared WebAssembly memory'))('threads', () => {
  it('an attached index searches the same graph and answers exactly as the original', () => {
    for (const metric of METRICS) {
      const f = metric === 'hamming' ? 64 : 16;
      const { index, vectors } = withHoles(metric, f, 800);
      index.build(3, 1, { graph: true });
      const attached = attachIndex(structuredClone(shareIndex(index)));
      expect(attached.hasGraph()).toBe(true);
      for (let q = 0; q < 20; q++) expect(attached.getNnsByVector(vectors[q * 11], 10, -1, true)).toEqual(index.getNnsByVector(vectors[q * 11], 10, -1, true));
      expect(attached.toGraphBuffer()).toEqual(index.toGraphBuffer());
    }
  });

  it('…Async queries on the worker pool use the graph', async () => {
    const { index, vectors } = withHoles('euclidean', 16, 1500);
    index.build(3, 1, { graph: true });
    const queries = vectors.slice(0, 30);
    try {
      expect(await index.getNnsByVectorsAsync(queries, 10, -1, true)).toEqual(index.getNnsByVectors(queries, 10, -1, true));
    } finally {
      await index.close();
    }
  });
});
