// Sharded indexes (issue 18) on real data: GloVe word vectors split into many small shards
// (a small maxShardBytes) must answer like one index over all items, and every bad folder must be
// refused with an error naming the shard.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AllowedIds, AnnoyFormatError, AnnoyIndex, AnnoyStateError, AnnoyArgumentError, ShardedIndex, ShardedIndexBuilder, mergeNearest, type MetricName,
  type QueryOptions, type SearchResult, type ShardBuilt, type ShardManifest,
} from '../../packages/annoy-ts/src/node/index.ts';
import { loadGlove } from '../../datasets/glove.ts';

const F = 100, N = 3000, QUERIES = 12;
let vectors: Float32Array;
let work: string;
const row = (i: number) => vectors.subarray(i * F, (i + 1) * F);
/** Hamming's f counts bits: a GloVe vector becomes its sign pattern. */
const itemVector = (metric: MetricName, i: number): ArrayLike<number> => metric === 'hamming' ? Array.from(row(i), (x) => (x > 0 ? 1 : 0)) : row(i);
const queryVector = (metric: MetricName, q: number) => itemVector(metric, N + q);

beforeAll(async () => {
  const glove = await loadGlove({ quiet: true });
  // A spread of the vocabulary, not only the most frequent words.
  vectors = new Float32Array((N + QUERIES) * F);
  for (let r = 0; r < N + QUERIES; r++) vectors.set(glove.vectors.subarray(r * 97 * F, (r * 97 + 1) * F), r * F);
  work = mkdtempSync(join(tmpdir(), 'annoy-ts-shards-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Builds a sharded index of items `ids[r]` → row r, and one AnnoyIndex of the same items under the same ids. */
function buildBoth(name: string, metric: MetricName, ids: readonly number[], options: { maxShardBytes?: number; nTrees?: number; seed?: number } = {}) {
  const dir = join(work, name);
  const built: ShardBuilt[] = [];
  const builder = new ShardedIndexBuilder(dir, F, metric, { nTrees: options.nTrees ?? 4, maxShardBytes: options.maxShardBytes ?? 220_000, seed: options.seed ?? 7, onShard: (s) => built.push(s) });
  const single = new AnnoyIndex(F, metric);
  ids.forEach((id, r) => {
    builder.addItem(id, itemVector(metric, r));
    single.addItem(id, itemVector(metric, r));
  });
  const manifest = builder.finish();
  single.build(4, 1);
  return { dir, manifest, single, built };
}

/** A result's (distance, id) pairs in the order the sharded index promises: distance, then smaller id. */
function canonical(r: SearchResult, metric: MetricName): [number, number][] {
  const pairs = r.ids.map((id, k): [number, number] => [r.distances[k], id]);
  return pairs.sort((a, b) => (metric === 'dot' ? b[0] - a[0] : a[0] - b[0]) || a[1] - b[1]);
}

describe('a sharded index answers like one index', () => {
  const metrics: MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];
  for (const metric of metrics) {
    it(`${metric}: exact merge of the shards = exact search of one index (searchK unlimited)`, () => {
      const ids = Array.from({ length: N }, (_, r) => r);
      const { dir, manifest, single } = buildBoth(`exact-${metric}`, metric, ids, { maxShardBytes: metric === 'hamming' ? 30_000 : 220_000 });
      expect(manifest.shards.length).toBeGreaterThanOrEqual(5);
      const index = ShardedIndex.open(dir);
      expect(index.getNItems()).toBe(single.getNItems());
      for (let q = 0; q < QUERIES; q++) {
        for (const n of [1, 10, 60]) {
          const got = index.getNnsByVector(queryVector(metric, q), n, Infinity, true);
          const want = single.getNnsByVector(queryVector(metric, q), n, Infinity, true);
          expect(got.distances).toEqual(want.distances);
          expect(canonical(got, metric)).toEqual(canonical(want, metric));
          expect(index.getNnsByVector(queryVector(metric, q), n, { searchK: Infinity })).toEqual(got.ids);
          // And the same as merging each shard's own exact answer.
          const parts = manifest.shards.map((s, k) => {
            const r = index.shard(k)!.getNnsByVector(queryVector(metric, q), n, Infinity, true);
            return { ids: r.ids.map((local) => (s.ids as { first: number }).first + local), distances: r.distances };
          });
          expect(mergeNearest(parts, n, metric === 'dot')).toEqual(got);
        }
      }
    });
  }

  it('arbitrary ids (shuffled, with gaps) keep the user\'s ids: items, distances and queries by item', async () => {
    const metric: MetricName = 'angular';
    // Ids with gaps, given in a scrambled order: shards store id files.
    const ids = Array.from({ length: N }, (_, r) => 5 * ((r * 1103) % N) + (r % 3));
    const { dir, manifest, single } = buildBoth('arbitrary', metric, ids);
    expect(manifest.shards.some((s) => 'file' in s.ids)).toBe(true);
    const index = ShardedIndex.open(dir);
    expect(index.getNItems()).toBe(single.getNItems());
    expect(index.size).toBe(N);
    for (let r = 0; r < N; r += 97) expect(index.getItemVector(ids[r])).toEqual(single.getItemVector(ids[r]));
    // A hole reads as zeros, as in AnnoyIndex.
    const hole = ids.includes(3) ? 4 : 3;
    expect(index.getItemVector(hole)).toEqual(single.getItemVector(hole));
    for (const [i, j] of [[ids[0], ids[1]], [ids[5], ids[2900]], [ids[17], ids[17]], [ids[40], hole]]) {
      expect(index.getDistance(i, j)).toBe(single.getDistance(i, j));
    }
    const probe = [ids[0], ids[1234], ids[2999], ids[77]];
    for (const id of probe) {
      const got = index.getNnsByItem(id, 15, Infinity, true);
      const want = single.getNnsByItem(id, 15, Infinity, true);
      expect(canonical(got, metric)).toEqual(canonical(want, metric));
      expect(got.ids[0]).toBe(id);
    }
    expect(await index.getNnsByItemsAsync(probe, 15, Infinity, true)).toEqual(index.getNnsByItems(probe, 15, Infinity, true));
    expect(() => index.getItemVector(single.getNItems())).toThrow(AnnoyArgumentError);
    await index.close();
  });

  it('batch and async forms agree with one-at-a-time queries (default searchK too)', async () => {
    const { dir, manifest } = buildBoth('async', 'euclidean', Array.from({ length: N }, (_, r) => r), { maxShardBytes: 600_000 });
    expect(manifest.shards.length).toBe(3);
    const index = ShardedIndex.open(dir);
    const queries = vectors.subarray(N * F, (N + QUERIES) * F);
    const one = Array.from({ length: QUERIES }, (_, q) => index.getNnsByVector(row(N + q), 10, -1, true));
    expect(index.getNnsByVectors(queries, 10, -1, true)).toEqual(one);
    expect(await index.getNnsByVectorsAsync(queries, 10, -1, true)).toEqual(one);
    expect(await index.getNnsByVectorsAsync(queries, 10, { searchK: 500 })).toEqual(index.getNnsByVectors(queries, 10, 500));
    expect(await index.getNnsByItemsAsync([0, 5, 2999], 7)).toEqual(index.getNnsByItems([0, 5, 2999], 7));
    await expect(index.getNnsByVectorsAsync([row(0), [1, 2]], 5)).rejects.toThrow(/query 1/);
    await index.close();
    // Opened on loading threads (shared memories): the same answers.
    const viaThreads = await ShardedIndex.openAsync(dir, { threads: 2 });
    expect(viaThreads.getNnsByVectors(queries, 10, -1, true)).toEqual(one);
    expect(await viaThreads.getNnsByVectorsAsync(queries, 10, -1, true)).toEqual(one);
    expect(viaThreads.getItemVector(1234)).toEqual(index.getItemVector(1234));
    await viaThreads.close();
    viaThreads.unload();
    expect(() => viaThreads.getNnsByVector(row(0), 3)).toThrow(/was unloaded/);
  });

  it('searchK is per shard: recall does not fall below one index\'s at the same work per shard', () => {
    const ids = Array.from({ length: N }, (_, r) => r);
    const { dir, single } = buildBoth('recall', 'angular', ids, { nTrees: 8 });
    const index = ShardedIndex.open(dir);
    let sharded = 0, one = 0;
    for (let q = 0; q < QUERIES; q++) {
      const truth = new Set(single.getNnsByVector(row(N + q), 10, Infinity));
      sharded += index.getNnsByVector(row(N + q), 10, 100).filter((id) => truth.has(id)).length;
      one += single.getNnsByVector(row(N + q), 10, 100).filter((id) => truth.has(id)).length;
    }
    expect(sharded).toBeGreaterThanOrEqual(one);
  });
});

describe('filters and radius (the options of AnnoyIndex queries) over global ids', () => {
  it('filtered and radius queries equal one index\'s exact ones, for runs and id files, sync and async', async () => {
    for (const [name, metric, ids] of [
      ['filter-runs', 'angular', Array.from({ length: N }, (_, r) => r)],
      ['filter-idfiles', 'dot', Array.from({ length: N }, (_, r) => 5 * ((r * 1103) % N) + (r % 3))],
    ] as const) {
      const { dir, single, manifest } = buildBoth(name, metric, ids, { maxShardBytes: 400_000 });
      const index = ShardedIndex.open(dir);
      const everyTenth = new Set(ids.filter((_, r) => r % 10 === 3));
      const few = ids.filter((_, r) => r % 397 === 5);
      const q = queryVector(metric, 0), q2 = queryVector(metric, 1);
      const exact = single.getNnsByVector(q, 20, { searchK: Infinity, includeDistances: true });
      const radius = exact.distances[12];
      const cases: QueryOptions[] = [
        { searchK: Infinity, filter: everyTenth },
        { searchK: Infinity, filter: few },
        { searchK: Infinity, filter: Int32Array.from(few) },
        { searchK: Infinity, filter: AllowedIds.from(few, single.getNItems()) },
        { searchK: Infinity, filter: (id: number) => id % 2 === 0 },
        { searchK: Infinity, maxDistance: radius },
        { searchK: Infinity, maxDistance: radius, filter: everyTenth },
      ];
      for (const [c, options] of cases.entries()) {
        const want = single.getNnsByVector(q, 15, { ...options, includeDistances: true });
        const got = index.getNnsByVector(q, 15, { ...options, includeDistances: true });
        expect(canonical(got, metric)).toEqual(canonical(want, metric));
        expect(index.getNnsByItem(ids[7], 9, options)).toEqual(canonical(single.getNnsByItem(ids[7], 9, { ...options, includeDistances: true }), metric).map(([, id]) => id));
        if (c % 2 === 0) { // the worker pools (a predicate is asked about every item first)
          expect(await index.getNnsByVectorsAsync([q, q2], 15, { ...options, includeDistances: true })).toEqual(index.getNnsByVectors([q, q2], 15, { ...options, includeDistances: true }));
          expect(await index.getNnsByItemsAsync([ids[7], ids[2000]], 9, options)).toEqual(index.getNnsByItems([ids[7], ids[2000]], 9, options));
        }
      }
      // Every item within the radius: n = Infinity with maxDistance.
      const all = index.getNnsByVector(q, Infinity, { maxDistance: radius, searchK: Infinity, includeDistances: true });
      expect(canonical(all, metric)).toEqual(canonical(single.getNnsByVector(q, Infinity, { maxDistance: radius, searchK: Infinity, includeDistances: true }), metric));
      expect(all.ids.length).toBeGreaterThanOrEqual(13);
      // Nothing allowed: an empty answer; a filter naming one shard's items only asks that shard.
      expect(index.getNnsByVector(q, 5, { filter: [] })).toEqual([]);
      const oneShard = ids.filter((id) => id >= manifest.shards[1].firstId && id <= manifest.shards[1].lastId).slice(0, 50);
      expect(index.getNnsByVector(q, 5, { filter: oneShard, searchK: Infinity })).toEqual(single.getNnsByVector(q, 5, { filter: oneShard, searchK: Infinity }));
    }
  });

  it('bad options and failing filters are reported with the global ids', async () => {
    const { dir } = buildBoth('filter-errors', 'euclidean', Array.from({ length: N }, (_, r) => 2 * r));
    const index = ShardedIndex.open(dir);
    const q = row(N);
    expect(() => index.getNnsByVector(q, 5, { filter: [4, 2 * N] })).toThrow(/item id 6000|6000/);
    expect(() => index.getNnsByVector(q, 5, { filter: (id: number) => { if (id === 2 * 2500) throw new Error('boom'); return true; }, searchK: Infinity }))
      .toThrow(/the filter function threw for item 5000: boom/);
    expect(() => index.getNnsByVector(q, 5, { filter: (() => 1) as unknown as (id: number) => boolean })).toThrow(/must return true or false, but returned 1 for item \d*[02468]\b/);
    await expect(index.getNnsByVectorsAsync([q], 5, { filter: (id: number) => { if (id === 4000) throw new Error('bang'); return true; } })).rejects.toThrow(/threw for item 4000: bang/);
    expect(() => index.getNnsByVector(q, 5, { maxDistance: -1 })).toThrow(/maxDistance must not be negative/);
    expect(() => index.getNnsByVector(q, Infinity)).toThrow(/Infinity only with maxDistance/);
    expect(() => index.getNnsByVector(q, 5, { serchK: 10 } as QueryOptions)).toThrow(/unknown option "serchK"/);
    expect(() => index.getNnsByVector(q, 5, { searchK: 10 }, true as never)).toThrow(/inside the options object/);
    // The index stays usable.
    expect(index.getNnsByVector(q, 3)).toHaveLength(3);
    await index.close();
  });
});

describe('building', () => {
  it('writes every file through a rename and the manifest last; a rebuild replaces the whole set', () => {
    const dir = join(work, 'rebuild');
    const first = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 200_000 });
    for (let r = 0; r < 1500; r++) first.addItem(r, row(r));
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    const m1 = first.finish();
    const old = ShardedIndex.open(dir);
    const second = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 400_000 });
    for (let r = 0; r < 2000; r++) second.addItem(r, row(r));
    // Until the new manifest is written, the folder still opens as the old set.
    expect(ShardedIndex.open(dir).manifest.build).toBe(m1.build);
    const m2 = second.finish();
    expect(m2.build).not.toBe(m1.build);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.includes(m1.build))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tmp') || f.startsWith('.build-'))).toEqual([]);
    expect(ShardedIndex.open(dir).size).toBe(2000);
    expect(old.getNnsByItem(10, 3)).toHaveLength(3); // an index opened before keeps working (it is in memory)
  });

  it('resume: shards an interrupted build wrote are reused, and the result is the same files', () => {
    const items = (builder: ShardedIndexBuilder, upTo: number) => {
      for (let r = 0; r < upTo; r++) builder.addItem(r, row(r));
    };
    const fresh = new ShardedIndexBuilder(join(work, 'fresh'), F, 'angular', { nTrees: 3, maxShardBytes: 200_000, seed: 3 });
    items(fresh, 2000);
    const want = fresh.finish();
    const dir = join(work, 'resumed');
    const interrupted = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 200_000, seed: 3, resume: true });
    items(interrupted, 1100); // dies here: some shards written, no manifest
    expect(interrupted.shardsWritten).toBeGreaterThanOrEqual(2);
    const written = interrupted.shardsWritten;
    const built: ShardBuilt[] = [];
    const again = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 200_000, seed: 3, resume: true, onShard: (s) => built.push(s) });
    items(again, 2000);
    const got = again.finish();
    expect(built.slice(0, written).every((s) => s.reused)).toBe(true);
    expect(built.slice(written).every((s) => !s.reused)).toBe(true);
    expect(got.shards.map((s) => s.checksum)).toEqual(want.shards.map((s) => s.checksum));
    // Other items in a resumed build: nothing is reused.
    const other = new ShardedIndexBuilder(join(work, 'resumed-other'), F, 'angular', { nTrees: 3, maxShardBytes: 200_000, seed: 3, resume: true });
    items(other, 1100);
    const changed: ShardBuilt[] = [];
    const next = new ShardedIndexBuilder(join(work, 'resumed-other'), F, 'angular', { nTrees: 3, maxShardBytes: 200_000, seed: 3, resume: true, onShard: (s) => changed.push(s) });
    for (let r = 0; r < 2000; r++) next.addItem(r, row((r + 1) % 2000));
    next.finish();
    expect(changed.some((s) => s.reused)).toBe(false);
  });

  it('refuses bad input with clear errors', () => {
    const dir = join(work, 'bad-build');
    expect(() => new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 100 })).toThrow(/too small for even one item/);
    expect(() => new ShardedIndexBuilder(dir, F, 'cosine' as MetricName, { nTrees: 3 })).toThrow(/unknown metric/);
    expect(() => new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 0 })).toThrow(/nTrees/);
    const builder = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 3, maxShardBytes: 200_000 });
    expect(() => builder.finish()).toThrow(AnnoyStateError);
    builder.addItem(4, row(0));
    expect(() => builder.addItem(4, row(1))).toThrow(/item 4 was already added/);
    expect(() => builder.addItem(5, [1, 2])).toThrow(/wrong length/);
    expect(() => builder.addItem(-1, row(1))).toThrow(/negative/);
    builder.abort();
    const foreign = join(work, 'foreign');
    const plain = new AnnoyIndex(F, 'angular');
    plain.addItem(0, row(0));
    plain.build(1);
    mkdirSync(foreign, { recursive: true });
    plain.save(join(foreign, 'words.ann'));
    expect(() => new ShardedIndexBuilder(foreign, F, 'angular', { nTrees: 3 })).toThrow(/words\.ann, which is not a shard/);
  });
});

/** open() and openAsync() (shards read on worker threads) must refuse a folder with the same error. */
async function refused(dir: string, pattern: RegExp, options: { verifyChecksum?: boolean } = {}): Promise<void> {
  expect(() => ShardedIndex.open(dir, options)).toThrow(pattern);
  await expect(ShardedIndex.openAsync(dir, options)).rejects.toThrow(pattern);
}

describe('bad folders are refused, naming the shard', () => {
  let good: string;
  let manifest: ShardManifest;
  beforeAll(() => {
    const built = buildBoth('good', 'angular', Array.from({ length: 2000 }, (_, r) => 3 * r), { maxShardBytes: 300_000 });
    good = built.dir;
    manifest = built.manifest;
    expect(manifest.shards.length).toBeGreaterThanOrEqual(4);
  });
  let copies = 0;
  const copy = (): string => {
    const dir = join(work, `bad-${copies++}`);
    cpSync(good, dir, { recursive: true });
    return dir;
  };
  const editManifest = (dir: string, edit: (m: Record<string, unknown> & { shards: Record<string, unknown>[] }) => void) => {
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    edit(m);
    writeFileSync(path, JSON.stringify(m));
  };

  it('a missing shard', async () => {
    const dir = copy();
    rmSync(join(dir, manifest.shards[2].file));
    expect(() => ShardedIndex.open(dir)).toThrow(AnnoyFormatError);
    await refused(dir, new RegExp(`shard 2 of ${manifest.shards.length} .*${manifest.shards[2].file}.* is missing`));
  });

  it('allowPartial: answers from the other shards; items of the missing one are an error', async () => {
    const dir = copy();
    rmSync(join(dir, manifest.shards[1].file));
    const index = ShardedIndex.open(dir, { allowPartial: true });
    expect(index.failedShards.map((s) => s.shard)).toEqual([1]);
    const full = ShardedIndex.open(good);
    const q = row(N);
    const expected = mergeNearest(manifest.shards.filter((_, k) => k !== 1).map((s) => {
      const k = manifest.shards.indexOf(s);
      const r = full.shard(k)!.getNnsByVector(q, 10, Infinity, true);
      return { ids: r.ids.map((l) => s.firstId + 3 * l), distances: r.distances };
    }), 10, false);
    expect(index.getNnsByVector(q, 10, Infinity, true)).toEqual(expected);
    expect(() => index.getItemVector(manifest.shards[1].firstId)).toThrow(AnnoyStateError);
    expect(index.getItemVector(manifest.shards[0].firstId)).toEqual(full.getItemVector(manifest.shards[0].firstId));
    const viaThreads = await ShardedIndex.openAsync(dir, { allowPartial: true });
    expect(viaThreads.failedShards.map((s) => [s.shard, s.error.name])).toEqual([[1, 'AnnoyFormatError']]);
    expect(viaThreads.getNnsByVector(q, 10, Infinity, true)).toEqual(expected);
  });

  it('an extra shard (an index file the manifest does not list)', async () => {
    const dir = copy();
    const extra = manifest.shards[0].file.replace('shard-0000', `shard-${String(manifest.shards.length).padStart(4, '0')}`);
    copyFileSync(join(dir, manifest.shards[0].file), join(dir, extra));
    await refused(dir, new RegExp(`${extra} is not listed in .*manifest\\.json`));
    // A shard left over by another build is not part of this set: ignored.
    const dir2 = copy();
    copyFileSync(join(dir2, manifest.shards[0].file), join(dir2, 'shard-0000-0badc0de.ann'));
    expect(ShardedIndex.open(dir2).size).toBe(2000);
  });

  it('a truncated shard', async () => {
    const dir = copy();
    const path = join(dir, manifest.shards[3].file);
    truncateSync(path, manifest.shards[3].byteLength - 412);
    await refused(dir, /shard 3 of .* is \d+ bytes, but the manifest says \d+ \(truncated/);
  });

  it('a mismatched shard (another build\'s file and sidecar under this name)', async () => {
    // The same items, one of them nudged in its last bits: same trees, same length, other bytes.
    const ids = Array.from({ length: 2000 }, (_, r) => 3 * r);
    const dir = join(work, 'nudged');
    const builder = new ShardedIndexBuilder(dir, F, 'angular', { nTrees: 4, maxShardBytes: 300_000, seed: 7 });
    ids.forEach((id, r) => builder.addItem(id, r === manifest.shards[1].nItems + 5 ? Array.from(itemVector('angular', r), (x) => x * (1 + 2 ** -20)) : itemVector('angular', r)));
    const other = builder.finish();
    expect(other.shards[1].byteLength).toBe(manifest.shards[1].byteLength);
    expect(other.shards[1].checksum).not.toBe(manifest.shards[1].checksum);
    const bad = copy();
    for (const suffix of ['', '.json']) copyFileSync(join(dir, other.shards[1].file + suffix), join(bad, manifest.shards[1].file + suffix));
    // The sidecar's checksum gives it away, even without verifying the bytes.
    await refused(bad, /shard 1 of .*belongs to another build/, { verifyChecksum: false });
    rmSync(join(bad, manifest.shards[1].file + '.json'));
    await refused(bad, /shard 1 of .*checksum crc32:[0-9a-f]{8}, but the manifest says/);
  });

  it('a shard of another dimension or metric', async () => {
    // Euclidean records with f = 99 are as long as angular ones with f = 100 (412 bytes): only the sidecar tells them apart.
    const dir = copy();
    const other = new AnnoyIndex(F - 1, 'euclidean');
    for (let r = 0; r < manifest.shards[2].nItems; r++) other.addItem(r, row(r).subarray(0, F - 1));
    other.build(2);
    other.save(join(dir, manifest.shards[2].file));
    const sidecar = JSON.parse(readFileSync(join(dir, manifest.shards[2].file + '.json'), 'utf8'));
    editManifest(dir, (m) => Object.assign(m.shards[2], { byteLength: sidecar.byteLength, checksum: sidecar.checksum }));
    expect(() => ShardedIndex.open(dir)).toThrow(AnnoyFormatError);
    await refused(dir, /shard 2 of .*f = 100 and metric 'angular' were given, but .* says the index was built with f = 99 and metric 'euclidean'/);
    const dir2 = copy();
    editManifest(dir2, (m) => (m.metric = 'dot'));
    await refused(dir2, /not a whole number of 416-byte records/);
  });

  it('a manifest of another version, format or a damaged one', async () => {
    const dir = copy();
    editManifest(dir, (m) => (m.version = 2));
    await refused(dir, /manifest version 2 is newer than this annoy-ts understands \(1\)/);
    editManifest(dir, (m) => Object.assign(m, { version: 1, format: 'something-else' }));
    await refused(dir, /not a sharded annoy-ts index/);
    const dir2 = copy();
    editManifest(dir2, (m) => (m.count = 1999));
    await refused(dir2, /count is 1999, but the shards hold 2000 items/);
    const dir3 = copy();
    writeFileSync(join(dir3, 'manifest.json'), '{"format": "annoy-ts-sharded", ');
    await refused(dir3, /manifest\.json is not valid JSON/);
    const dir4 = copy();
    rmSync(join(dir4, 'manifest.json'));
    await refused(dir4, /is not a sharded index: it has no manifest\.json/);
  });

  it('a damaged id file', async () => {
    const dir = copy();
    const entry = manifest.shards.find((s) => 'file' in s.ids)!;
    const k = manifest.shards.indexOf(entry);
    const file = (entry.ids as { file: string }).file;
    const ids = new Int32Array(new Uint8Array(readFileSync(join(dir, file))).buffer);
    [ids[3], ids[4]] = [ids[4], ids[3]];
    writeFileSync(join(dir, file), new Uint8Array(ids.buffer));
    await refused(dir, new RegExp(`shard ${k} of .*id file .* has checksum`));
    await refused(dir, new RegExp(`shard ${k} of .*not strictly ascending at position 4`), { verifyChecksum: false });
  });
});
