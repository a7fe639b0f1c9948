// Collections with neighbour graphs (the `graph` option): every segment build also builds the
// segment's graph, queries walk it with the live items as the filter, and the graph file follows
// the segment's (reopen attaches it, compaction removes it, a damaged one is not used). Real data:
// GloVe word vectors, answers compared with exact search and with a forest-only collection.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GraphSearcher } from '../../packages/annoy-ts/src/graph/search.ts';
import { AnnoyFormatError, Collection, MemoryCollection, type Key, type QueryResult } from '../../packages/collection/src/node/index.ts';
import { loadGlove } from '../../datasets/glove.ts';
import { exactDistance } from '../helpers/exact.ts';
import { retamper } from '../helpers/collection-export.ts';

const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'annoy-ts-collection-graph-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(root, `c${folders++}`);

const DIM = 100, N = 6000, ADDED = 1200, QUERIES = 100, K = 10;
const METRIC = 'angular';

/** Waits until no background build is running or due. */
async function settle(c: Collection): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (c.info().building === null) {
      await new Promise((r) => setTimeout(r, 30));
      if (c.info().building === null) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('background builds did not settle');
}

/** Waits for the files of replaced segments to go (they are removed after the switch, in the background). */
async function filesSettle(dir: string, want: (files: string[]) => boolean): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const files = readdirSync(dir);
    if (want(files)) return files;
    await new Promise((r) => setTimeout(r, 10));
  }
  return readdirSync(dir);
}

describe('Collection with graph: true (GloVe, 6,000 + 1,200 words)', async () => {
  const glove = await loadGlove({ quiet: true });
  const step = Math.floor(glove.count / (N + ADDED + QUERIES + 100));
  const row = (r: number) => Array.from(glove.vectors.subarray(r * step * DIM, (r * step + 1) * DIM));
  const base = Array.from({ length: N }, (_, i) => ({ key: `w${i}` as Key, vector: row(i) }));
  const added = Array.from({ length: ADDED }, (_, i) => ({ key: `w${N + i}` as Key, vector: row(N + i) }));
  const queries = Array.from({ length: QUERIES }, (_, q) => row(N + ADDED + 50 + q));
  const model = new Map<Key, number[]>();

  const exact = (q: number[], n: number) =>
    [...model].map(([key, v]) => ({ key, distance: exactDistance(METRIC, q, Float32Array.from(v)) })).sort((a, b) => a.distance - b.distance).slice(0, n);
  /** Recall@K of `answers` (one per query) against exact search, ties at the K-th place counted as hits. */
  const kths = new Map<string, number>(); // the K-th exact distance of each query, while the model stays the same
  const recall = (answers: QueryResult[][]) => answers.reduce((s, a, q) => {
    const id = `${model.size} ${q}`;
    if (!kths.has(id)) kths.set(id, exact(queries[q]!, K)[K - 1]!.distance);
    const kth = kths.get(id)!;
    return s + a.filter((r) => r.distance <= kth * (1 + 1e-5) + 1e-6).length / K;
  }, 0) / QUERIES;
  const expectExact = (got: QueryResult[], q: number[]) => {
    const want = exact(q, K);
    expect(got.map((r) => r.key)).toEqual(want.map((w) => w.key));
    got.forEach((r, j) => expect(Math.abs(r.distance - want[j]!.distance)).toBeLessThan(1e-4));
  };
  // Background builds of the base and the delta (the policy, as in use); one build thread each.
  const policy = { memtableLimit: 1000, deltaFraction: 0.9, deletedFraction: 0.9 };
  const dirs = { forest: folder(), graph: folder() };

  it('builds graphs for base and delta; exact answers as the forest; recall ≥ the forest; deleted and replaced items never returned', async () => {
    const forest = await Collection.open(dirs.forest, { f: DIM, metric: METRIC, trees: 10, buildThreads: 1, autoCompact: policy });
    const graph = await Collection.open(dirs.graph, { f: DIM, metric: METRIC, trees: 10, buildThreads: 1, autoCompact: policy, graph: true });
    expect(forest.info().graph).toBe(false);
    expect(graph.info().graph).toEqual({});
    for (const c of [forest, graph]) {
      await c.upsert(base);
      await settle(c);
    }
    for (const item of base) model.set(item.key, Array.from(Float32Array.from(item.vector)));
    const forestBuild = forest.info().lastBuild!, graphBuild = graph.info().lastBuild!;
    console.log(
      `full build of ${N}: forest ${forestBuild.seconds.toFixed(2)} s, with graph ${graphBuild.seconds.toFixed(2)} s (graph ${graphBuild.graphSeconds!.toFixed(2)} s)`,
    );
    expect(forestBuild.graphSeconds).toBeNull();
    expect(graphBuild.graphSeconds).toBeGreaterThan(0);
    expect(graph.info().base).toMatchObject({ items: N, live: N, graph: true });
    expect(forest.info().base).toMatchObject({ items: N, live: N, graph: false });
    expect(readdirSync(dirs.graph).filter((f) => f.endsWith('.ann.graph'))).toEqual([`${graph.info().base!.name}.ann.graph`]);
    expect(readdirSync(dirs.forest).filter((f) => f.endsWith('.graph'))).toEqual([]);

    // Delete 15 % of the base (more than an eighth: queries then pass the live set as the filter),
    // replace 2 %, add 1,200 (a delta build) — the same in both.
    const deleted = base.filter((_, i) => i % 7 === 3).map((x) => x.key);
    const replaced = base.filter((_, i) => i % 50 === 1).map((x, j) => ({ key: x.key, vector: row(N + ADDED + 50 + QUERIES + (j % 40)).map((v) => v + 0.01 * j) }));
    for (const c of [forest, graph]) {
      await c.delete(deleted);
      await c.upsert(replaced);
      await c.upsert(added);
      await settle(c);
    }
    for (const k of deleted) model.delete(k);
    for (const item of [...replaced, ...added]) model.set(item.key, Array.from(Float32Array.from(item.vector)));
    const info = graph.info();
    expect(info.size).toBe(model.size);
    expect(info.base).toMatchObject({ graph: true });
    expect(info.delta).toMatchObject({ graph: true });
    expect(info.delta!.live).toBeGreaterThan(1000);
    expect(info.lastBuild).toMatchObject({ kind: 'delta' });

    // searchK Infinity is the exact search, with or without a graph.
    for (const q of queries.slice(0, 25)) {
      expectExact(graph.query(q, K, { searchK: Infinity }), q);
      expectExact(forest.query(q, K, { searchK: Infinity }), q);
    }

    // The graph path is taken (through the live-items filter), and its recall beats the forest's.
    const walks = vi.spyOn(GraphSearcher.prototype, 'search');
    const gone = new Set(deleted.filter((k) => !model.has(k))); // some deleted keys were upserted again
    const results: Record<string, number> = {};
    for (const searchK of [-1, 1000, 4000]) {
      const g = queries.map((q) => graph.query(q, K, { searchK }));
      const f = queries.map((q) => forest.query(q, K, { searchK }));
      results[`graph@${searchK}`] = recall(g);
      results[`forest@${searchK}`] = recall(f);
      for (const answer of g) {
        expect(answer).toHaveLength(K);
        expect(new Set(answer.map((r) => r.key)).size).toBe(K); // a replaced key once
        for (const r of answer) {
          expect(gone.has(r.key)).toBe(false);
          // Its current vector (a replaced item's old copy is dead).
          expect(Math.abs(r.distance - exactDistance(METRIC, queries[g.indexOf(answer)]!, Float32Array.from(model.get(r.key)!)))).toBeLessThan(1e-4);
        }
      }
    }
    expect(walks).toHaveBeenCalled();
    const perQuery = walks.mock.calls.length / (3 * QUERIES);
    walks.mockRestore();
    console.log(`recall@${K} (base 15 % deleted + delta + memtable): ${Object.entries(results).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}; graph walks per query ${perQuery.toFixed(2)}`);
    expect(perQuery).toBeGreaterThanOrEqual(1.9); // base and delta both walked
    expect(results['graph@-1']!).toBeGreaterThanOrEqual(results['forest@-1']!);
    expect(results['graph@1000']!).toBeGreaterThanOrEqual(results['forest@1000']!);
    expect(results['graph@4000']!).toBeGreaterThanOrEqual(results['forest@4000']! - 0.005);
    expect(results['graph@-1']!).toBeGreaterThan(0.9);

    // After a full compaction (one segment), recall at the same searchK: the delta's share (with its boost) costs nothing measurable.
    await graph.compact();
    const after = { '-1': recall(queries.map((q) => graph.query(q, K))), 1000: recall(queries.map((q) => graph.query(q, K, { searchK: 1000 }))) };
    console.log(`graph recall@${K} after compaction (one segment): @-1 ${after['-1'].toFixed(3)}, @1000 ${after[1000].toFixed(3)}`);
    expect(results['graph@1000']!).toBeGreaterThanOrEqual(after[1000] - 0.02);

    // Compaction removed the old segments' files, graphs included.
    const current = graph.info().base!.name;
    const files = await filesSettle(dirs.graph, (fs) => fs.filter((x) => /^(base|delta)-/.test(x)).every((x) => x.startsWith(current)));
    expect(files.filter((x) => /^(base|delta)-/.test(x)).sort()).toEqual([`${current}.ann`, `${current}.ann.graph`, `${current}.ann.json`, `${current}.ids`]);
    await forest.close();
    await graph.close();
  });

  it('reopen attaches the graphs; the setting persists and can be turned on for an existing collection', async () => {
    let c = await Collection.open(dirs.graph);
    expect(c.info()).toMatchObject({ graph: {}, unusedGraphs: [], base: { graph: true } });
    const q = queries[0]!;
    expectExact(c.query(q, K, { searchK: Infinity }), q);
    await c.close();

    // The forest-only collection, reopened with graph: true: its segment stays usable without a
    // graph; the next build makes one, and the setting is remembered.
    c = await Collection.open(dirs.forest, { graph: { degree: 24 }, autoCompact: false });
    expect(c.info()).toMatchObject({ graph: { degree: 24 }, base: { graph: false }, delta: { graph: false } });
    expectExact(c.query(q, K, { searchK: Infinity }), q);
    await c.close();
    c = await Collection.open(dirs.forest, { autoCompact: false });
    expect(c.info().graph).toEqual({ degree: 24 });
    await c.compact();
    expect(c.info()).toMatchObject({ base: { graph: true }, delta: null });
    expectExact(c.query(q, K, { searchK: Infinity }), q);
    await c.close();
    // Turned off again: builds make no graph; a graph already built stays in use until its segment is replaced.
    c = await Collection.open(dirs.forest, { graph: false, autoCompact: false });
    expect(c.info()).toMatchObject({ graph: false, base: { graph: true } });
    await c.upsert([{ key: 'new', vector: queries[1]! }]);
    await c.compact();
    expect(c.info()).toMatchObject({ graph: false, base: { graph: false } });
    await c.close();
    expect((await filesSettle(dirs.forest, (fs) => !fs.some((f) => f.endsWith('.graph')))).filter((f) => f.endsWith('.graph'))).toEqual([]);

    await expect(Collection.open(folder(), { f: 2, metric: 'euclidean', graph: { nJobs: 2 } as never })).rejects.toThrow(/graph: unknown option "nJobs"/);
    await expect(Collection.open(folder(), { f: 2, metric: 'euclidean', graph: { degree: 0 } })).rejects.toThrow(/degree must be an integer/);
    await expect(Collection.open(folder(), { f: 2, metric: 'euclidean', graph: 'yes' as never })).rejects.toThrow(/graph must be true, false or graph options/);
  });

  it('a damaged .graph is not used (a warning, info().unusedGraphs): the forest answers; the next build replaces it; stray graph files go', async () => {
    const dir = dirs.graph;
    const name = readdirSync(dir).find((f) => f.endsWith('.ann.graph'))!;
    truncateSync(join(dir, name), 1000);
    writeFileSync(join(dir, 'delta-099999.ann.graph'), 'stray');
    writeFileSync(join(dir, `.base-099998.ann.graph.${process.pid}.abcd1234.tmp`), 'unfinished');
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    const c = await Collection.open(dir, { autoCompact: false });
    await new Promise((r) => setTimeout(r, 20)); // warnings are emitted on the next tick
    process.off('warning', listen);
    const segment = name.slice(0, -'.ann.graph'.length);
    expect(warnings.some((w) => w.includes(`the neighbour graph of segment ${segment} is not used`))).toBe(true);
    const info = c.info();
    expect(info.base).toMatchObject({ name: segment, graph: false });
    expect(info.unusedGraphs).toHaveLength(1);
    expect(info.unusedGraphs[0]!.segment).toBe(segment);
    expect(info.unusedGraphs[0]!.reason).toMatch(/graph/);
    expect(existsSync(join(dir, 'delta-099999.ann.graph'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    for (const q of queries.slice(0, 10)) expectExact(c.query(q, K, { searchK: Infinity }), q);
    expect(recall(queries.map((q) => c.query(q, K, { searchK: 20_000 })))).toBeGreaterThan(0.9);

    await c.upsert([{ key: 'fresh', vector: queries[2]! }]);
    model.set('fresh', Array.from(Float32Array.from(queries[2]!)));
    await c.compact();
    expect(c.info()).toMatchObject({ unusedGraphs: [], base: { graph: true } });
    const files = await filesSettle(dir, (fs) => !fs.includes(name));
    expect(files).not.toContain(name);

    // A graph of other index bytes (the previous base's, put in place of the current one's) is not used either.
    const before = `${c.info().base!.name}.ann.graph`;
    const foreign = readFileSync(join(dir, before));
    await c.upsert([{ key: 'fresher', vector: queries[3]! }]);
    model.set('fresher', Array.from(Float32Array.from(queries[3]!)));
    await c.compact();
    const now = c.info().base!.name;
    await c.close();
    writeFileSync(join(dir, `${now}.ann.graph`), foreign);
    const d = await Collection.open(dir, { autoCompact: false });
    expect(d.info()).toMatchObject({ base: { name: now, graph: false }, unusedGraphs: [{ segment: now }] });
    console.log(`a foreign graph: ${d.info().unusedGraphs[0]!.reason}`);
    for (const q of queries.slice(0, 5)) expectExact(d.query(q, K, { searchK: Infinity }), q);
    await d.close();
  });
});

describe('MemoryCollection with graph: true', () => {
  it('builds graphs in the calling thread; toBytes carries them (version 2), fromBytes attaches them', async () => {
    const rows = Array.from({ length: 1500 }, (_, i) => Array.from({ length: 16 }, (_, d) => Math.sin(i * 0.37 + d * 1.3) + Math.cos(i * 0.011 * (d + 1))));
    const c = new MemoryCollection({ f: 16, metric: 'euclidean', trees: 5, autoCompact: false, graph: { degree: 16 } });
    await c.upsert(rows.slice(0, 1000).map((vector, i) => ({ key: i, vector })));
    await c.compact();
    await c.delete([1, 2, 3]);
    expect(c.info()).toMatchObject({ graph: { degree: 16 }, base: { graph: true, live: 997 } });
    const bytes = c.toBytes();
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)))) as {
      version: number; graph: object; segments: { graphLength: number }[];
    };
    expect(header.version).toBe(2);
    expect(header.graph).toEqual({ degree: 16 });
    expect(header.segments[0]!.graphLength).toBeGreaterThan(0);
    const d = MemoryCollection.fromBytes(bytes);
    expect(d.info()).toMatchObject({ graph: { degree: 16 }, base: { graph: true, live: 997 } });
    for (const v of rows.slice(1000, 1020)) {
      expect(d.query(v, 5)).toEqual(c.query(v, 5));
      expect(d.query(v, 5, { searchK: Infinity })).toEqual(c.query(v, 5, { searchK: Infinity }));
      expect(d.query(v, 5).some((r) => [1, 2, 3].includes(r.key as number))).toBe(false);
    }
    // A well-formed container whose graph sizes or setting disagree is refused.
    for (const tamper of [
      (h: Record<string, any>) => { h.segments[0].graphLength += 8; }, // eslint-disable-line @typescript-eslint/no-explicit-any
      (h: Record<string, any>) => { h.version = 1; }, // eslint-disable-line @typescript-eslint/no-explicit-any
      (h: Record<string, any>) => { h.graph = { degree: -1 }; }, // eslint-disable-line @typescript-eslint/no-explicit-any
    ]) expect(() => MemoryCollection.fromBytes(retamper(bytes, tamper))).toThrow(AnnoyFormatError);
    // Without graphs, exports stay version 1 (readable by collections that predate graphs).
    const plain = new MemoryCollection({ f: 16, metric: 'euclidean', trees: 5, autoCompact: false });
    await plain.upsert(rows.slice(0, 100).map((vector, i) => ({ key: i, vector })));
    await plain.compact();
    const plainBytes = plain.toBytes();
    expect(new TextDecoder().decode(plainBytes.subarray(16, 80))).toMatch(/"version":1,/);
    expect(MemoryCollection.fromBytes(plainBytes).info()).toMatchObject({ graph: false, base: { graph: false, live: 100 } });
  });
});
