// All cores: trees built on worker threads (a valid Annoy file, the same for every nJobs > 1, as
// good as a single-threaded build) and batch queries, synchronous and on the worker pool.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyArgumentError, AnnoyIndex, AnnoyStateError, kernelInfo, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { annoyRefPath, annoyRefUnavailableReason, refInfo, refQuery } from '../helpers/annoy-ref.ts';
import { bruteForce, recall } from '../helpers/exact.ts';
import { skipWithout } from '../helpers/requirements.ts';
import { crashPoolWorker, indexWithBuildFaults, type BuildFaults } from '../../packages/annoy-ts/src/node/internal/faults.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shared = kernelInfo().sharedMemory;

function data(f: number, n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, k) => Math.sin((i % 23) * (k + 1)) + rng.nextRange(-0.5, 0.5)));
}

function build(metric: MetricName, rows: number[][], trees: number, jobs: number): AnnoyIndex {
  const index = new AnnoyIndex(rows[0].length, metric);
  rows.forEach((v, i) => index.addItem(i, v));
  index.setSeed(17);
  index.build(trees, jobs);
  return index;
}

describe.skipIf(skipWithout(shared, 'shared WebAssembly memory'))('parallel build', () => {
  const rows = data(24, 4000, 5);
  const queries = data(24, 40, 99);
  const one = build('euclidean', rows, 8, 1);
  const two = build('euclidean', rows, 8, 2);

  it('is reproducible, the same for every nJobs > 1, and nJobs = 1 is the single-threaded (Annoy-identical) build', () => {
    expect(Buffer.from(build('euclidean', rows, 8, 2).toBuffer()).equals(Buffer.from(two.toBuffer()))).toBe(true);
    expect(Buffer.from(build('euclidean', rows, 8, 3).toBuffer()).equals(Buffer.from(two.toBuffer()))).toBe(true);
    expect(Buffer.from(build('euclidean', rows, 8, 8).toBuffer()).equals(Buffer.from(two.toBuffer()))).toBe(true);
    expect(Buffer.from(two.toBuffer()).equals(Buffer.from(one.toBuffer()))).toBe(false);
    expect(two.getNTrees()).toBe(8);
  });

  it('handles tiny indexes, missing ids and many trees on every metric, the same for every nJobs > 1', () => {
    const cases: [MetricName, number, number[], number][] = [
      ['angular', 6, [0], 4], ['euclidean', 5, [0, 1, 2], 7], ['manhattan', 4, [0, 3, 9], 5],
      ['dot', 8, Array.from({ length: 300 }, (_, i) => 2 * i), 300], ['hamming', 64, Array.from({ length: 500 }, (_, i) => i), 40],
    ];
    for (const [metric, f, ids, trees] of cases) {
      const files = [2, 3, 7].map((jobs) => {
        const index = new AnnoyIndex(f, metric);
        for (const id of ids) index.addItem(id, Array.from({ length: f }, (_, k) => (metric === 'hamming' ? (id >> (k % 9)) & 1 : Math.sin(id * 0.37 + k))));
        index.setSeed(3);
        index.build(trees, jobs);
        expect(index.getNTrees()).toBe(trees);
        const bytes = Buffer.from(index.toBuffer());
        // Loads (with full structural validation) and finds every item as its own nearest neighbour.
        const loaded = AnnoyIndex.fromBuffer(bytes, f, metric);
        for (const id of ids.slice(0, 20)) expect(loaded.getNnsByItem(id, 1, -1)).toHaveLength(1);
        return bytes;
      });
      expect(files[1].equals(files[0]) && files[2].equals(files[0])).toBe(true);
    }
  });

  it('gives the same file when trees do not fit the room reserved in the store', () => {
    const want = Buffer.from(build('euclidean', rows, 7, 3).toBuffer());
    for (const scale of [0, 0.02, 0.3]) {
      const index = indexWithBuildFaults(24, 'euclidean', { treeRoomScale: scale });
      rows.forEach((v, i) => index.addItem(i, v));
      index.setSeed(17);
      index.build(7, 3);
      expect(Buffer.from(index.toBuffer()).equals(want)).toBe(true);
    }
  });

  it('leaves no stale records behind: rebuilding after unbuild gives fresh-build bytes', () => {
    const index = build('euclidean', rows, 8, 2);
    index.unbuild();
    index.build(8, 1);
    expect(Buffer.from(index.toBuffer()).equals(Buffer.from(one.toBuffer()))).toBe(true);
    index.unbuild();
    index.build(8, 2);
    expect(Buffer.from(index.toBuffer()).equals(Buffer.from(two.toBuffer()))).toBe(true);
  });

  it('reports a failing builder by its own error, stops the others and leaves the index rebuildable', () => {
    const faults: [BuildFaults['fail'], RegExp][] = [
      [{ tree: 0 }, /injected failure on tree 0$/],
      [{ tree: 5 }, /injected failure on tree 5$/],
      ['workers', /build worker \d failed: injected failure in a worker$/],
    ];
    for (const [fail, message] of faults) {
      const index = indexWithBuildFaults(24, 'euclidean', { fail });
      rows.forEach((v, i) => index.addItem(i, v));
      index.setSeed(17);
      expect(() => index.build(8, 3)).toThrow(message);
      expect(() => index.getNnsByItem(0, 3)).toThrow(AnnoyStateError);
      index.build(8, 1);
      expect(Buffer.from(index.toBuffer()).equals(Buffer.from(one.toBuffer()))).toBe(true);
    }
  });

  it('a throwing progress listener stops the workers; the index stays clean', () => {
    const index = new AnnoyIndex(24, 'euclidean');
    rows.forEach((v, i) => index.addItem(i, v));
    index.setSeed(17);
    expect(() => index.build(8, 2, { onProgress: (p) => { if (p.trees >= 3) throw new Error('enough'); } })).toThrow('enough');
    index.build(8, 2);
    expect(Buffer.from(index.toBuffer()).equals(Buffer.from(two.toBuffer()))).toBe(true);
  });

  it('finds neighbours as well as the single-threaded build', () => {
    const items = new Map(rows.map((v, i) => [i, two.getItemVector(i)]));
    let r1 = 0, r2 = 0;
    for (const q of queries) {
      const truth = bruteForce('euclidean', items, q, 10).ids;
      r1 += recall(one.getNnsByVector(q, 10, 400), truth);
      r2 += recall(two.getNnsByVector(q, 10, 400), truth);
      expect(two.getNnsByVector(q, 10, Infinity)).toEqual(one.getNnsByVector(q, 10, Infinity));
    }
    expect(r2 / queries.length).toBeGreaterThan(r1 / queries.length - 0.05);
  });

  it.skipIf(skipWithout(annoyRefPath() !== null, `reference driver: ${annoyRefUnavailableReason()}`))(
    'writes a file real Annoy loads: every tree reaches every item once, and Annoy answers as we do',
    () => {
      for (const metric of ['angular', 'dot', 'hamming'] as MetricName[]) {
        const f = metric === 'hamming' ? 80 : 24;
        const input = metric === 'hamming' ? data(f, 3000, 3).map((v) => v.map((x) => (x > 0 ? 1 : 0))) : data(f, 3000, 3);
        const index = build(metric, input, 7, 2);
        const path = join(dir, `${metric}.ann`);
        index.save(path);
        const info = refInfo(metric, f, path);
        expect(info.problem).toBeNull();
        expect(info.trees_ok).toBe(true);
        expect(info.n_trees).toBe(7);
        const qs = new Float32Array(input.slice(0, 10).flat());
        refQuery(metric, f, path, qs, 10, -1).forEach((want, r) => {
          expect(index.getNnsByVector(qs.subarray(r * f, (r + 1) * f), 10, -1)).toEqual(want.ids);
        });
      }
    },
  );
});

describe('batch queries', () => {
  const rows = data(16, 3000, 7);
  const index = build('angular', rows, 6, 1);
  const queries = data(16, 50, 11);
  const oneByOne = queries.map((q) => index.getNnsByVector(q, 8, 300, true));

  it('getNnsByVectors (arrays or a matrix) and getNnsByItems equal one-by-one queries, in order', () => {
    expect(index.getNnsByVectors(queries, 8, 300, true)).toEqual(oneByOne);
    expect(index.getNnsByVectors(new Float32Array(queries.flat()), 8, 300, true)).toEqual(
      queries.map((q) => index.getNnsByVector(Float32Array.from(q), 8, 300, true)),
    );
    expect(index.getNnsByItems([5, 9, 2], 4)).toEqual([5, 9, 2].map((i) => index.getNnsByItem(i, 4)));
  });

  it('a bad query fails the batch with an error naming its position', () => {
    expect(() => index.getNnsByVectors([queries[0], queries[1], [1, 2]], 3)).toThrow(/^query 2: query vector has the wrong length/);
    expect(() => index.getNnsByVectors(new Float32Array(17), 3)).toThrow(/whole rows of 16 values/);
    expect(() => index.getNnsByItems([0, -4], 3)).toThrow(AnnoyArgumentError);
    expect(() => index.getNnsByItems([0, -4], 3)).toThrow(/^query 1: item id must not be negative/);
  });

  describe.skipIf(skipWithout(shared, 'shared WebAssembly memory'))('on the worker pool', () => {
    afterAll(() => index.close());

    it('gives the same answers as the calling thread, in input order', async () => {
      expect(await index.getNnsByVectorsAsync(queries, 8, 300, true)).toEqual(oneByOne);
      expect(await index.getNnsByItemsAsync(Int32Array.from({ length: 300 }, (_, i) => i * 7), 5)).toEqual(
        Array.from({ length: 300 }, (_, i) => index.getNnsByItem(i * 7, 5)),
      );
      expect(await index.getNnsByVectorsAsync([], 3)).toEqual([]);
    });

    it('rejects with the failing query\'s position and keeps working', async () => {
      await expect(index.getNnsByItemsAsync([1, 2, 3, 3000, 4], 3)).rejects.toThrow(/query 3: item 3000 does not exist/);
      await expect(index.getNnsByVectorsAsync([queries[0], [NaN, ...queries[0].slice(1)]], 3)).rejects.toThrow(/query 1: query vector\[0\] is NaN/);
      await expect(index.getNnsByVectorsAsync(queries, -1)).rejects.toThrow(/n \(the number of neighbours\)/);
      expect(await index.getNnsByItemsAsync([1], 3)).toEqual([index.getNnsByItem(1, 3)]);
    });

    it('survives a worker crash: the call rejects, the worker is replaced', async () => {
      await expect(crashPoolWorker(index)).rejects.toThrow(/query worker stopped/);
      expect(await index.getNnsByVectorsAsync(queries, 8, 300, true)).toEqual(oneByOne);
    });

    it('does not keep the process alive when idle (no close() needed)', () => {
      const script = join(dir, 'idle.mts');
      writeFileSync(script, `
        import { AnnoyIndex } from ${JSON.stringify(new URL('../../packages/annoy-ts/src/node/index.ts', import.meta.url).pathname)};
        const index = new AnnoyIndex(4, 'euclidean');
        for (let i = 0; i < 100; i++) index.addItem(i, [i, i % 7, i % 3, 1]);
        index.build(3);
        const r = await index.getNnsByItemsAsync([1, 2, 3], 2);
        console.log(JSON.stringify(r));
      `);
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(out)).toHaveLength(3);
    });
  });
});
