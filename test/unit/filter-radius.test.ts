// Radius search (maxDistance) against exact range search, for every metric: n = Infinity (every
// item in range), n finite, with a filter; boundaries (a reported distance as the radius, 0,
// integers for hamming, negative inner products for dot); bad radii.
import { describe, expect, it } from 'vitest';
import { AnnoyArgumentError, AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { exactDistance } from '../helpers/exact.ts';

interface Case { metric: MetricName; f: number; n: number }
const CASES: Case[] = [
  { metric: 'angular', f: 10, n: 1200 },
  { metric: 'euclidean', f: 5, n: 1500 },
  { metric: 'manhattan', f: 12, n: 1000 },
  { metric: 'dot', f: 8, n: 1200 },
  { metric: 'hamming', f: 64, n: 1000 },
];

function makeIndex(c: Case, seed: number) {
  const rng = new Rng(seed);
  const items = new Map<number, number[]>();
  let id = 0;
  for (let k = 0; k < c.n; k++) {
    id += 1 + rng.nextInt(2);
    const centre = rng.nextInt(10);
    items.set(id, Array.from({ length: c.f }, (_, d) => c.metric === 'hamming'
      ? (rng.nextFloat() < centre / 10 + (d % 3) * 0.1 ? 1 : 0)
      : 0.7 * rng.nextGaussian() + 2 * Math.cos(centre * (d + 2))));
  }
  // A duplicate: maxDistance 0 must find both.
  const [firstId, firstVector] = items.entries().next().value!;
  items.set(id + 5, [...firstVector]);
  const index = new AnnoyIndex(c.f, c.metric);
  for (const [i, v] of items) index.addItem(i, v);
  index.setSeed(3);
  index.build(5);
  const stored = new Map([...items.keys()].map((i) => [i, index.getItemVector(i)]));
  const queries = Array.from({ length: 8 }, () => Array.from({ length: c.f }, () =>
    c.metric === 'hamming' ? (rng.nextFloat() < 0.5 ? 1 : 0) : 2 * rng.nextGaussian()));
  return { index, stored, queries, duplicate: [firstId, id + 5] as const };
}

/** Nearer first: distances ascending, inner products (dot) descending. */
const nearer = (metric: MetricName) => (a: number, b: number) => (metric === 'dot' ? b - a : a - b);
const within = (metric: MetricName, d: number, r: number) => (metric === 'dot' ? d >= r : d <= r);

/** Every item with its exact (double precision) distance, nearest first. */
function ranked(c: Case, stored: Map<number, number[]>, q: number[]) {
  return [...stored].map(([id, v]) => ({ id, d: exactDistance(c.metric, q, v) })).sort((x, y) => nearer(c.metric)(x.d, y.d) || x.id - y.id);
}

/** A radius halfway between the count-th and the next distinct distance: `count` or so items inside, none near the edge. */
function radiusHolding(all: { d: number }[], count: number): number {
  let j = count;
  while (j < all.length && all[j].d === all[count - 1].d) j++;
  return (all[count - 1].d + all[Math.min(j, all.length - 1)].d) / 2;
}

for (const c of CASES) {
  describe(`${c.metric}: radius search`, () => {
    const { index, stored, queries, duplicate } = makeIndex(c, c.n + c.f);

    it('n = Infinity with searchK Infinity returns exactly the items in range, nearest first', () => {
      for (const q of queries) {
        const all = ranked(c, stored, q);
        for (const count of [1, 30, 200]) {
          const r = radiusHolding(all, count);
          const want = all.filter((x) => within(c.metric, x.d, r)).map((x) => x.id);
          const got = index.getNnsByVector(q, Infinity, { maxDistance: r, searchK: Infinity, includeDistances: true });
          expect(new Set(got.ids)).toEqual(new Set(want));
          expect([...got.distances].sort(nearer(c.metric))).toEqual(got.distances);
          for (const d of got.distances) expect(within(c.metric, d, r)).toBe(true);
        }
      }
    });

    it('the default (adaptive) radius search finds (nearly) everything in range and nothing outside', () => {
      let found = 0, inRange = 0;
      for (const q of queries) {
        const all = ranked(c, stored, q);
        for (const count of [10, 100]) {
          const r = radiusHolding(all, count);
          const want = new Set(all.filter((x) => within(c.metric, x.d, r)).map((x) => x.id));
          const got = index.getNnsByVector(q, Infinity, { maxDistance: r });
          for (const id of got) expect(want.has(id)).toBe(true);
          expect(new Set(got).size).toBe(got.length);
          found += got.length;
          inRange += want.size;
        }
      }
      expect(found / inRange).toBeGreaterThanOrEqual(0.95);
    });

    it('a finite n keeps the n nearest in range', () => {
      const q = queries[0];
      const all = ranked(c, stored, q);
      const r = radiusHolding(all, 30);
      const inside = all.filter((x) => within(c.metric, x.d, r));
      const five = index.getNnsByVector(q, 5, { maxDistance: r, searchK: Infinity, includeDistances: true });
      expect(five.ids).toHaveLength(5);
      five.distances.forEach((d, k) => expect(Math.abs(d - inside[k].d)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(d))));
      expect(new Set(index.getNnsByVector(q, 500, { maxDistance: r, searchK: Infinity }))).toEqual(new Set(inside.map((x) => x.id)));
    });

    it('a filter and a radius together: the allowed items in range', () => {
      const q = queries[1];
      const all = ranked(c, stored, q);
      const r = radiusHolding(all, 120);
      const allowed = new Set([...stored.keys()].filter((id) => id % 3 !== 0));
      const want = all.filter((x) => within(c.metric, x.d, r) && allowed.has(x.id)).map((x) => x.id);
      for (const filter of [allowed, (id: number) => allowed.has(id)]) {
        expect(new Set(index.getNnsByVector(q, Infinity, { maxDistance: r, filter, searchK: Infinity }))).toEqual(new Set(want));
        const adaptive = index.getNnsByVector(q, Infinity, { maxDistance: r, filter });
        for (const id of adaptive) expect(want).toContain(id);
      }
      expect(index.getNnsByVector(q, Infinity, { maxDistance: r, filter: [] })).toEqual([]);
    });

    it('the boundary is inclusive: a reported distance used as the radius keeps its item', () => {
      for (const q of queries) {
        const near = index.getNnsByVector(q, 40, { searchK: Infinity, includeDistances: true });
        const r = near.distances[25];
        const got = index.getNnsByVector(q, Infinity, { maxDistance: r, searchK: Infinity, includeDistances: true });
        expect(got.ids).toContain(near.ids[25]);
        for (const d of got.distances) expect(within(c.metric, d, r)).toBe(true);
        expect(got.ids.slice(0, 25)).toEqual(near.ids.slice(0, 25));
      }
    });

    if (c.metric !== 'dot') {
      it('maxDistance 0 finds exact duplicates; a huge radius finds everything', () => {
        const [a, b] = duplicate;
        expect(index.getNnsByItem(a, Infinity, { maxDistance: 0, searchK: Infinity }).sort()).toEqual([a, b].sort());
        expect(index.getNnsByItem(a, Infinity, { maxDistance: 0 }).sort()).toEqual([a, b].sort());
        expect(index.getNnsByVector(queries[2], Infinity, { maxDistance: 1e30, searchK: Infinity })).toHaveLength(stored.size);
        expect(index.getNnsByVector(queries[2], Infinity, { maxDistance: Infinity, searchK: Infinity })).toHaveLength(stored.size);
      });
    } else {
      it('dot: maxDistance is the least inner product, negative values included', () => {
        const q = queries[2];
        const all = ranked(c, stored, q);
        const r = radiusHolding(all, Math.floor(all.length * 0.8)); // negative for this data
        expect(r).toBeLessThan(0);
        const got = index.getNnsByVector(q, Infinity, { maxDistance: r, searchK: Infinity, includeDistances: true });
        expect(new Set(got.ids)).toEqual(new Set(all.filter((x) => x.d >= r).map((x) => x.id)));
        expect(got.distances.every((d) => d >= r)).toBe(true);
        expect(index.getNnsByVector(q, Infinity, { maxDistance: -Infinity, searchK: Infinity })).toHaveLength(stored.size);
        expect(index.getNnsByVector(q, Infinity, { maxDistance: 1e30 })).toEqual([]);
      });
    }

    if (c.metric === 'hamming') {
      it('hamming: integer radii count differing bits exactly', () => {
        const q = queries[3];
        const all = ranked(c, stored, q);
        const r = all[50].d; // an integer: items at exactly r are in range
        const got = index.getNnsByVector(q, Infinity, { maxDistance: r, searchK: Infinity });
        expect(new Set(got)).toEqual(new Set(all.filter((x) => x.d <= r).map((x) => x.id)));
      });
    }
  });
}

describe('bad radii', () => {
  const { index, queries } = makeIndex(CASES[1], 9);
  const dot = makeIndex(CASES[3], 9).index;
  const q = queries[0];

  it('are refused with AnnoyArgumentError', () => {
    for (const [maxDistance, message] of [
      [NaN, /maxDistance must be a number, got NaN/],
      ['0.5', /maxDistance must be a number, got "0.5"/],
      [null, /maxDistance must be a number, got null/],
      [-0.1, /maxDistance must not be negative \(euclidean distances are ≥ 0\), got -0.1/],
      [-Infinity, /must not be negative/],
    ] as [unknown, RegExp][]) {
      expect(() => index.getNnsByVector(q, 5, { maxDistance: maxDistance as number })).toThrow(AnnoyArgumentError);
      expect(() => index.getNnsByVector(q, 5, { maxDistance: maxDistance as number })).toThrow(message);
    }
    expect(() => dot.getNnsByVector(queries[0].concat(0, 0, 0), 5, { maxDistance: NaN })).toThrow(/must be a number/);
    expect(() => index.getNnsByVector(q, Infinity, {})).toThrow(/may be Infinity only with maxDistance/);
    expect(() => index.getNnsByVector(q, Infinity)).toThrow(AnnoyArgumentError);
  });
});
