// Cross-checks with real Annoy through the npm `annoy` binding (C++): files written here load
// there with identical vectors and answers, and files written there load here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyIndex, inferRecordLayout } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { annoyBinding, bindingUnavailable, type BindingMetric } from '../helpers/annoy-binding.ts';
import { skipWithout } from '../helpers/requirements.ts';

const binding = annoyBinding();
const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-binding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function data(f: number, n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, k) => Math.sin(i % 17 + k) + rng.nextRange(-0.5, 0.5)));
}

function sameAnswer(a: { ids: number[]; distances: number[] }, b: { ids: number[]; distances: number[] }) {
  expect(a.ids.length).toBe(b.ids.length);
  a.distances.forEach((d, r) => expect(Math.abs(d - b.distances[r])).toBeLessThanOrEqual(1e-5 * Math.max(1, d)));
  // Ids may only differ where distances tie.
  a.ids.forEach((id, r) => { if (id !== b.ids[r]) expect(a.distances[r]).toBeCloseTo(b.distances[b.ids.indexOf(id)], 5); });
}

describe.skipIf(skipWithout(!!binding, bindingUnavailable))(`C++ Annoy (npm 'annoy') ${bindingUnavailable}`, () => {
  for (const metric of ['angular', 'euclidean', 'manhattan'] as BindingMetric[]) {
    const f = 24, n = 3000;
    const rows = data(f, n, f + metric.length);
    const queries = data(f, 30, 99);

    it(`${metric}: our file loads in Annoy with the same vectors and the same answers`, () => {
      const ours = new AnnoyIndex(f, metric);
      rows.forEach((v, i) => ours.addItem(i, v));
      ours.setSeed(11);
      ours.build(12);
      const path = join(dir, `ours-${metric}.ann`);
      ours.save(path);
      const theirs = binding!(f, metric);
      expect(theirs.load(path)).toBe(true);
      expect(theirs.getNItems()).toBe(n);
      for (let i = 0; i < n; i += 97) expect(theirs.getItem(i)).toEqual(ours.getItemVector(i));
      for (const searchK of [-1, 500, 100000]) {
        for (const q of queries) {
          const t = theirs.getNNsByVector(q, 10, searchK, true);
          sameAnswer(ours.getNnsByVector(q, 10, searchK, true), { ids: t.neighbors, distances: t.distances });
        }
      }
      expect(Math.fround(theirs.getDistance(3, 700))).toBe(Math.fround(ours.getDistance(3, 700)));
      theirs.unload();
    });

    it(`${metric}: Annoy's file loads here with the same vectors and the same answers`, () => {
      const theirs = binding!(f, metric);
      rows.forEach((v, i) => theirs.addItem(i, v));
      theirs.build(12);
      const path = join(dir, `theirs-${metric}.ann`);
      expect(theirs.save(path)).toBe(true);
      const ours = new AnnoyIndex(f, metric);
      ours.load(path);
      expect(ours.getNItems()).toBe(n);
      expect(ours.getNTrees()).toBe(12);
      for (let i = 0; i < n; i += 97) expect(ours.getItemVector(i)).toEqual(theirs.getItem(i));
      for (const searchK of [-1, 500, 100000]) {
        for (const q of queries) {
          const t = theirs.getNNsByVector(q, 10, searchK, true);
          sameAnswer(ours.getNnsByVector(q, 10, searchK, true), { ids: t.neighbors, distances: t.distances });
        }
      }
      for (let i = 0; i < 20; i++) {
        const t = theirs.getNNsByItem(i, 10, -1, true);
        sameAnswer(ours.getNnsByItem(i, 10, -1, true), { ids: t.neighbors, distances: t.distances });
      }
      theirs.unload();
    });
  }
});

describe.skipIf(skipWithout(!!binding, bindingUnavailable))('files without a sidecar', () => {
  it('inferRecordLayout names f and metric of files the C++ binding wrote', () => {
    const make = binding!;
    for (const [metric, f] of [['angular', 24], ['euclidean', 7]] as const) {
      const a = make(f, metric);
      for (let i = 0; i < 400; i++) a.addItem(i, Array.from({ length: f }, (_, k) => Math.cos(i * 0.7 + k)));
      a.build(8);
      const path = join(dir, `binding-${metric}.ann`);
      a.save(path);
      const result = inferRecordLayout(new Uint8Array(readFileSync(path)));
      expect(result.candidates[0].f).toBe(f);
      expect(result.candidates[0].metric).toBe(metric);
      expect(result.confidence).toBe('high');
    }
  });
});
