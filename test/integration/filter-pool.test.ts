// Filtered and radius queries on the worker pool (getNnsByVectorsAsync / getNnsByItemsAsync): the
// workers get the allowed set as bits (a predicate is asked on the calling thread first) and answer
// exactly as the calling thread does.
import { afterAll, describe, expect, it } from 'vitest';
import { AllowedIds, AnnoyArgumentError, AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

const f = 16;
const rng = new Rng(1616);
const index = new AnnoyIndex(f, 'angular');
for (let i = 0; i < 4000; i++) {
  if (i % 11 === 4) continue; // holes
  index.addItem(i, Array.from({ length: f }, () => rng.nextGaussian()));
}
index.setSeed(16);
index.build(8, 2);
const queries = Array.from({ length: 40 }, () => Array.from({ length: f }, () => rng.nextGaussian()));
const allowed = [...Array(index.getNItems()).keys()].filter((i) => i % 11 !== 4 && rng.nextFloat() < 0.07);
const set = new Set(allowed);
afterAll(() => index.close());

describe('filtered queries on the worker pool', () => {
  it('answer as the calling thread does: ids, AllowedIds, predicates, radius', async () => {
    const radius = index.getNnsByVector(queries[0], 30, { searchK: Infinity, includeDistances: true }).distances[29];
    const cases = [
      { filter: set, searchK: 500 },
      { filter: AllowedIds.from(allowed, index.getNItems()), includeDistances: true as const },
      { filter: (id: number) => set.has(id), searchK: 2000 },
      { filter: Int32Array.from(allowed), searchK: Infinity, includeDistances: true as const },
      { maxDistance: radius, includeDistances: true as const },
    ];
    for (const options of cases) {
      const n = 'maxDistance' in options ? Infinity : 10;
      expect(await index.getNnsByVectorsAsync(queries, n, options)).toEqual(index.getNnsByVectors(queries, n, options));
      const ids = allowed.slice(0, 25);
      expect(await index.getNnsByItemsAsync(ids, n, options)).toEqual(index.getNnsByItems(ids, n, options));
    }
  });

  it('pass errors on, naming the query, and stay usable', async () => {
    await expect(index.getNnsByVectorsAsync(queries, 5, { filter: [1, 4000.5] })).rejects.toThrow(/filter ids must be integers, got 4000.5 \(at position 1\)/);
    await expect(index.getNnsByVectorsAsync(queries, 5, { filter: () => { throw new Error('boom'); } }))
      .rejects.toThrow(/the filter function threw for item 0: boom/);
    await expect(index.getNnsByItemsAsync([0, 99999], 5, { filter: set })).rejects.toThrow(AnnoyArgumentError);
    await expect(index.getNnsByItemsAsync([0, 99999], 5, { filter: set })).rejects.toThrow(/^query 1: item 99999 does not exist/);
    await expect(index.getNnsByVectorsAsync(queries, 5, { maxDistance: -2 })).rejects.toThrow(/must not be negative/);
    expect(await index.getNnsByVectorsAsync(queries, 10, { filter: set })).toEqual(index.getNnsByVectors(queries, 10, { filter: set }));
    expect(await index.getNnsByVectorsAsync([], 10, { filter: () => true })).toEqual([]);
  });
});
