// Self-describing indexes: save() writes INDEX.json beside the untouched Annoy file, open() reads
// f and metric from it and checks that the file is the one it describes; inferRecordLayout() guesses f
// and metric for files without one (Annoy's own).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, crc32, inferRecordLayout, parseSidecar, sidecarPath, type MetricName,
} from '../../packages/annoy-ts/src/node/index.ts';
import { crc32Portable } from '../../packages/annoy-ts/src/formats/checksum.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { FIXTURES, fixturesAvailable, loadFixtures } from '../helpers/fixtures.ts';
import { skipWithout } from '../helpers/requirements.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-sidecar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function built(f = 8, n = 200, metric: MetricName = 'angular', seed?: number, offset = 0): AnnoyIndex {
  const index = new AnnoyIndex(f, metric);
  if (seed !== undefined) index.setSeed(seed);
  for (let i = 0; i < n; i++) index.addItem(i, Array.from({ length: f }, (_, k) => Math.sin(i * 0.37 + k * 1.3 + offset) * (1 + (i % 5))));
  index.build(5);
  return index;
}

const sidecarOf = (path: string) => JSON.parse(readFileSync(sidecarPath(path), 'utf8')) as Record<string, unknown>;

describe('save() writes a sidecar', () => {
  it('describes the index, and the .ann file stays exactly what Annoy writes', () => {
    const index = built(8, 200, 'euclidean', -7);
    const bytes = Buffer.from(index.toBuffer());
    const path = join(dir, 'e.ann');
    index.save(path, { metadata: { model: 'test', dims: [8] } });
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(sidecarOf(path)).toEqual({
      format: 'annoy-ts-sidecar', version: 1, indexFormat: 'annoy-1.17', f: 8, metric: 'euclidean', nItems: 200, nTrees: 5,
      seed: String(2n ** 64n - 7n), recordBytes: 48, byteLength: bytes.length,
      checksum: `crc32:${zlibCrc32(bytes).toString(16).padStart(8, '0')}`,
      createdBy: expect.stringMatching(/^annoy-ts \d+\.\d+\.\d+/), metadata: { model: 'test', dims: [8] },
    });
    expect(index.sidecar?.checksum).toBe(sidecarOf(path)['checksum']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('records the default seed when none was set, and the trees built (not the roots Annoy scans)', () => {
    const index = new AnnoyIndex(16, 'angular');
    for (let i = 0; i < 10; i++) index.addItem(i, Array.from({ length: 16 }, (_, k) => i + k));
    index.build(10);
    const path = join(dir, 'tiny.ann');
    index.save(path);
    expect(sidecarOf(path)).toMatchObject({ nTrees: 10, nItems: 10, seed: '1234567890987654321' });
    // Annoy's root scan finds 19 roots in an index whose trees are single leaves (format spec 6).
    expect(AnnoyIndex.open(path).getNTrees()).toBe(19);
  });

  it('save(path, true) and save(path, { sidecar: false }) keep working; the latter also removes a stale sidecar', () => {
    const path = join(dir, 'plain.ann');
    built().save(path, true);
    expect(existsSync(sidecarPath(path))).toBe(true);
    built(8, 150).save(path, { sidecar: false });
    expect(existsSync(sidecarPath(path))).toBe(false);
    expect(() => built().save(path, { labels: '../x.json' })).toThrow(/plain file name/);
    expect(() => built().save(path, { metadata: [] as never })).toThrow(/plain object/);
  });

  it('a failed save keeps the old index and its sidecar, and leaves no temporary file', () => {
    const sub = join(dir, 'fail');
    mkdirSync(sub);
    const target = join(sub, 'folder.ann');
    mkdirSync(target); // renaming the new index over a folder fails
    writeFileSync(sidecarPath(target), 'old sidecar');
    expect(() => built().save(target)).toThrow(/cannot save to .*folder\.ann/);
    expect(readFileSync(sidecarPath(target), 'utf8')).toBe('old sidecar');
    const other = join(sub, 'other.ann');
    mkdirSync(sidecarPath(other));
    expect(() => built().save(other)).toThrow(/other\.ann\.json \(where the sidecar goes\) is a folder/);
    expect(existsSync(other)).toBe(false);
    expect(readdirSync(sub).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('AnnoyIndex.open()', () => {
  const path = join(dir, 'open.ann');
  const original = built(12, 300, 'dot', 3);
  const answer = original.getNnsByItem(7, 10, -1, true);
  original.save(path, { labels: 'open.ann.labels.json' });

  it('reads f and metric from the sidecar and answers like the saved index', () => {
    const index = AnnoyIndex.open(path);
    expect([index.f, index.metric, index.getNItems()]).toEqual([12, 'dot', 300]);
    expect(index.getNnsByItem(7, 10, -1, true)).toEqual(answer);
    expect(index.sidecar).toMatchObject({ f: 12, metric: 'dot', seed: '3', labels: 'open.ann.labels.json' });
    expect(AnnoyIndex.open(path, { f: 12, metric: 'dot' }).getNItems()).toBe(300);
  });

  it('refuses an f or metric that contradicts the sidecar, naming both values', () => {
    expect(() => AnnoyIndex.open(path, { f: 13 })).toThrow(AnnoyArgumentError);
    expect(() => AnnoyIndex.open(path, { f: 13 })).toThrow(/f = 13 was given, but .*open\.ann\.json says the index was built with f = 12/);
    expect(() => AnnoyIndex.open(path, { metric: 'angular' })).toThrow(/metric 'angular' was given, but .* built with metric 'dot'/);
    expect(() => AnnoyIndex.open(path, { metric: 'cosine' as MetricName })).toThrow(/unknown metric "cosine".*'angular'/);
  });

  it('refuses a file that is not the one the sidecar describes (checksum, size)', () => {
    const copy = join(dir, 'changed.ann');
    const bytes = readFileSync(path);
    writeFileSync(sidecarPath(copy), readFileSync(sidecarPath(path)));
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 200] ^= 1; // one bit of one vector component: the structure stays valid
    writeFileSync(copy, flipped);
    expect(() => AnnoyIndex.open(copy)).toThrow(AnnoyFormatError);
    expect(() => AnnoyIndex.open(copy)).toThrow(/changed\.ann has checksum crc32:[0-9a-f]{8}, but .*changed\.ann\.json says crc32:/);
    expect(AnnoyIndex.open(copy, { verifyChecksum: false }).getNItems()).toBe(300); // the caller's choice
    writeFileSync(copy, bytes.subarray(0, bytes.length - 64));
    expect(() => AnnoyIndex.open(copy, { verifyChecksum: false })).toThrow(/describes a \d+-byte index/);
  });

  it('without a sidecar asks for f and metric (or `annoy-ts info`), and opens with them', () => {
    const bare = join(dir, 'bare.ann');
    writeFileSync(bare, readFileSync(path));
    expect(() => AnnoyIndex.open(bare)).toThrow(/bare\.ann has no sidecar .* pass f and metric, or run `npx annoy-ts info .*bare\.ann` to infer them/);
    expect(() => AnnoyIndex.open(bare, { f: 12 })).toThrow(/has no sidecar/);
    expect(AnnoyIndex.open(bare, { f: 12, metric: 'dot' }).getNnsByItem(7, 10, -1, true)).toEqual(answer);
  });

  it('a broken or foreign sidecar is a clear error', () => {
    const bad = join(dir, 'bad.ann');
    writeFileSync(bad, readFileSync(path));
    const write = (o: unknown) => writeFileSync(sidecarPath(bad), typeof o === 'string' ? o : JSON.stringify(o));
    const good = sidecarOf(path);
    write('{ not json');
    expect(() => AnnoyIndex.open(bad)).toThrow(/bad\.ann\.json is not valid JSON/);
    write({ ...good, format: 'something-else' });
    expect(() => AnnoyIndex.open(bad)).toThrow(/not an annoy-ts sidecar/);
    write({ ...good, version: 99 });
    expect(() => AnnoyIndex.open(bad)).toThrow(/version 99 is newer than this annoy-ts understands/);
    write({ ...good, recordBytes: 99 });
    expect(() => AnnoyIndex.open(bad)).toThrow(/recordBytes is 99, but dot records with f = 12 are 64 bytes/);
    write({ ...good, labels: '/etc/passwd' });
    expect(() => AnnoyIndex.open(bad)).toThrow(/plain file name/);
    write({ ...good, nItems: 299 });
    expect(() => AnnoyIndex.open(bad)).toThrow(/holds 300 items, but .* says 299/);
    expect(() => parseSidecar(JSON.stringify({ ...good, f: 0 }), 'x.json')).toThrow(/x\.json: f must be an integer ≥ 1, got 0/);
  });
});

describe('load() and sidecars', () => {
  it.skipIf(skipWithout(fixturesAvailable(), 'the golden Annoy fixtures'))('re-saving a file loaded without a sidecar records an unknown seed', () => {
    const index = new AnnoyIndex(16, 'angular');
    index.load(join(FIXTURES, 'angular/index.ann'));
    const path = join(dir, 'resaved.ann');
    index.save(path);
    expect(sidecarOf(path)).toMatchObject({ f: 16, metric: 'angular', nItems: 500, nTrees: 10, seed: null });
    expect(readFileSync(path).equals(readFileSync(join(FIXTURES, 'angular/index.ann')))).toBe(true);
  });

  it('refuses a wrong f or metric only when the sidecar provably describes the file', () => {
    const path = join(dir, 'load.ann');
    built(16, 300, 'euclidean').save(path);
    // angular f = 17 has the same record size as euclidean f = 16 (80 bytes).
    expect(() => new AnnoyIndex(17, 'angular').load(path)).toThrow(/f = 17 and metric 'angular' were given, but .*load\.ann\.json says the index was built with f = 16 and metric 'euclidean'/);
    expect(() => new AnnoyIndex(16, 'manhattan').load(path)).toThrow(/metric 'manhattan' was given/);
    const index = new AnnoyIndex(16, 'euclidean');
    index.load(path);
    expect(index.getNItems()).toBe(300);
    // A stale sidecar (the index was rewritten by another tool) is ignored by load(): Annoy semantics.
    const other = built(16, 300, 'manhattan', 5);
    writeFileSync(path, other.toBuffer());
    const manhattan = new AnnoyIndex(16, 'manhattan');
    manhattan.load(path);
    expect(manhattan.getNnsByItem(3, 5)).toEqual(other.getNnsByItem(3, 5));
  });
});

describe('inferRecordLayout() on files without a sidecar', () => {
  it.skipIf(skipWithout(fixturesAvailable(), 'the golden Annoy fixtures'))('names the right f and metric for every file real Annoy wrote', () => {
    for (const fx of loadFixtures()) {
      const result = inferRecordLayout(new Uint8Array(readFileSync(fx.file('index.ann'))));
      const best = result.candidates[0];
      expect(best, fx.name).toBeDefined();
      expect(best.nItems, fx.name).toBe(fx.info.n_items);
      if (fx.metric === 'euclidean' || fx.metric === 'manhattan') {
        // Same records, same splits: the file cannot tell them apart, and the verdict says so.
        expect(result.candidates.slice(0, 2).map((c) => c.metric).sort(), fx.name).toEqual(['euclidean', 'manhattan']);
        expect(result.summary, fx.name).toMatch(/euclidean or manhattan, f = \d+: .*cannot tell them apart/);
        expect(best.f, fx.name).toBe(fx.f);
      } else if (fx.metric === 'hamming') {
        expect([best.metric, best.fMin! <= fx.f, fx.f <= best.f], fx.name).toEqual(['hamming', true, true]);
      } else {
        expect([best.metric, best.f], fx.name).toEqual([fx.metric, fx.f]);
      }
      // Annoy's 2014 files store no norms: angular is then only "possible", so confidence is lower.
      expect(result.confidence, fx.name).toBe(fx.name.startsWith('legacy') ? 'medium' : 'high');
    }
  });

  it.skipIf(skipWithout(fixturesAvailable(), 'the golden Annoy fixtures'))('tells angular f from dot f − 1 (same record size and structure) by the stored norms', () => {
    const angular = inferRecordLayout(new Uint8Array(readFileSync(join(FIXTURES, 'angular/index.ann'))));
    expect(angular.candidates.map((c) => [c.metric, c.f, c.verdict])).toEqual([['angular', 16, 'consistent'], ['dot', 15, 'unlikely']]);
    expect(angular.candidates[1].evidence).toMatch(/bytes 4–11 of an item are not zero/);
    const dot = inferRecordLayout(new Uint8Array(readFileSync(join(FIXTURES, 'dot/index.ann'))));
    expect(dot.candidates.map((c) => [c.metric, c.f, c.verdict])).toEqual([['dot', 16, 'consistent'], ['angular', 17, 'possible']]);
    expect(dot.candidates[0].evidence).toMatch(/dot_factor² \+ ‖v‖² is the same/);
  });

  it('names the metric of files annoy-ts writes, for every metric (hamming: the range of f)', () => {
    const rng = new Rng(9);
    const random = () => rng.nextFloat();
    for (const [metric, f] of [['angular', 6], ['euclidean', 5], ['manhattan', 9], ['dot', 7], ['hamming', 100]] as const) {
      const index = new AnnoyIndex(f, metric);
      for (let i = 0; i < 500; i++) index.addItem(i, Array.from({ length: f }, () => (metric === 'hamming' ? (random() > 0.5 ? 1 : 0) : random() * 2 - 1)));
      index.build(6);
      const result = inferRecordLayout(index.toBuffer());
      const best = result.candidates[0];
      expect(result.confidence, metric).toBe('high');
      if (metric === 'hamming') expect([best.metric, best.fMin, best.f]).toEqual(['hamming', 100, 128]);
      else if (metric === 'manhattan') expect(result.candidates.slice(0, 2).map((c) => [c.metric, c.f])).toEqual([['euclidean', 9], ['manhattan', 9]]);
      else expect([best.metric, best.f], metric).toEqual([metric, f]);
    }
  });

  it('reports no candidate for bytes that are not an index', () => {
    const result = inferRecordLayout(new TextEncoder().encode('this is not an index\n'.repeat(40)));
    expect(result.candidates).toEqual([]);
    expect(result.confidence).toBe('none');
    expect(result.summary).toMatch(/no \(metric, f\) fits/);
  });
});

describe('checksum', () => {
  it('the native CRC-32 and the portable fallback agree', () => {
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 31 + (i >> 7)) & 255);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    expect(crc32Portable(bytes)).toBe(crc32(bytes));
    expect(crc32Portable(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
