// Files: loading bad files gives clear errors; a failed save never destroys a good index.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyFormatError, AnnoyIndex, AnnoyIOError } from '../../packages/annoy-ts/src/node/index.ts';
import { FIXTURES, fixturesAvailable } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function built(f = 8, n = 100, metric: 'angular' | 'euclidean' = 'angular', offset = 0): AnnoyIndex {
  const index = new AnnoyIndex(f, metric);
  for (let i = 0; i < n; i++) index.addItem(i, Array.from({ length: f }, (_, k) => Math.cos(i * 1.7 + k + offset)));
  index.build(4);
  return index;
}

describe('save', () => {
  it('writes exactly toBuffer() and leaves the index loaded (read-only, same answers)', () => {
    const index = built();
    const before = index.getNnsByItem(4, 10, -1, true);
    const bytes = Buffer.from(index.toBuffer());
    const path = join(dir, 'a.ann');
    index.save(path);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(() => index.addItem(200, new Array(8).fill(1))).toThrow(/read-only/);
    expect(index.getNnsByItem(4, 10, -1, true)).toEqual(before);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces an existing file in one step', () => {
    const path = join(dir, 'replace.ann');
    built(8, 100, 'angular', 0).save(path);
    const second = built(8, 150, 'angular', 1);
    const bytes = Buffer.from(second.toBuffer());
    second.save(path);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('a failed save leaves the existing file intact and no temporary file behind', () => {
    const sub = join(dir, 'readonly');
    mkdirSync(sub);
    const path = join(sub, 'good.ann');
    built().save(path);
    const good = readFileSync(path);
    chmodSync(sub, 0o500);
    try {
      const other = built(8, 120, 'angular', 2);
      // root ignores directory permissions; a path that is a directory fails the rename for everyone.
      if (process.getuid?.() !== 0) expect(() => other.save(path)).toThrow(AnnoyIOError);
    } finally {
      chmodSync(sub, 0o700);
    }
    const target = join(sub, 'is-a-directory.ann');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => built().save(target)).toThrow(/cannot save to .*is-a-directory\.ann/);
    expect(existsSync(join(target, 'keep'))).toBe(true);
    expect(readFileSync(path).equals(good)).toBe(true);
    expect(readdirSync(sub).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects a bad path argument', () => {
    expect(() => built().save('')).toThrow(/path must be a non-empty string/);
  });
});

describe('load', () => {
  it('missing, empty, truncated and foreign files give clear errors', () => {
    const index = new AnnoyIndex(8, 'angular');
    expect(() => index.load(join(dir, 'nope.ann'))).toThrow(AnnoyIOError);
    expect(() => index.load(join(dir, 'nope.ann'))).toThrow(/cannot open .*nope\.ann.*ENOENT/);
    const empty = join(dir, 'empty.ann');
    writeFileSync(empty, '');
    expect(() => index.load(empty)).toThrow(/empty \(0 bytes\)/);
    const good = join(dir, 'good.ann');
    built().save(good);
    const truncated = join(dir, 'truncated.ann');
    writeFileSync(truncated, readFileSync(good).subarray(0, 1000));
    expect(() => index.load(truncated)).toThrow(AnnoyFormatError);
    const text = join(dir, 'text.ann');
    writeFileSync(text, 'this is not an index\n'.repeat(44 * 3));
    expect(() => index.load(text)).toThrow(AnnoyFormatError);
    expect(() => index.load(dir)).toThrow(AnnoyIOError);
  });

  it('a file opened with the wrong f or metric is refused when its structure does not fit', () => {
    const path = join(dir, 'e16.ann');
    built(16, 300, 'euclidean').save(path);
    // Bytes alone (no sidecar): angular f = 17 has the same record size (80 bytes) as euclidean
    // f = 16, but not the same structure.
    const bytes = readFileSync(path);
    expect(() => AnnoyIndex.fromBuffer(bytes, 17, 'angular')).toThrow(AnnoyFormatError);
    expect(() => AnnoyIndex.fromBuffer(bytes, 12, 'euclidean')).toThrow(/not a whole number of 64-byte records/);
  });

  it.skipIf(!fixturesAvailable())('a failed load keeps the index that was loaded before', () => {
    const index = new AnnoyIndex(16, 'angular');
    index.load(join(FIXTURES, 'angular/index.ann'));
    const before = index.getNnsByItem(0, 5);
    expect(() => index.load(join(dir, 'nope.ann'))).toThrow(AnnoyIOError);
    expect(index.getNnsByItem(0, 5)).toEqual(before);
  });
});

describe('fromBuffer with a sidecar', () => {
  it('takes f and metric from the sidecar object and checks the bytes against it', () => {
    const path = join(dir, 'with-sidecar.ann');
    const index = built(8, 120, 'euclidean');
    index.save(path);
    const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
    const bytes = readFileSync(path);
    const opened = AnnoyIndex.fromBuffer(bytes, sidecar);
    expect([opened.f, opened.metric, opened.getNItems()]).toEqual([8, 'euclidean', 120]);
    expect(opened.getNnsByItem(3, 5, -1, true)).toEqual(index.getNnsByItem(3, 5, -1, true));
    expect(() => AnnoyIndex.fromBuffer(bytes.subarray(0, bytes.length - 32), sidecar)).toThrow(/describes a \d+-byte index/);
    const other = join(dir, 'other.ann');
    built(8, 121, 'euclidean').save(other);
    expect(() => AnnoyIndex.fromBuffer(readFileSync(other), { ...sidecar, byteLength: readFileSync(other).length })).toThrow(/belongs to another index/);
    expect(() => AnnoyIndex.fromBuffer(bytes, { ...sidecar, metric: 'cosine' })).toThrow(AnnoyFormatError);
  });
});
