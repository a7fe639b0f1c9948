// The lifecycle and every kind of bad input: a clear error that names the problem, never a crash,
// a hang or a silently wrong answer.
import { describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIndex, AnnoyStateError, type MetricName,
} from '../../packages/annoy-ts/src/node/index.ts';
import { AnnoyIndex as PortableAnnoyIndex } from '../../packages/annoy-ts/src/index.ts';

const METRICS: MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];

function small(metric: MetricName = 'angular', f = 4, n = 30): AnnoyIndex {
  const index = new AnnoyIndex(f, metric);
  for (let i = 0; i < n; i++) index.addItem(i, Array.from({ length: f }, (_, k) => Math.sin(i * 7 + k * 3) + (k === i % f ? 1 : 0)));
  return index;
}

describe('constructor', () => {
  it('rejects unknown metrics, with a hint for common aliases', () => {
    expect(() => new AnnoyIndex(3, 'cosine' as MetricName)).toThrow(/unknown metric "cosine".*'angular'.*cosine distance is 'angular'/);
    expect(() => new AnnoyIndex(3, 'L2' as MetricName)).toThrow(/'euclidean'/);
    expect(() => new AnnoyIndex(3, undefined as unknown as MetricName)).toThrow(AnnoyArgumentError);
  });
  it('rejects a dimension that is not a positive integer', () => {
    for (const f of [0, -1, 2.5, NaN, Infinity, '3' as unknown as number]) {
      expect(() => new AnnoyIndex(f, 'angular')).toThrow(/f \(the vector dimension\) must be an integer from 1/);
    }
  });
  it('exposes f and metric', () => {
    const index = new AnnoyIndex(7, 'dot');
    expect([index.f, index.metric]).toEqual([7, 'dot']);
  });
});

describe('addItem', () => {
  it('rejects vectors of the wrong length, non-numbers, NaN and ±Infinity', () => {
    const index = new AnnoyIndex(3, 'euclidean');
    expect(() => index.addItem(0, [1, 2])).toThrow(/wrong length: expected 3, got 2/);
    expect(() => index.addItem(0, [1, 2, 3, 4])).toThrow(/expected 3, got 4/);
    expect(() => index.addItem(0, [1, NaN, 3])).toThrow(/vector\[1\] is NaN/);
    expect(() => index.addItem(0, [1, 2, -Infinity])).toThrow(/vector\[2\] is -Infinity/);
    expect(() => index.addItem(0, [1, '2', 3] as unknown as number[])).toThrow(/vector\[1\] must be a number, got "2"/);
    expect(() => index.addItem(0, 5 as unknown as number[])).toThrow(/array or typed array of 3 numbers, got 5/);
    expect(() => index.addItem(0, null as unknown as number[])).toThrow(AnnoyArgumentError);
    expect(() => index.addItem(0, [1e39, 0, 0])).toThrow(/overflows float32/);
    expect(index.getNItems()).toBe(0);
  });
  it('rejects negative, fractional, non-numeric and beyond-int32 ids', () => {
    const index = new AnnoyIndex(2, 'angular');
    expect(() => index.addItem(-1, [1, 2])).toThrow(/must not be negative, got -1/);
    expect(() => index.addItem(1.5, [1, 2])).toThrow(/must be an integer, got 1.5/);
    expect(() => index.addItem(NaN, [1, 2])).toThrow(/must be an integer/);
    expect(() => index.addItem(2 ** 31, [1, 2])).toThrow(/too large: Annoy ids are int32/);
  });
  it('refuses ids that would need more memory than an index can hold, without allocating', () => {
    const index = new AnnoyIndex(100, 'angular');
    expect(() => index.addItem(2 ** 31 - 2, new Array(100).fill(1))).toThrow(/would need \d+ bytes/);
  });
  it('accepts typed arrays and ids with holes; n_items is the largest id + 1', () => {
    const index = new AnnoyIndex(2, 'euclidean');
    index.addItem(5, new Float64Array([1, 2]));
    index.addItem(2, new Float32Array([3, 4]));
    expect(index.getNItems()).toBe(6);
    index.build(2);
    expect(index.getItemVector(3)).toEqual([0, 0]);
    expect(index.getNnsByVector([1, 2], 10)).toEqual([5, 2]);
  });
  it('is refused after build (Annoy would corrupt the trees) and after load', () => {
    const index = small();
    index.build(3);
    expect(() => index.addItem(99, [1, 2, 3, 4])).toThrow(AnnoyStateError);
    expect(() => index.addItem(99, [1, 2, 3, 4])).toThrow(/is built \(call unbuild\(\) first/);
    const loaded = AnnoyIndex.fromBuffer(index.toBuffer(), 4, 'angular');
    expect(() => loaded.addItem(99, [1, 2, 3, 4])).toThrow(/loaded or saved and is read-only/);
  });
  it('replaces an item added twice', () => {
    const index = new AnnoyIndex(2, 'euclidean');
    index.addItem(0, [1, 1]);
    index.addItem(0, [5, 5]);
    expect(index.getItemVector(0)).toEqual([5, 5]);
  });
});

describe('build / unbuild', () => {
  it('rejects nTrees 0, fractions and other bad counts', () => {
    const index = small();
    for (const t of [0, -2, 1.5, NaN]) expect(() => index.build(t)).toThrow(/nTrees must be a positive integer or -1/);
    expect(() => index.build(2, 0)).toThrow(/nJobs must be a positive integer or -1/);
  });
  it('refuses an empty index, building twice, and building a loaded index', () => {
    expect(() => new AnnoyIndex(3, 'angular').build(1)).toThrow(/no items/);
    const index = small();
    index.build(2);
    expect(() => index.build(2)).toThrow(/already built/);
    const loaded = AnnoyIndex.fromBuffer(index.toBuffer(), 4, 'angular');
    expect(() => loaded.build(2)).toThrow(/cannot build a loaded index/);
    expect(() => loaded.unbuild()).toThrow(/cannot unbuild a loaded index/);
  });
  it('unbuild drops the trees, keeps the items, and allows adding and rebuilding', () => {
    const index = small();
    index.build(4);
    const before = index.getNnsByItem(3, 5, Infinity);
    index.unbuild();
    expect(index.getNTrees()).toBe(0);
    expect(() => index.getNnsByItem(3, 5)).toThrow(/has not been built/);
    index.addItem(30, [9, 9, 9, 9]);
    index.build(4);
    expect(index.getNItems()).toBe(31);
    expect(index.getNnsByItem(3, 5, Infinity)).toEqual(before);
  });
  it('nTrees = -1 adds trees until the index holds about twice as many records as items', () => {
    const index = small('euclidean', 3, 500);
    index.build(-1);
    expect(index.getNTrees()).toBeGreaterThan(1);
    expect(index.toBuffer().length / (16 + 12)).toBeGreaterThanOrEqual(2 * 500);
  });
  it('reports progress while building', () => {
    const index = small('angular', 4, 200);
    const seen: number[] = [];
    index.build(3, 1, { onProgress: (p) => p.placed === p.items && seen.push(p.trees) });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('queries', () => {
  it('are refused before build, with a hint', () => {
    const index = small();
    expect(() => index.getNnsByVector([1, 2, 3, 4], 3)).toThrow(/call build\(\) or load\(\) first/);
    expect(() => index.toBuffer()).toThrow(AnnoyStateError);
    expect(() => index.save('/tmp/never.ann')).toThrow(AnnoyStateError);
  });
  it('check n, searchK, includeDistances, ids and the query vector', () => {
    const index = small();
    index.build(3);
    expect(() => index.getNnsByItem(0, -1)).toThrow(/n \(the number of neighbours\) must be a non-negative integer, got -1/);
    expect(() => index.getNnsByItem(0, 2.5)).toThrow(AnnoyArgumentError);
    expect(() => index.getNnsByItem(0, 3, 0)).toThrow(/searchK must be -1/);
    expect(() => index.getNnsByItem(0, 3, -7)).toThrow(/searchK must be -1/);
    expect(() => index.getNnsByItem(0, 3, -1, 'yes' as unknown as boolean)).toThrow(/includeDistances must be true or false/);
    expect(() => index.getNnsByItem(30, 3)).toThrow(/item 30 does not exist: ids run from 0 to 29/);
    expect(() => index.getNnsByItem(-1, 3)).toThrow(/must not be negative/);
    expect(() => index.getNnsByVector([1, 2, 3], 3)).toThrow(/query vector has the wrong length: expected 4, got 3/);
    expect(() => index.getNnsByVector([1, 2, NaN, 4], 3)).toThrow(/query vector\[2\] is NaN/);
    expect(() => index.getItemVector(30)).toThrow(/does not exist/);
    expect(() => index.getDistance(0, 31)).toThrow(/does not exist/);
  });
  it('n = 0 gives nothing; n larger than the index gives every item once', () => {
    const index = small('manhattan', 4, 30);
    index.build(5);
    expect(index.getNnsByItem(0, 0)).toEqual([]);
    const all = index.getNnsByItem(0, 1000, Infinity);
    expect(new Set(all).size).toBe(30);
    expect(all[0]).toBe(0);
  });
  it('includeDistances returns ids and distances of equal length, sorted', () => {
    const index = small('euclidean');
    index.build(5);
    const r = index.getNnsByVector([0, 0, 0, 0], 8, -1, true);
    expect(r.ids).toHaveLength(8);
    expect(r.distances).toHaveLength(8);
    expect([...r.distances].sort((a, b) => a - b)).toEqual(r.distances);
  });
});

describe('seeds', () => {
  it('same items + same seed + same nTrees → the same bytes; another seed → other trees', () => {
    const bytes = (seed: number | bigint) => {
      const index = small('angular', 8, 300);
      index.setSeed(seed);
      index.build(5);
      return Buffer.from(index.toBuffer());
    };
    expect(bytes(7).equals(bytes(7))).toBe(true);
    expect(bytes(7).equals(bytes(8))).toBe(false);
    expect(bytes(-7).equals(bytes(2n ** 64n - 7n))).toBe(true);
  });
  it('rejects seeds that are not integers', () => {
    const index = small();
    expect(() => index.setSeed(1.5)).toThrow(/seed must be an integer/);
    expect(() => index.setSeed(2n ** 64n)).toThrow(/does not fit in 64 bits/);
    expect(() => index.verbose('yes' as unknown as boolean)).toThrow(/verbose must be true or false/);
  });
});

describe('fromBuffer', () => {
  it('takes its own copy of the bytes (into its WebAssembly memory), aligned or not', () => {
    const index = small('dot');
    index.build(3);
    const bytes = index.toBuffer().slice();
    const scratch = bytes.slice();
    const loaded = AnnoyIndex.fromBuffer(scratch, 4, 'dot');
    const before = loaded.getNnsByItem(2, 5, Infinity, true);
    scratch.fill(0);
    expect(loaded.getNnsByItem(2, 5, Infinity, true)).toEqual(before);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = AnnoyIndex.fromBuffer(shifted.subarray(1), 4, 'dot');
    expect(unaligned.getNnsByItem(2, 5, Infinity, true)).toEqual(index.getNnsByItem(2, 5, Infinity, true));
  });
  it('rejects empty, truncated, foreign and mismatched bytes with a format error', () => {
    const index = small('angular', 4, 60);
    index.build(3);
    const bytes = index.toBuffer();
    const open = (b: Uint8Array | ArrayBuffer, f = 4, m: MetricName = 'angular') => () => AnnoyIndex.fromBuffer(b, f, m);
    expect(open(new Uint8Array(0))).toThrow(/empty \(0 bytes\)/);
    expect(open(bytes.slice(0, bytes.length - 3))).toThrow(/not a whole number of 28-byte records/);
    expect(open(bytes, 5)).toThrow(AnnoyFormatError);
    expect(open(new TextEncoder().encode('\x89PNG\r\n\x1a\n'.repeat(7)))).toThrow(AnnoyFormatError);
    expect(() => AnnoyIndex.fromBuffer('abc' as unknown as ArrayBuffer, 4, 'angular')).toThrow(/ArrayBuffer or a typed array/);
  });
  it('never lets a damaged file send a query out of bounds or round in circles', () => {
    const index = small('euclidean', 4, 200);
    index.build(4);
    const good = index.toBuffer();
    const s = 16 + 16;
    const words = good.length / 4;
    // Damage every word of the tree area in turn (child ids, counts, offsets): each result must be
    // a clean load with in-range answers, or an AnnoyFormatError.
    for (let w = 200 * (s / 4); w < words; w += 5) {
      for (const value of [-1, 0x7fffffff, 199, 250, words - 1]) {
        const bad = new Uint8Array(good);
        new DataView(bad.buffer).setInt32(w * 4, value, true);
        let damaged: AnnoyIndex;
        try {
          damaged = AnnoyIndex.fromBuffer(bad, 4, 'euclidean');
        } catch (e) {
          expect(e).toBeInstanceOf(AnnoyFormatError);
          continue;
        }
        const ids = damaged.getNnsByVector([0.1, 0.2, 0.3, 0.4], 10, Infinity);
        for (const id of ids) expect(id >= 0 && id < damaged.getNItems()).toBe(true);
      }
    }
  });
});

describe('portable build (no file system)', () => {
  it('explains that save and load need the Node entry point', () => {
    const index = new PortableAnnoyIndex(2, 'angular');
    index.addItem(0, [1, 0]);
    index.build(1);
    expect(() => index.save('/tmp/x.ann')).toThrow(/no file system access.*toBuffer/);
    expect(() => index.load('/tmp/x.ann')).toThrow(/no file system access/);
  });
  it('errors share one base class', () => {
    expect(() => new AnnoyIndex(0, 'angular')).toThrow(AnnoyError);
  });
});

describe('every metric', () => {
  it.each(METRICS)('%s: builds, queries and reads back vectors', (metric) => {
    const index = small(metric, 70, 50);
    index.build(5);
    const r = index.getNnsByItem(7, 5, Infinity, true);
    // An item is its own nearest neighbour, except under dot, where longer vectors can beat it.
    if (metric !== 'dot') expect(r.ids[0]).toBe(7);
    expect(index.getDistance(7, r.ids[1])).toBe(r.distances[1]);
    const v = index.getItemVector(7);
    expect(v).toHaveLength(70);
  });
});
