// Filtered search against exact filtered search, for every metric, on seeded clustered data with
// holes: ids (Set, array, typed array, AllowedIds) and predicates, filters allowing everything,
// nothing, a few items or one; the walk and the exact scan; both kernels; bad filters.
import { afterEach, describe, expect, it } from 'vitest';
import { AllowedIds, AnnoyArgumentError, AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { setKernels } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { filterTuning } from '../../packages/annoy-ts/src/search/search.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { bruteForce, exactDistance } from '../helpers/exact.ts';

interface Case { metric: MetricName; f: number; n: number }
const CASES: Case[] = [
  { metric: 'angular', f: 12, n: 1500 },
  { metric: 'euclidean', f: 6, n: 1800 },
  { metric: 'manhattan', f: 16, n: 1200 },
  { metric: 'dot', f: 10, n: 1500 },
  { metric: 'hamming', f: 96, n: 1200 },
];

/** Clustered items with holes (ids skip by 1–3), and queries; the seed makes every run the same. */
function makeData(c: Case, seed: number) {
  const rng = new Rng(seed);
  const items = new Map<number, number[]>();
  let id = 0;
  for (let k = 0; k < c.n; k++) {
    id += 1 + rng.nextInt(3);
    const centre = rng.nextInt(12);
    const scale = c.metric === 'dot' ? 0.25 + 2 * rng.nextFloat() : 1;
    items.set(id, Array.from({ length: c.f }, (_, d) => c.metric === 'hamming'
      ? (rng.nextFloat() < (centre / 12 + (d % 4) * 0.08) ? 1 : 0)
      : scale * (0.6 * rng.nextGaussian() + 2 * Math.sin(centre * (d + 1)))));
  }
  const queries = Array.from({ length: 12 }, () => Array.from({ length: c.f }, () =>
    c.metric === 'hamming' ? (rng.nextFloat() < 0.5 ? 1 : 0) : 2 * rng.nextGaussian()));
  return { items, queries, rng };
}

function build(c: Case, items: Map<number, number[]>, kernels: 'auto' | 'js' = 'auto'): AnnoyIndex {
  setKernels(kernels);
  try {
    const index = new AnnoyIndex(c.f, c.metric);
    for (const [id, v] of items) index.addItem(id, v);
    index.setSeed(7);
    index.build(6);
    return index;
  } finally {
    setKernels('auto');
  }
}

/** Float32 storage and fast kernels: distances agree with double-precision brute force to this. */
const tol = (d: number) => 1e-4 * Math.max(1, Math.abs(d));

/** `got` is the exact filtered answer: min(n, allowed) items, all allowed, at the true distances in order. */
function expectExact(metric: MetricName, got: { ids: number[]; distances: number[] }, allowedItems: Map<number, number[]>, q: number[], n: number) {
  const want = bruteForce(metric, allowedItems, q, n);
  expect(got.ids).toHaveLength(want.ids.length);
  for (let r = 0; r < want.ids.length; r++) {
    expect(allowedItems.has(got.ids[r])).toBe(true);
    expect(Math.abs(got.distances[r] - want.distances[r])).toBeLessThanOrEqual(tol(want.distances[r]));
    expect(Math.abs(exactDistance(metric, q, allowedItems.get(got.ids[r])!) - got.distances[r])).toBeLessThanOrEqual(tol(got.distances[r]));
  }
}

afterEach(() => {
  filterTuning.visitsPerDistance = null;
});

for (const c of CASES) {
  describe(`${c.metric}: filtered search`, () => {
    const { items, queries, rng } = makeData(c, c.f * 101 + c.n);
    const index = build(c, items);
    const stored = new Map([...items.keys()].map((id) => [id, index.getItemVector(id)]));
    const ids = [...items.keys()];
    const pick = (share: number) => ids.filter(() => rng.nextFloat() < share);
    const only = (allowed: readonly number[]) => new Map(allowed.map((id) => [id, stored.get(id)!]));

    it('searchK Infinity gives the exact filtered answer for ids and predicates, at every selectivity', () => {
      for (const share of [1, 0.3, 0.05, 0.01]) {
        const allowed = pick(share);
        const set = new Set(allowed);
        for (const q of queries.slice(0, 4)) {
          for (const filter of [set, allowed, Int32Array.from(allowed), AllowedIds.from(allowed, index.getNItems()), (id: number) => set.has(id)]) {
            expectExact(c.metric, index.getNnsByVector(q, 10, { searchK: Infinity, filter, includeDistances: true }), only(allowed), q, 10);
          }
        }
      }
    });

    it('the filtered walk, forced, finds allowed items only and reaches the exact answer as searchK grows', () => {
      filterTuning.visitsPerDistance = 1e12; // never the scan: the walk alone
      const allowed = pick(0.2);
      const set = new Set(allowed);
      let hits = 0, total = 0;
      for (const q of queries) {
        const want = bruteForce(c.metric, only(allowed), q, 10).ids;
        for (const filter of [set, (id: number) => set.has(id)]) {
          const got = index.getNnsByVector(q, 10, { searchK: 4000, filter });
          expect(got).toHaveLength(10);
          for (const id of got) expect(set.has(id)).toBe(true);
          hits += got.filter((id) => want.includes(id)).length;
          total += 10;
        }
      }
      expect(hits / total).toBeGreaterThanOrEqual(0.9);
    });

    it('the exact scan, forced, is the exact answer at any searchK', () => {
      filterTuning.visitsPerDistance = 0;
      const allowed = pick(0.4);
      for (const q of queries.slice(0, 6)) {
        expectExact(c.metric, index.getNnsByVector(q, 7, { searchK: 10, filter: allowed, includeDistances: true }), only(allowed), q, 7);
      }
    });

    it('never returns fewer than min(n, allowed) items, whatever searchK', () => {
      for (const share of [0.5, 0.1, 0.02]) {
        const allowed = pick(share);
        const set = new Set(allowed);
        for (const searchK of [-1, 1, 10, 100]) {
          for (const n of [1, 10, 40]) {
            for (const filter of [set, (id: number) => set.has(id)]) {
              const got = index.getNnsByVector(queries[0], n, { searchK, filter });
              expect(got).toHaveLength(Math.min(n, allowed.length));
              expect(new Set(got).size).toBe(got.length);
              for (const id of got) expect(set.has(id)).toBe(true);
            }
          }
        }
      }
    });

    it('a filter allowing every id gives exactly the unfiltered answer', () => {
      const every = Array.from({ length: index.getNItems() }, (_, i) => i);
      for (const q of queries) {
        for (const searchK of [-1, 50, 500]) {
          expect(index.getNnsByVector(q, 10, { searchK, filter: every, includeDistances: true })).toEqual(index.getNnsByVector(q, 10, searchK, true));
        }
      }
    });

    it('empty, one-item and tiny filters', () => {
      const q = queries[1];
      for (const empty of [new Set<number>(), [], new Uint32Array(0), () => false]) {
        expect(index.getNnsByVector(q, 10, { filter: empty })).toEqual([]);
        expect(index.getNnsByVector(q, 10, { filter: empty, includeDistances: true })).toEqual({ ids: [], distances: [] });
      }
      const one = ids[17];
      expect(index.getNnsByVector(q, 10, { filter: [one] })).toEqual([one]);
      expect(index.getNnsByItem(one, 3, { filter: new Set([one]) })).toEqual([one]);
      const three = [ids[3], ids[300], ids[900]];
      expectExact(c.metric, index.getNnsByVector(q, 10, { filter: three, includeDistances: true }), only(three), q, 10);
      // A hole in the list of ids is allowed but never returned (it is no item).
      const hole = [...Array(index.getNItems()).keys()].find((i) => !items.has(i))!;
      expect(index.getNnsByVector(q, 10, { filter: [hole, one] })).toEqual([one]);
      expect(index.getNnsByVector(q, 10, { filter: [hole] })).toEqual([]);
    });

    it('getNnsByItem and the batch forms take the same options', () => {
      const allowed = pick(0.1);
      const set = new Set(allowed);
      const first = ids[0];
      const single = index.getNnsByItem(first, 5, { filter: set, searchK: Infinity, includeDistances: true });
      expectExact(c.metric, single, only(allowed), stored.get(first)!, 5);
      expect(index.getNnsByItems([first, ids[5]], 5, { filter: set, searchK: Infinity, includeDistances: true })[0]).toEqual(single);
      const batch = index.getNnsByVectors(queries, 4, { filter: allowed, searchK: 300 });
      queries.forEach((q, k) => expect(batch[k]).toEqual(index.getNnsByVector(q, 4, { filter: allowed, searchK: 300 })));
      const matrix = Float64Array.from(queries.flat());
      expect(index.getNnsByVectors(matrix, 4, { filter: allowed, searchK: 300 })).toEqual(batch);
    });

    it('the JavaScript kernels give the same answers as WebAssembly, walking or scanning', () => {
      const js = build(c, items, 'js');
      const allowed = pick(0.15);
      const set = new Set(allowed);
      // null: the measured switch; 1e12: always the walk; 0: always the scan.
      for (const visitsPerDistance of [null, 1e12, 0]) {
        filterTuning.visitsPerDistance = visitsPerDistance;
        for (const q of queries.slice(0, 6)) {
          for (const searchK of [-1, 300, 3000, Infinity]) {
            for (const filter of [set, (id: number) => set.has(id)]) {
              const got = js.getNnsByVector(q, 10, { searchK, filter, includeDistances: true });
              expect(got.ids.every((id) => set.has(id))).toBe(true);
              expect(got).toEqual(index.getNnsByVector(q, 10, { searchK, filter, includeDistances: true }));
            }
          }
          // Radius searches, adaptive and bounded, filtered or not.
          const maxDistance = index.getNnsByVector(q, 40, { searchK: Infinity, includeDistances: true }).distances[39];
          for (const options of [{ maxDistance }, { maxDistance, searchK: 500 }, { maxDistance, filter: set }]) {
            expect(js.getNnsByVector(q, Infinity, { ...options, includeDistances: true }))
              .toEqual(index.getNnsByVector(q, Infinity, { ...options, includeDistances: true }));
          }
        }
      }
    });

    it('a predicate is asked only about items, at most once per item and query', () => {
      const asked = new Map<number, number>();
      const got = index.getNnsByVector(queries[2], 10, { filter: (id) => { asked.set(id, (asked.get(id) ?? 0) + 1); return id % 3 === 0; } });
      expect(got.every((id) => id % 3 === 0)).toBe(true);
      for (const [id, times] of asked) {
        expect(items.has(id)).toBe(true);
        expect(times).toBe(1);
      }
    });
  });
}

describe('bad filters', () => {
  const c = CASES[1];
  const { items, queries } = makeData(c, 5);
  const index = build(c, items);
  const q = queries[0];
  const nItems = index.getNItems();

  it('are refused with AnnoyArgumentError naming the problem', () => {
    const cases: [unknown, RegExp][] = [
      [3, /filter must be a function .* got 3/],
      ['1,2', /filter must be a function .* got "1,2"/],
      [{ ids: [1] }, /filter must be a function .* got a Object/],
      [null, /filter must be a function .* got null/],
      [[1, 2.5], /filter ids must be integers, got 2.5 \(at position 1\)/],
      [[1, '2'], /filter ids must be integers, got "2" \(at position 1\)/],
      [[1, NaN], /filter ids must be integers, got NaN/],
      [[-1], /filter id -1 \(at position 0\) does not exist: ids run from 0 to/],
      [[nItems], new RegExp(`filter id ${nItems} \\(at position 0\\) does not exist`)],
      [new Set([0, nItems + 5]), new RegExp(`filter id ${nItems + 5} does not exist`)],
      [new Float64Array([0.5]), /filter ids must be integers, got 0.5/],
      [new BigInt64Array(1), /filter must be a function/],
      [AllowedIds.from([nItems + 3], nItems + 10), new RegExp(`filter id ${nItems + 3} does not exist`)],
    ];
    for (const [filter, message] of cases) {
      expect(() => index.getNnsByVector(q, 5, { filter: filter as never })).toThrow(AnnoyArgumentError);
      expect(() => index.getNnsByVector(q, 5, { filter: filter as never })).toThrow(message);
    }
  });

  it('a predicate that throws or answers something else: the error reaches the caller, the index stays usable', () => {
    const boom = new Error('no such label');
    const throwing = (id: number) => { if (id > 40) throw boom; return true; };
    let caught: unknown;
    try {
      index.getNnsByVector(q, 5, { filter: throwing, searchK: Infinity });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AnnoyArgumentError);
    expect((caught as Error).message).toMatch(/^the filter function threw for item \d+: no such label$/);
    expect((caught as Error).cause).toBe(boom);
    expect(() => index.getNnsByVector(q, 5, { filter: (() => 1) as never })).toThrow(/must return true or false, but returned 1 for item \d+/);
    expect(() => index.getNnsByVector(q, 5, { filter: (() => undefined) as never })).toThrow(/returned undefined/);
    // Batch forms name the query.
    expect(() => index.getNnsByVectors([q, q], 5, { filter: (id) => { if (id === -1) return false; throw boom; } }))
      .toThrow(/^query 0: the filter function threw for item \d+: no such label$/);
    // Still usable, and answers as before.
    const plain = new AnnoyIndex(c.f, c.metric);
    for (const [id, v] of items) plain.addItem(id, v);
    plain.setSeed(7);
    plain.build(6);
    expect(index.getNnsByVector(q, 10, 300, true)).toEqual(plain.getNnsByVector(q, 10, 300, true));
    expect(index.getNnsByVector(q, 10, { filter: [1, 2, 3, 4, 5, 6] })).toHaveLength(new Set([1, 2, 3, 4, 5, 6].filter((i) => items.has(i))).size);
  });

  it('options objects are checked', () => {
    expect(() => index.getNnsByVector(q, 5, { serchK: 10 } as never)).toThrow(/unknown option "serchK"/);
    expect(() => index.getNnsByVector(q, 5, { searchK: 0 })).toThrow(/searchK must be -1/);
    expect(() => index.getNnsByVector(q, 5, { includeDistances: 1 as never })).toThrow(/includeDistances must be true or false/);
    expect(() => index.getNnsByVector(q, 5, { searchK: 10 }, true as never)).toThrow(/give includeDistances inside it/);
    expect(() => index.getNnsByVector(q, Infinity, { filter: [1] })).toThrow(/n \(the number of neighbours\) may be Infinity only with maxDistance/);
    expect(() => index.getNnsByVector(q, -1, { filter: [1] })).toThrow(AnnoyArgumentError);
    expect(() => index.getNnsByVector(q, 5, [] as never)).toThrow(/options must be an object/);
  });
});

describe('AllowedIds', () => {
  it('builds bitsets from every kind of id list, counting each id once', () => {
    for (const list of [[1, 5, 5, 64, 99], new Set([1, 5, 64, 99]), Uint16Array.from([99, 64, 5, 1]), Float32Array.from([1, 5, 64, 99])]) {
      const a = AllowedIds.from(list, 100);
      expect(a.count).toBe(4);
      expect([...Array(100).keys()].filter((i) => a.has(i))).toEqual([1, 5, 64, 99]);
      expect(a.has(-1)).toBe(false);
      expect(a.has(100)).toBe(false);
    }
    expect(AllowedIds.from([], 0).count).toBe(0);
    expect(() => AllowedIds.from([3], 3)).toThrow(/filter id 3 .* ids run from 0 to 2/);
    expect(() => AllowedIds.from([0], 0)).toThrow(/the index is empty/);
    expect(() => AllowedIds.from([0], -1)).toThrow(/non-negative integer/);
  });

  it('fromBits counts the bits below size; fromPredicate asks only about the ids it is told to', () => {
    const bits = new Uint32Array([0xffffffff, 0xffffffff]);
    expect(AllowedIds.fromBits(bits, 40).count).toBe(40);
    expect(AllowedIds.fromBits(bits, 64).count).toBe(64);
    expect(() => AllowedIds.fromBits(bits, 70)).toThrow(/must be 3 words long, got 2/);
    const asked: number[] = [];
    const a = AllowedIds.fromPredicate((id) => { asked.push(id); return id % 2 === 0; }, 40, new Uint32Array([0b1111, 1 << 3]));
    expect(asked).toEqual([0, 1, 2, 3, 35]);
    expect(a.count).toBe(2);
    expect([a.has(0), a.has(2), a.has(35)]).toEqual([true, true, false]);
  });

  it('fromBits: bits set beyond size allow nothing when the index holds more items', () => {
    const index = new AnnoyIndex(2, 'euclidean');
    for (let i = 0; i < 100; i++) index.addItem(i, [i, 0]);
    index.build(2, 1);
    // Ids 0 … 39 by the set's size; the last word's bits for 40 … 63 are set but lie beyond it.
    const allowed = AllowedIds.fromBits(new Uint32Array([0xffffffff, 0xffffffff]), 40);
    for (const searchK of [-1, 5, Infinity]) {
      expect(index.getNnsByVector([50, 0], 3, { filter: allowed, searchK })).toEqual([39, 38, 37]);
    }
  });
});
