// Cross-checks with real Annoy compiled from Debian's r-cran-rcppannoy header (all five metrics),
// through our reference driver (tools/annoy-ref): files written here load in Annoy, every tree
// reaches every item exactly once, stored vectors are exact, and Annoy's answers equal ours.
// Built from the same data and seed, our file is byte-identical to Annoy's own.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { annoyRefPath, annoyRefUnavailableReason, refBuild, refDistance, refInfo, refItems, refQuery, refVectors } from '../helpers/annoy-ref.ts';
import { skipWithout } from '../helpers/requirements.ts';

const available = annoyRefPath() !== null;
const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case { metric: MetricName; f: number; n: number; trees: number; seed: number; holeEvery: number }
const CASES: Case[] = [
  { metric: 'angular', f: 40, n: 2000, trees: 8, seed: 5, holeEvery: 0 },
  { metric: 'angular', f: 16, n: 12, trees: 6, seed: 1, holeEvery: 4 },
  { metric: 'euclidean', f: 10, n: 1500, trees: -1, seed: 9, holeEvery: 3 },
  { metric: 'manhattan', f: 24, n: 1200, trees: 7, seed: -3, holeEvery: 0 },
  { metric: 'dot', f: 32, n: 1800, trees: 9, seed: 77, holeEvery: 5 },
  { metric: 'hamming', f: 150, n: 1000, trees: 6, seed: 13, holeEvery: 0 },
  { metric: 'hamming', f: 64, n: 700, trees: 5, seed: 2, holeEvery: 7 },
];

function rows(c: Case): { ids: number[]; vectors: Float32Array } {
  const rng = new Rng(c.seed);
  const r = () => rng.nextFloat();
  const ids: number[] = [];
  for (let id = 0; ids.length < c.n; id++) if (!c.holeEvery || id % c.holeEvery !== 1) ids.push(id);
  const vectors = new Float32Array(c.n * c.f);
  for (let i = 0; i < c.n; i++) {
    const cluster = i % 13;
    for (let k = 0; k < c.f; k++) {
      const x = Math.sin(cluster * (k + 1)) + (r() - 0.5) * (c.metric === 'dot' ? 1 + (i % 5) : 1);
      vectors[i * c.f + k] = c.metric === 'hamming' ? (x > 0 ? 1 : 0) : x;
    }
  }
  return { ids, vectors };
}

describe.skipIf(skipWithout(available, `reference driver: ${annoyRefUnavailableReason()}`))(`real Annoy (reference driver) ${available ? '' : annoyRefUnavailableReason()}`, () => {
  for (const c of CASES) {
    const name = `${c.metric} f=${c.f} n=${c.n} trees=${c.trees}${c.holeEvery ? ' with holes' : ''}`;
    it(name, () => {
      const { ids, vectors } = rows(c);
      const ours = new AnnoyIndex(c.f, c.metric);
      ids.forEach((id, r) => ours.addItem(id, vectors.subarray(r * c.f, (r + 1) * c.f)));
      ours.setSeed(c.seed);
      ours.build(c.trees, 1);
      const path = join(dir, `${c.metric}-${c.f}-${c.n}.ann`);
      ours.save(path);

      const info = refInfo(c.metric, c.f, path);
      expect(info.problem).toBeNull();
      expect(info.trees_ok).toBe(true);
      expect(info.n_items).toBe(ours.getNItems());
      expect(info.n_trees).toBe(ours.getNTrees());
      expect(info.items_present).toBe(c.n);

      const stored = refVectors(c.metric, c.f, path);
      for (let id = 0; id < ours.getNItems(); id++) {
        expect(Array.from(stored.rows.subarray(id * c.f, (id + 1) * c.f))).toEqual(ours.getItemVector(id));
      }

      const queries = vectors.slice(0, 15 * c.f).map((x, k) => (c.metric === 'hamming' ? ((k * 7) % 5 === 0 ? 1 - x : x) : x + Math.sin(k)));
      for (const searchK of [-1, 37, 100000000]) {
        const theirs = refQuery(c.metric, c.f, path, queries, 10, searchK);
        theirs.forEach((want, r) => {
          const got = ours.getNnsByVector(queries.subarray(r * c.f, (r + 1) * c.f), 10, searchK === 100000000 ? Infinity : searchK, true);
          expect(got.ids).toEqual(want.ids);
          expect(got.distances.map(Math.fround)).toEqual(want.distances.map(Math.fround));
        });
        const byItem = refItems(c.metric, c.f, path, 10, searchK, 0, 10);
        byItem.forEach((want, r) => {
          const got = ours.getNnsByItem(r, 10, searchK === 100000000 ? Infinity : searchK, true);
          expect(got.ids).toEqual(want.ids);
          expect(got.distances.map(Math.fround)).toEqual(want.distances.map(Math.fround));
        });
      }
      const pairs = ids.slice(0, 20).map((id, r) => [id, ids[(r * 37) % ids.length]] as const);
      expect(refDistance(c.metric, c.f, path, pairs).map(Math.fround)).toEqual(pairs.map(([i, j]) => Math.fround(ours.getDistance(i, j))));

      // Annoy's own build of the same data and seed: the same bytes (hamming split padding aside).
      const theirsPath = join(dir, `ref-${c.metric}-${c.f}-${c.n}.ann`);
      refBuild(c.metric, c.f, vectors, c.trees, c.seed, theirsPath, ids);
      const a = Buffer.from(ours.toBuffer()), b = readFileSync(theirsPath);
      expect(a.length).toBe(b.length);
      if (c.metric !== 'hamming') expect(a.equals(b)).toBe(true);
      else {
        const s = 16 + 8 * Math.ceil(c.f / 64);
        for (let rec = 0; rec < a.length / s; rec++) {
          const nd = b.readInt32LE(rec * s);
          const isSplit = rec >= ours.getNItems() && nd > (s - 4) / 4;
          const len = isSplit ? 12 : s;
          expect(a.subarray(rec * s, rec * s + len).equals(b.subarray(rec * s, rec * s + len)), `record ${rec}`).toBe(true);
          if (isSplit) expect(a.readUInt32LE(rec * s + 16)).toBe(b.readUInt32LE(rec * s + 16));
        }
      }
    });
  }
});
