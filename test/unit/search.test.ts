// Search semantics on seeded random data with holes, for every metric: exhaustive search equals
// brute force, results are well-formed, and every route to the same bytes gives the same answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { bruteForce, exactDistance, recall } from '../helpers/exact.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case { metric: MetricName; f: number; n: number; holes: boolean }
const CASES: Case[] = [
  { metric: 'angular', f: 12, n: 700, holes: true },
  { metric: 'euclidean', f: 5, n: 900, holes: false },
  { metric: 'euclidean', f: 1, n: 300, holes: true },
  { metric: 'manhattan', f: 20, n: 600, holes: true },
  { metric: 'dot', f: 16, n: 800, holes: true },
  { metric: 'hamming', f: 100, n: 500, holes: true },
  { metric: 'hamming', f: 7, n: 200, holes: false },
];

function makeData(c: Case, seed: number) {
  const rng = new Rng(seed);
  const r = () => rng.nextFloat();
  const items = new Map<number, number[]>();
  let id = 0;
  for (let k = 0; k < c.n; k++) {
    id += c.holes ? 1 + Math.floor(r() * 3) : 1;
    const scale = c.metric === 'dot' ? 0.25 + 2 * r() : 1;
    // Clustered data: real embeddings are not uniform, and clusters make ties and near-ties common.
    const centre = Math.floor(r() * 8);
    items.set(id, Array.from({ length: c.f }, (_, k2) =>
      c.metric === 'hamming' ? (r() < (centre / 8 + (k2 % 3) * 0.1) ? 1 : 0) : scale * (rng.nextGaussian() + Math.sin(centre * (k2 + 1)))));
  }
  const queries = Array.from({ length: 25 }, () => Array.from({ length: c.f }, () => (c.metric === 'hamming' ? (r() < 0.5 ? 1 : 0) : rng.nextGaussian())));
  return { items, queries };
}

/** Stored values are float32: compare against brute force over what the index stored. */
function stored(index: AnnoyIndex, items: Map<number, number[]>): Map<number, number[]> {
  return new Map([...items.keys()].map((id) => [id, index.getItemVector(id)]));
}

for (const c of CASES) {
  describe(`${c.metric} f=${c.f}${c.holes ? ' with holes' : ''}`, () => {
    const { items, queries } = makeData(c, c.f * 31 + c.n);
    const index = new AnnoyIndex(c.f, c.metric);
    for (const [id, v] of items) index.addItem(id, v);
    index.setSeed(c.n);
    index.build(8);
    const truthItems = stored(index, items);
    const tol = (d: number) => 1e-5 * Math.max(1, Math.abs(d));

    it('exhaustive search equals brute force (up to float32 near-ties)', () => {
      for (const q of queries) {
        const got = index.getNnsByVector(q, 10, Infinity, true);
        const want = bruteForce(c.metric, truthItems, q, 10);
        expect(got.ids).toHaveLength(10);
        for (let r = 0; r < 10; r++) {
          expect(Math.abs(got.distances[r] - want.distances[r])).toBeLessThanOrEqual(tol(want.distances[r]));
          // The id we return really is at the distance we report.
          const d = exactDistance(c.metric, q, truthItems.get(got.ids[r])!);
          expect(Math.abs(got.distances[r] - d)).toBeLessThanOrEqual(tol(d));
        }
      }
    });

    it('results are sorted, unique, existing ids (never holes), at most n', () => {
      for (const n of [1, 3, 50]) {
        for (const q of queries.slice(0, 5)) {
          const { ids, distances } = index.getNnsByVector(q, n, -1, true);
          expect(ids.length).toBeLessThanOrEqual(n);
          expect(new Set(ids).size).toBe(ids.length);
          for (const id of ids) expect(items.has(id)).toBe(true);
          const order = c.metric === 'dot' ? [...distances].sort((a, b) => b - a) : [...distances].sort((a, b) => a - b);
          expect(distances).toEqual(order);
        }
      }
    });

    it('getDistance agrees with the distances queries report', () => {
      for (const id of [...items.keys()].slice(0, 20)) {
        const { ids, distances } = index.getNnsByItem(id, 5, -1, true);
        ids.forEach((j, r) => expect(index.getDistance(id, j)).toBe(distances[r]));
      }
    });

    it('recall grows with searchK and reaches 1 when every tree is searched', () => {
      const ks = [10, 100, 1000, Infinity];
      const means = ks.map((k) => {
        let sum = 0;
        for (const q of queries) sum += recall(index.getNnsByVector(q, 10, k), bruteForce(c.metric, truthItems, q, 10).ids);
        return sum / queries.length;
      });
      for (let i = 1; i < means.length; i++) expect(means[i]).toBeGreaterThanOrEqual(means[i - 1] - 0.02);
      expect(means[means.length - 1]).toBeGreaterThanOrEqual(0.98);
    });

    it('toBuffer → fromBuffer and save → load give the same answers and the same bytes', () => {
      const bytes = index.toBuffer();
      const fromBytes = AnnoyIndex.fromBuffer(bytes.slice(), c.f, c.metric);
      const path = join(dir, `${c.metric}-${c.f}.ann`);
      const copy = new AnnoyIndex(c.f, c.metric);
      for (const [id, v] of items) copy.addItem(id, v);
      copy.setSeed(c.n);
      copy.build(8);
      copy.save(path);
      const loaded = new AnnoyIndex(c.f, c.metric);
      loaded.load(path);
      expect(Buffer.from(loaded.toBuffer()).equals(Buffer.from(bytes))).toBe(true);
      for (const other of [fromBytes, loaded, copy]) {
        expect(other.getNItems()).toBe(index.getNItems());
        for (const q of queries.slice(0, 8)) {
          expect(other.getNnsByVector(q, 10, -1, true)).toEqual(index.getNnsByVector(q, 10, -1, true));
        }
        const first = items.keys().next().value!;
        expect(other.getNnsByItem(first, 10, -1, true)).toEqual(index.getNnsByItem(first, 10, -1, true));
      }
    });
  });
}
