// Every shard of a sharded index is a plain Annoy file: real Annoy (the reference driver, all five
// metrics; the npm C++ binding for the three it has) loads each one, finds every tree intact and
// every item present, reads the same vectors, and answers each shard's queries as annoy-ts does —
// so merging real Annoy's per-shard answers gives the sharded index's answer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeNearest, ShardedIndex, ShardedIndexBuilder, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { loadGlove } from '../../datasets/glove.ts';
import { annoyBinding, bindingUnavailable, type BindingMetric } from '../helpers/annoy-binding.ts';
import { annoyRefPath, annoyRefUnavailableReason, refInfo, refQuery, refVectors } from '../helpers/annoy-ref.ts';
import { skipWithout } from '../helpers/requirements.ts';

const F = 64, N = 2400, QUERIES = 10;
const available = annoyRefPath() !== null;
const binding = annoyBinding();
let work: string;
let vectors: Float32Array;

beforeAll(async () => {
  const glove = await loadGlove({ quiet: true });
  vectors = new Float32Array((N + QUERIES) * F);
  for (let r = 0; r < N + QUERIES; r++) vectors.set(glove.vectors.subarray(r * 131 * 100, r * 131 * 100 + F), r * F);
  work = mkdtempSync(join(tmpdir(), 'annoy-ts-shards-ref-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const row = (metric: MetricName, r: number): Float32Array => {
  const v = vectors.subarray(r * F, (r + 1) * F);
  return metric === 'hamming' ? v.map((x) => (x > 0 ? 1 : 0)) : v;
};

/** A sharded index of N GloVe rows under scattered ids (some shards with id files, some runs). */
function build(metric: MetricName): { dir: string; index: ShardedIndex; ids: number[] } {
  const dir = join(work, metric);
  const ids = Array.from({ length: N }, (_, r) => (r < N / 2 ? r : N + 7 * r));
  const builder = new ShardedIndexBuilder(dir, F, metric, { nTrees: 6, maxShardBytes: metric === 'hamming' ? 12_000 : 150_000, seed: 11 });
  ids.forEach((id, r) => builder.addItem(id, row(metric, r)));
  builder.finish();
  return { dir, index: ShardedIndex.open(dir), ids };
}

const queries = (metric: MetricName) => {
  const out = new Float32Array(QUERIES * F);
  for (let q = 0; q < QUERIES; q++) out.set(row(metric, N + q), q * F);
  return out;
};

describe.skipIf(skipWithout(available, `reference driver: ${annoyRefUnavailableReason()}`))(`each shard in real Annoy (reference driver) ${available ? '' : annoyRefUnavailableReason()}`, () => {
  for (const metric of ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'] as MetricName[]) {
    it(`${metric}: every shard loads intact, holds the same vectors and gives the same answers; merged they are the sharded answer`, () => {
      const { dir, index } = build(metric);
      const { manifest } = index;
      expect(manifest.shards.length).toBeGreaterThanOrEqual(4);
      expect(manifest.shards.some((s) => 'file' in s.ids) && manifest.shards.some((s) => 'first' in s.ids)).toBe(true);
      const q = queries(metric);
      const perShard = manifest.shards.map((entry, k) => {
        const path = join(dir, entry.file);
        const shard = index.shard(k)!;
        const info = refInfo(metric, F, path);
        expect(info.problem).toBeNull();
        expect(info.trees_ok).toBe(true);
        expect(info.n_items).toBe(entry.nItems);
        expect(info.items_present).toBe(entry.nItems);
        expect(info.n_trees).toBe(shard.getNTrees());
        const stored = refVectors(metric, F, path);
        for (let local = 0; local < entry.nItems; local += 37) {
          expect(Array.from(stored.rows.subarray(local * F, (local + 1) * F))).toEqual(shard.getItemVector(local));
        }
        const answers = refQuery(metric, F, path, q, 10, -1);
        answers.forEach((a, r) => expect(a.ids).toEqual(shard.getNnsByVector(q.subarray(r * F, (r + 1) * F), 10)));
        return answers;
      });
      // Local → global ids read straight from the manifest and the id files.
      const global = globalIds(index);
      for (let r = 0; r < QUERIES; r++) {
        const merged = mergeNearest(perShard.map((answers, k) => ({ ids: answers[r].ids.map((l) => global(k, l)), distances: answers[r].distances })), 10, metric === 'dot');
        const ours = index.getNnsByVector(q.subarray(r * F, (r + 1) * F), 10, -1, true);
        expect(merged.ids).toEqual(ours.ids);
        merged.distances.forEach((d, j) => expect(d).toBeCloseTo(ours.distances[j], 5));
      }
    });
  }
});

describe.skipIf(skipWithout(!!binding, bindingUnavailable))(`each shard in the C++ binding (npm annoy) ${bindingUnavailable}`, () => {
  for (const metric of ['angular', 'euclidean', 'manhattan'] as BindingMetric[]) {
    it(`${metric}: the binding loads every shard and answers as the shard does`, () => {
      const { dir, index } = build(metric);
      const q = queries(metric);
      index.manifest.shards.forEach((entry, k) => {
        const annoy = binding!(F, metric);
        expect(annoy.load(join(dir, entry.file))).toBe(true);
        expect(annoy.getNItems()).toBe(entry.nItems);
        for (let r = 0; r < QUERIES; r++) {
          const v = q.subarray(r * F, (r + 1) * F);
          expect(annoy.getNNsByVector(Array.from(v), 10, -1, false)).toEqual(index.shard(k)!.getNnsByVector(v, 10));
        }
        annoy.unload();
      });
    });
  }
});

/** Local → global ids of every shard, from the manifest's runs and the raw id files (int32, little-endian). */
function globalIds(index: ShardedIndex): (k: number, local: number) => number {
  const lists = index.manifest.shards.map((entry) => {
    if ('first' in entry.ids) return null;
    const bytes = readFileSync(join(index.dir, entry.ids.file));
    return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readInt32LE(4 * i));
  });
  return (k, local) => lists[k]?.[local] ?? (index.manifest.shards[k].ids as { first: number }).first + local;
}
