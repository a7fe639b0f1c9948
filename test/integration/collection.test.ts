// Collections (issue 17): answers against exact search through every state a collection goes
// through (newest items only, base index + newest, base + delta index + newest, during a rebuild),
// filters, durability across reopen, the lock, damaged files and bad input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricName } from '../../packages/annoy-ts/src/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import {
  AnnoyArgumentError, AnnoyFormatError, AnnoyStateError, Collection, MemoryCollection, type Key, type QueryResult,
} from '../../packages/collection/src/node/index.ts';
import { failingNextBuild } from '../../packages/collection/src/node/collection.ts';
import { exactDistance } from '../helpers/exact.ts';
import { retamper } from '../helpers/collection-export.ts';

const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'annoy-ts-collection-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(root, `c${folders++}`);

const F = 12;
const METRICS: MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];

function vector(rng: Rng, metric: MetricName): number[] {
  return Array.from({ length: F }, () => (metric === 'hamming' ? (rng.nextFloat() < 0.5 ? 1 : 0) : rng.nextFloat() * 2 - 1));
}

/** The model: what a collection must hold, kept beside it by the test. */
type Model = Map<Key, { vector: number[]; attributes: Record<string, unknown> }>;

/** The exact answer over the model (ties by key order of insertion are not compared: see sameAnswer). */
function exact(metric: MetricName, model: Model, q: number[], n: number, keep: (key: Key, a: Record<string, unknown>) => boolean = () => true) {
  const sign = metric === 'dot' ? -1 : 1;
  return [...model]
    .filter(([k, v]) => keep(k, v.attributes))
    .map(([key, v]) => ({ key, distance: exactDistance(metric, q, Float32Array.from(v.vector)) }))
    .sort((a, b) => sign * (a.distance - b.distance))
    .slice(0, n);
}

/** Same items as the exact answer, up to ties at the last place; distances as exact (float32 rounding). */
function expectExact(metric: MetricName, got: QueryResult[], want: { key: Key; distance: number }[]): void {
  expect(got.length).toBe(want.length);
  const tol = (d: number) => 1e-4 * Math.max(1, Math.abs(d));
  got.forEach((r, j) => expect(Math.abs(r.distance - want[j]!.distance)).toBeLessThan(tol(want[j]!.distance)));
  if (want.length === 0) return;
  const last = want[want.length - 1]!.distance;
  const sure = new Set(want.filter((w) => Math.abs(w.distance - last) > tol(last)).map((w) => w.key));
  const keys = new Set(got.map((r) => r.key));
  for (const k of sure) expect(keys.has(k)).toBe(true);
  expect(keys.size).toBe(got.length); // each key once
  void metric;
}

/** Random writes applied to the collection and the model alike: upserts (new and replacing), deletes. */
async function churn(c: Collection | MemoryCollection, model: Model, rng: Rng, metric: MetricName, rounds: number, keySpace: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    if (rng.nextFloat() < 0.75) {
      const batch = Array.from({ length: 1 + Math.floor(rng.nextFloat() * 40) }, () => {
        const id = Math.floor(rng.nextFloat() * keySpace);
        const key: Key = id % 2 === 0 ? id : `k${id}`;
        return { key, vector: vector(rng, metric), attributes: { g: id % 7, t: rng.nextFloat() < 0.5 ? 'x' : 'y', r } };
      });
      await c.upsert(batch);
      for (const item of batch) model.set(item.key, { vector: Array.from(Float32Array.from(item.vector)), attributes: item.attributes });
    } else {
      const keys = Array.from({ length: 1 + Math.floor(rng.nextFloat() * 15) }, () => {
        const id = Math.floor(rng.nextFloat() * keySpace);
        return id % 2 === 0 ? id : `k${id}`;
      });
      const before = new Set(keys.filter((k) => model.has(k))).size;
      expect(await c.delete(keys)).toBe(before);
      for (const k of keys) model.delete(k);
    }
  }
}

/** Every model item is stored as it is, nothing else is, and queries agree with exact search. */
function checkAgainstModel(c: Collection | MemoryCollection, model: Model, metric: MetricName, rng: Rng): void {
  expect(c.size).toBe(model.size);
  for (const [key, want] of model) {
    const got = c.get(key)!;
    expect(got.vector).toEqual(want.vector);
    expect(got.attributes).toEqual(want.attributes);
  }
  for (let t = 0; t < 12; t++) {
    const q = vector(rng, metric);
    const n = 1 + Math.floor(rng.nextFloat() * 15);
    // searchK Infinity: every tree searched completely, so the forest's answer is exact.
    expectExact(metric, c.query(q, n, { searchK: Infinity }), exact(metric, model, q, n));
    const g = Math.floor(rng.nextFloat() * 7);
    expectExact(metric, c.query(q, n, { searchK: Infinity, filter: { g } }), exact(metric, model, q, n, (_k, a) => a.g === g));
    expectExact(
      metric,
      c.query(q, n, { searchK: Infinity, filter: (key, a) => typeof key === 'string' && a.t === 'x' }),
      exact(metric, model, q, n, (k, a) => typeof k === 'string' && a.t === 'x'),
    );
  }
}

describe('Collection against exact search', () => {
  for (const metric of METRICS) {
    it(`${metric}: memtable, base, delta, rebuilds, reopen`, async () => {
      const rng = new Rng(METRICS.indexOf(metric) + 1);
      const dir = folder();
      const model: Model = new Map();
      let c = await Collection.open(dir, { f: F, metric, trees: 4, autoCompact: false });
      await churn(c, model, rng, metric, 30, 400);
      expect(c.info().base).toBeNull();
      checkAgainstModel(c, model, metric, rng); // only the memtable

      await c.compact();
      expect(c.info().memtable.items).toBe(0);
      checkAgainstModel(c, model, metric, rng); // one index
      await churn(c, model, rng, metric, 30, 400);
      checkAgainstModel(c, model, metric, rng); // index with deletions + memtable
      await c.close();

      // Reopen with a small memtable: the policy builds a delta index, then a full one.
      c = await Collection.open(dir, { f: F, metric, autoCompact: { memtableLimit: 40, deltaFraction: 0.5 } });
      checkAgainstModel(c, model, metric, rng);
      await churn(c, model, rng, metric, 20, 400);
      await settle(c);
      checkAgainstModel(c, model, metric, rng);
      await c.close();
      c = await Collection.open(dir);
      checkAgainstModel(c, model, metric, rng);
      const leftovers = readdirSync(dir).filter((name) => name.endsWith('.tmp'));
      expect(leftovers).toEqual([]);
      await c.close();
    });
  }

  it('an updated key is returned once, with its new vector; deleted keys never come back', async () => {
    const c = await Collection.open(folder(), { f: 3, metric: 'euclidean', trees: 2, autoCompact: false });
    await c.upsert([{ key: 'a', vector: [0, 0, 0] }, { key: 'b', vector: [1, 0, 0] }, { key: 'c', vector: [2, 0, 0] }]);
    await c.compact();
    await c.upsert([{ key: 'a', vector: [0.5, 0, 0], attributes: { v: 2 } }]); // now in the memtable, its old copy in the index is dead
    let r = c.query([0, 0, 0], 10, { includeVectors: true });
    expect(r.map((x) => x.key)).toEqual(['a', 'b', 'c']);
    expect(r[0]).toEqual({ key: 'a', distance: 0.5, attributes: { v: 2 }, vector: [0.5, 0, 0] });
    await c.delete(['b']);
    expect(c.query([1, 0, 0], 10).map((x) => x.key)).toEqual(['a', 'c']);
    await c.compact();
    r = c.query([1, 0, 0], 10);
    expect(r.map((x) => x.key)).toEqual(['a', 'c']);
    expect(c.get('b')).toBeUndefined();
    expect(await c.delete(['b', 'zzz'])).toBe(0);
    await c.close();
  });

  it('maxDistance, n = Infinity, includeVectors, keys 1 and "1" distinct, duplicate keys: last wins', async () => {
    const c = await Collection.open(folder(), { f: 2, metric: 'euclidean', trees: 2, autoCompact: false });
    await c.upsert([
      { key: 1, vector: [1, 0] }, { key: '1', vector: [2, 0], attributes: { s: true } },
      { key: 3, vector: [3, 0] }, { key: 3, vector: [0.25, 0], attributes: { last: true } },
    ]);
    expect(c.size).toBe(3);
    expect(c.get(3)).toEqual({ key: 3, vector: [0.25, 0], attributes: { last: true } });
    await c.compact();
    await c.upsert([{ key: 'far', vector: [9, 9] }]);
    expect(c.query([0, 0], Infinity, { maxDistance: 1.5 }).map((r) => r.key)).toEqual([3, 1]);
    expect(c.query([0, 0], 2, { maxDistance: 100 }).map((r) => r.key)).toEqual([3, 1]);
    expect(c.query([0, 0], Infinity, { maxDistance: 100 }).map((r) => r.key)).toEqual([3, 1, '1', 'far']);
    expect(() => c.query([0, 0], Infinity)).toThrow(/Infinity only with maxDistance/);
    await c.close();
  });

  it('filters: equality, $in, $ne, ranges, $and/$or/$not, arrays, nested paths; unknown operators are errors', async () => {
    const c = await Collection.open(folder(), { f: 2, metric: 'euclidean', trees: 2, autoCompact: false });
    const songs = [
      { key: 'so-what', year: 1959, genre: 'jazz', tags: ['modal', 'live'], meta: { label: 'Columbia' } },
      { key: 'take-five', year: 1959, genre: 'jazz', tags: ['cool'], meta: { label: 'Columbia' } },
      { key: 'blue-train', year: 1957, genre: 'jazz', tags: ['hard-bop'], meta: { label: 'Blue Note' } },
      { key: 'help', year: 1965, genre: 'rock', tags: ['live'] },
      { key: 'imagine', year: 1971, genre: 'pop' },
    ];
    await c.upsert(songs.map(({ key, ...attributes }, i) => ({ key, vector: [i, 0], attributes })));
    await c.compact();
    const keys = (filter: object) => c.query([0, 0], 10, { filter }).map((r) => r.key);
    expect(keys({ genre: 'jazz' })).toEqual(['so-what', 'take-five', 'blue-train']);
    expect(keys({ genre: 'jazz', year: { $gte: 1958 } })).toEqual(['so-what', 'take-five']);
    expect(keys({ year: { $gt: 1957, $lt: 1966 } })).toEqual(['so-what', 'take-five', 'help']);
    expect(keys({ tags: 'live' })).toEqual(['so-what', 'help']);
    expect(keys({ tags: { $in: ['cool', 'hard-bop'] } })).toEqual(['take-five', 'blue-train']);
    expect(keys({ genre: { $ne: 'jazz' } })).toEqual(['help', 'imagine']);
    expect(keys({ tags: { $nin: ['live'] } })).toEqual(['take-five', 'blue-train', 'imagine']);
    expect(keys({ tags: { $exists: false } })).toEqual(['imagine']);
    expect(keys({ 'meta.label': 'Blue Note' })).toEqual(['blue-train']);
    expect(keys({ $or: [{ genre: 'pop' }, { year: 1957 }] })).toEqual(['blue-train', 'imagine']);
    expect(keys({ $and: [{ genre: 'jazz' }, { $not: { year: 1959 } }] })).toEqual(['blue-train']);
    expect(keys({ genre: { $gte: 'p' } })).toEqual(['help', 'imagine']); // strings compare with strings
    expect(keys({ year: { $gte: '1960' } })).toEqual([]); // never a number with a string
    expect(keys({})).toHaveLength(5);
    expect(keys({ genre: 'classical' })).toEqual([]);
    expect(() => keys({ year: { $between: [1, 2] } })).toThrow(AnnoyArgumentError);
    expect(() => keys({ year: { $between: [1, 2] } })).toThrow(/unknown filter operator "\$between"/);
    expect(() => keys({ $nor: [] })).toThrow(/unknown filter operator "\$nor"/);
    expect(() => keys({ genre: ['jazz'] })).toThrow(/\$in/);
    expect(() => keys({ year: { $gt: null } })).toThrow(/\$gt must be a finite number or a string/);
    expect(() => keys({ meta: { label: 'x' } })).toThrow(/dotted paths/);
    expect(() => c.query([0, 0], 3, { filter: () => { throw new Error('boom'); } })).toThrow(/the filter function threw for key "[a-z-]+": boom/);
    expect(() => c.query([0, 0], 3, { filter: (_key, attributes) => attributes.missing as boolean })).toThrow(/^the filter function must return true or false; for key "[a-z-]+" it returned undefined$/);
    expect(c.query([0, 0], 1)).toHaveLength(1); // still usable
    await c.close();
  });

  it('bad input is refused before anything is written', async () => {
    const dir = folder();
    const c = await Collection.open(dir, { f: 3, metric: 'angular', autoCompact: false, maxAttributesLength: 100 });
    await c.upsert([{ key: 'ok', vector: [1, 2, 3] }]);
    const bad: [unknown, RegExp][] = [
      [[{ key: 'x', vector: [1, 2] }], /item 0 \(key "x"\): vector has 2 components, but the collection's dimension is 3/],
      [[{ key: 'x', vector: [1, NaN, 2] }], /vector\[1\] is NaN/],
      [[{ key: 'x', vector: [1, 1e39, 2] }], /overflows float32/],
      [[{ key: 1.5, vector: [1, 2, 3] }], /safe integer/],
      [[{ key: 2 ** 53, vector: [1, 2, 3] }], /safe integer/],
      [[{ key: null, vector: [1, 2, 3] }], /a key must be a string or a safe integer, got null/],
      [[{ key: '', vector: [1, 2, 3] }], /empty string/],
      [[{ key: 'x', vector: [1, 2, 3], attributes: [1] }], /attributes must be a JSON object/],
      [[{ key: 'x', vector: [1, 2, 3], attributes: 'jazz' }], /attributes must be a JSON object/],
      [[{ key: 'x', vector: [1, 2, 3], attributes: { when: new Date() } }], /not a plain object/],
      [[{ key: 'x', vector: [1, 2, 3], attributes: { n: NaN } }], /JSON cannot hold/],
      [[{ key: 'x', vector: [1, 2, 3], attributes: { big: 'x'.repeat(200) } }], /more than the limit of 100/],
      [[{ key: 'y', vector: [1, 2, 3] }, 'nope'], /item 1 must be an object/],
      ['nope', /array/],
    ];
    for (const [items, message] of bad) {
      await expect(c.upsert(items as never)).rejects.toThrow(message);
      await expect(c.upsert(items as never)).rejects.toThrow(AnnoyArgumentError);
    }
    await expect(c.delete([{}] as never)).rejects.toThrow(/key 0: a key must be a string or a safe integer/);
    expect(() => c.query([1, 2], 1)).toThrow(/query: vector has 2 components/);
    expect(() => c.query([1, 2, 3], -1)).toThrow(/n \(the number of neighbours\)/);
    expect(() => c.query([1, 2, 3], 1, { searchK: 0 })).toThrow(/searchK/);
    expect(() => c.query([1, 2, 3], 1, { maxDistance: -1 })).toThrow(/maxDistance/);
    expect(c.size).toBe(1);
    expect([...c.entries()].map((e) => e.key)).toEqual(['ok']);
    await c.close();
    await expect(c.upsert([])).rejects.toThrow(AnnoyStateError);

    await expect(Collection.open(dir, { f: 4, metric: 'angular' })).rejects.toThrow(/holds 3-dimensional vectors with metric 'angular', not f = 4/);
    await expect(Collection.open(dir, { f: 3, metric: 'euclidean' })).rejects.toThrow(/not f = 3 with 'euclidean'/);
    await expect(Collection.open(folder())).rejects.toThrow(/holds no collection .* pass f and metric/);
    await expect(Collection.open(folder(), { f: 3, metric: 'cosine' as MetricName })).rejects.toThrow(/unknown metric "cosine"/);
    await expect(Collection.open(dir, { autoCompact: { memtableLimit: 0 } })).rejects.toThrow(/memtableLimit must be an integer ≥ 1/);
    await expect(Collection.open(dir, { autoCompact: { often: true } as never })).rejects.toThrow(/unknown option "often"/);
    const again = await Collection.open(dir); // nothing was lost
    expect(again.get('ok')!.vector).toEqual([1, 2, 3]);
    await again.close();
  });

  it('one writer: a second open in this process or another one is refused while the first is open', async () => {
    const dir = folder();
    const c = await Collection.open(dir, { f: 2, metric: 'euclidean' });
    await expect(Collection.open(dir)).rejects.toThrow(/already open in this process/);
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { Collection } from ${JSON.stringify(fileURLToPath(new URL('../../packages/collection/dist/node/index.js', import.meta.url)))};
      try { await Collection.open(${JSON.stringify(dir)}); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); }
    `], { encoding: 'utf8' });
    expect(child.stdout).toMatch(/AnnoyStateError: the collection in .* is open in another process/);
    await c.close();
    const reopened = await Collection.open(dir);
    await reopened.close();
  });

  it('a damaged index file is a clear error, and repair: true rebuilds from the database with nothing lost', async () => {
    const dir = folder();
    const rng = new Rng(99);
    const model: Model = new Map();
    let c = await Collection.open(dir, { f: F, metric: 'angular', trees: 3, autoCompact: false });
    await churn(c, model, rng, 'angular', 20, 300);
    await c.compact();
    await churn(c, model, rng, 'angular', 5, 300);
    await c.close();
    const ann = readdirSync(dir).find((n) => n.endsWith('.ann'))!;
    const bytes = readFileSync(join(dir, ann));
    bytes[100] ^= 0xff;
    writeFileSync(join(dir, ann), bytes);
    await expect(Collection.open(dir)).rejects.toThrow(AnnoyFormatError);
    await expect(Collection.open(dir)).rejects.toThrow(/cannot use its index segment base-\d+: .*checksum.*open with \{ repair: true \}/);
    c = await Collection.open(dir, { repair: true, autoCompact: false });
    checkAgainstModel(c, model, 'angular', rng);
    await c.compact();
    checkAgainstModel(c, model, 'angular', rng);
    await c.close();

    // A missing ids companion, and a database that is not one.
    const ids = readdirSync(dir).find((n) => n.endsWith('.ids'))!;
    rmSync(join(dir, ids));
    await expect(Collection.open(dir)).rejects.toThrow(/cannot read .*\.ids/);
    const other = folder();
    await (await Collection.open(other, { f: 2, metric: 'dot' })).close();
    writeFileSync(join(other, 'collection.db'), 'not a database at all, just some text '.repeat(200));
    rmSync(join(other, 'collection.db-wal'), { force: true });
    await expect(Collection.open(other)).rejects.toThrow(/damaged or not a collection database/);
  });

  it('queries and writes go on during a rebuild; a rebuild that fails leaves the previous state', async () => {
    const dir = folder();
    const rng = new Rng(7);
    const model: Model = new Map();
    const c = await Collection.open(dir, { f: F, metric: 'euclidean', trees: 10, autoCompact: false });
    const items = Array.from({ length: 8000 }, (_, i) => ({ key: i, vector: vector(rng, 'euclidean') }));
    for (let i = 0; i < items.length; i += 1000) await c.upsert(items.slice(i, i + 1000));
    for (const it of items) model.set(it.key, { vector: Array.from(Float32Array.from(it.vector)), attributes: {} });
    await c.compact();
    const filesBefore = readdirSync(dir).sort();

    await c.delete([3]);
    model.delete(3);
    failingNextBuild.add(c);
    await expect(c.compact()).rejects.toThrow(/test failure after writing the segment/);
    expect(readdirSync(dir).sort()).toEqual(filesBefore); // its files are gone, the old ones stay

    await c.delete([0, 1, 2]);
    for (const k of [0, 1, 2]) model.delete(k);
    let done = false, sawBuilding = false;
    const compaction = c.compact().then(() => (done = true));
    let queries = 0, writes = 0;
    while (!done) {
      sawBuilding ||= c.info().building === 'full';
      const q = vector(rng, 'euclidean');
      const r = c.query(q, 5, { searchK: 2000 });
      expect(r.some((x) => x.key === 0 || x.key === 1 || x.key === 2)).toBe(false);
      queries++;
      const key = 100000 + writes++;
      const v = vector(rng, 'euclidean');
      await c.upsert([{ key, vector: v }]);
      model.set(key, { vector: Array.from(Float32Array.from(v)), attributes: {} });
      if (writes % 5 === 0) {
        await c.delete([key - 2]);
        model.delete(key - 2);
      }
      expect(c.query(v, 1)[0]!.key).toBe(key); // reads see writes, during the build too
    }
    await compaction;
    console.log(`during the rebuild: ${queries} queries, ${writes} writes`);
    expect(sawBuilding).toBe(true);
    expect(queries).toBeGreaterThan(10);
    expect(c.info().memtable.live).toBe(model.size - c.info().base!.live);
    checkAgainstModel(c, model, 'euclidean', rng);
    await c.close();
  });
});

describe('MemoryCollection', () => {
  it('works like a Collection, and survives toBytes / fromBytes', async () => {
    for (const metric of METRICS) {
      const rng = new Rng(50 + METRICS.indexOf(metric));
      const model: Model = new Map();
      const c = new MemoryCollection({ f: F, metric, trees: 3, autoCompact: false });
      await churn(c, model, rng, metric, 20, 300);
      await c.compact();
      await churn(c, model, rng, metric, 10, 300);
      checkAgainstModel(c, model, metric, rng);
      const bytes = c.toBytes();
      const d = MemoryCollection.fromBytes(bytes);
      checkAgainstModel(d, model, metric, rng);
      await churn(d, model, rng, metric, 5, 300);
      checkAgainstModel(d, model, metric, rng);
      const damaged = bytes.slice();
      damaged[damaged.length >> 1] ^= 1;
      expect(() => MemoryCollection.fromBytes(damaged)).toThrow(/checksum mismatch/);
      expect(() => MemoryCollection.fromBytes(bytes.subarray(0, 100))).toThrow(AnnoyFormatError);
      expect(() => MemoryCollection.fromBytes(new Uint8Array(8))).toThrow(/wrong magic bytes/);
      // A well-formed container (checksum recomputed) whose contents disagree is refused too.
      for (const tamper of [
        (h: Record<string, any>) => { h.segments[0].nItems += 1; }, // eslint-disable-line @typescript-eslint/no-explicit-any
        (h: Record<string, any>) => { h.nextId = 1; }, // eslint-disable-line @typescript-eslint/no-explicit-any
        (h: Record<string, any>) => { h.f = F + 1; }, // eslint-disable-line @typescript-eslint/no-explicit-any
        (h: Record<string, any>) => { h.segments = 'x'; }, // eslint-disable-line @typescript-eslint/no-explicit-any
      ]) expect(() => MemoryCollection.fromBytes(retamper(bytes, tamper))).toThrow(AnnoyFormatError);
      // Closed, it refuses every use, as a Collection does.
      await d.close();
      expect(() => d.entries()).toThrow(AnnoyStateError);
      expect(() => d.get(0)).toThrow(AnnoyStateError);
    }
  });

  it('answers n items at a small searchK after a few deletions (the plain search coming up short falls back to the filtered one)', async () => {
    const rng = new Rng(17);
    const c = new MemoryCollection({ f: F, metric: 'euclidean', trees: 5, autoCompact: false });
    await c.upsert(Array.from({ length: 2000 }, (_, i) => ({ key: i, vector: vector(rng, 'euclidean') })));
    await c.compact();
    for (let t = 0; t < 20; t++) {
      const q = vector(rng, 'euclidean');
      const near = c.query(q, 3, { searchK: Infinity });
      await c.delete(near.map((r) => r.key));
      for (const n of [5, 10]) {
        const got = c.query(q, n, { searchK: n });
        expect(got.length).toBe(n);
        for (const r of got) expect(c.has(r.key)).toBe(true);
      }
    }
  });

  it('builds by itself past the memtable limit', async () => {
    const rng = new Rng(5);
    const c = new MemoryCollection({ f: F, metric: 'angular', autoCompact: { memtableLimit: 50 } });
    await c.upsert(Array.from({ length: 120 }, (_, i) => ({ key: i, vector: vector(rng, 'angular') })));
    await new Promise((r) => setTimeout(r, 20));
    expect(c.info().base?.live).toBe(120);
    expect(c.info().memtable.items).toBe(0);
  });
});

/** Waits until no background build is running or due. */
async function settle(c: Collection): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (c.info().building === null) {
      await new Promise((r) => setTimeout(r, 30));
      if (c.info().building === null) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('background builds did not settle');
}
