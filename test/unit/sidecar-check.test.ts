// checkAgainstSidecar: the one check every opener runs before it trusts a sidecar's f and metric
// (AnnoyIndex.open, fromBuffer with a sidecar, the server's loaders). Real files saved by annoy-ts;
// every mismatch and every bad argument is a clear error naming the problem.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, checkAgainstSidecar, crc32, parseSidecar, type Sidecar,
} from '../../packages/annoy-ts/src/node/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-sidecar-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function saved(name: string, n: number, f = 6): { bytes: Uint8Array; sidecar: Sidecar } {
  const index = new AnnoyIndex(f, 'euclidean');
  for (let i = 0; i < n; i++) index.addItem(i, Array.from({ length: f }, (_, k) => Math.cos(i * 1.3 + k)));
  index.build(4);
  const path = join(dir, name);
  index.save(path);
  return { bytes: new Uint8Array(readFileSync(path)), sidecar: parseSidecar(readFileSync(`${path}.json`, 'utf8'), `${path}.json`) };
}

describe('checkAgainstSidecar', () => {
  const { bytes, sidecar } = saved('a.ann', 120);

  it('accepts the bytes the sidecar describes and returns the sidecar (also from a plain parsed object)', () => {
    expect(checkAgainstSidecar(bytes, sidecar)).toEqual(sidecar);
    expect(checkAgainstSidecar(bytes, JSON.parse(JSON.stringify(sidecar)) as Sidecar, { crc32, f: 6, metric: 'euclidean' })).toEqual(sidecar);
    expect(checkAgainstSidecar(Buffer.from(bytes), sidecar, { crc: crc32(bytes) })).toEqual(sidecar);
    // A view into a larger buffer, at an odd offset.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(checkAgainstSidecar(shifted.subarray(3), sidecar)).toEqual(sidecar);
  });

  it('refuses a length, checksum or item count that does not match, naming the file, the sidecar and both values', () => {
    const names = { file: '/x/a.ann', sidecarFile: '/x/a.ann.json' };
    expect(() => checkAgainstSidecar(bytes.subarray(0, bytes.length - 32), sidecar, names))
      .toThrow(new RegExp(`^/x/a\\.ann is ${bytes.length - 32} bytes, but /x/a\\.ann\\.json describes a ${bytes.length}-byte index; the file is damaged`));
    const flipped = bytes.slice();
    flipped[40] ^= 4;
    expect(() => checkAgainstSidecar(flipped, sidecar, names)).toThrow(/^\/x\/a\.ann has checksum crc32:[0-9a-f]{8}, but \/x\/a\.ann\.json says crc32:/);
    expect(() => checkAgainstSidecar(flipped, sidecar, names)).toThrow(AnnoyFormatError);
    // Without the checksum the flipped byte goes unnoticed: only the length and the last record's count are read.
    expect(checkAgainstSidecar(flipped, sidecar, { verifyChecksum: false })).toEqual(sidecar);
    // A CRC computed elsewhere is compared, not recomputed.
    expect(() => checkAgainstSidecar(bytes, sidecar, { crc: (crc32(bytes) ^ 1) >>> 0 })).toThrow(/has checksum/);
    // Another index of the same size: the length matches, the checksum does not; unchecked, the item count gives it away.
    const other = saved('b.ann', 121);
    const sameSize = { ...other.sidecar, byteLength: bytes.length };
    expect(() => checkAgainstSidecar(bytes, sameSize)).toThrow(/^the index has checksum crc32:[0-9a-f]{8}, but the sidecar says/);
    expect(() => checkAgainstSidecar(bytes, { ...sameSize, checksum: sidecar.checksum }))
      .toThrow(/^the index holds 120 items, but the sidecar says 121: the sidecar belongs to another index/);
  });

  it('refuses an f or metric that the sidecar contradicts (an argument error naming both)', () => {
    expect(() => checkAgainstSidecar(bytes, sidecar, { f: 7 })).toThrow(/^f = 7 was given, but the sidecar says the index was built with f = 6$/);
    expect(() => checkAgainstSidecar(bytes, sidecar, { f: 7, metric: 'angular' }))
      .toThrow(/f = 7 and metric 'angular' were given, but the sidecar says the index was built with f = 6 and metric 'euclidean'/);
    expect(() => checkAgainstSidecar(bytes, sidecar, { metric: 'dot' })).toThrow(AnnoyArgumentError);
  });

  it('refuses bad arguments and sidecars that are not sidecars', () => {
    const cases: [() => unknown, typeof AnnoyArgumentError, RegExp][] = [
      [() => checkAgainstSidecar(bytes.buffer as unknown as Uint8Array, sidecar), AnnoyArgumentError, /bytes must be a Uint8Array \(or a Buffer\), got/],
      [() => checkAgainstSidecar('abc' as unknown as Uint8Array, sidecar), AnnoyArgumentError, /bytes must be a Uint8Array/],
      [() => checkAgainstSidecar(null as unknown as Uint8Array, sidecar), AnnoyArgumentError, /got null/],
      [() => checkAgainstSidecar(new Float32Array(4) as unknown as Uint8Array, sidecar), AnnoyArgumentError, /bytes must be a Uint8Array/],
      [() => checkAgainstSidecar(bytes, sidecar, null as unknown as object), AnnoyArgumentError, /options must be an object, got null/],
      [() => checkAgainstSidecar(bytes, sidecar, { verifyChecksum: 'yes' as unknown as boolean }), AnnoyArgumentError, /verifyChecksum must be true or false/],
      [() => checkAgainstSidecar(bytes, sidecar, { crc: -1 }), AnnoyArgumentError, /crc must be an unsigned 32-bit integer, got -1/],
      [() => checkAgainstSidecar(bytes, sidecar, { crc: 2 ** 32 }), AnnoyArgumentError, /crc must be an unsigned 32-bit integer/],
      [() => checkAgainstSidecar(bytes, sidecar, { crc32: 'fast' as unknown as (b: Uint8Array) => number }), AnnoyArgumentError, /crc32 must be a function/],
      [() => checkAgainstSidecar(bytes, null as unknown as Sidecar), AnnoyFormatError, /the sidecar: expected a JSON object, got null/],
      [() => checkAgainstSidecar(bytes, { ...sidecar, format: 'other' } as unknown as Sidecar, { sidecarFile: 's.json' }), AnnoyFormatError, /^s\.json: not an annoy-ts sidecar/],
      [() => checkAgainstSidecar(bytes, { ...sidecar, recordBytes: 99 }), AnnoyFormatError, /recordBytes is 99/],
      [() => checkAgainstSidecar(bytes, { ...sidecar, checksum: 'md5:x' }), AnnoyFormatError, /checksum must look like "crc32:1a2b3c4d"/],
    ];
    for (const [run, Class, message] of cases) {
      expect(run, String(message)).toThrow(Class);
      expect(run).toThrow(message);
    }
  });
});
