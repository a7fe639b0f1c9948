// Jazzer.js target: arbitrary text parsed as a sidecar (the `index.ann.json` file annoy-ts writes).
// Promises: parseSidecar returns a sidecar or throws AnnoyFormatError naming the file; a sidecar it
// accepts is self-consistent (recordBytes fits f and metric, byteLength is whole records, counts
// are positive integers) and survives JSON.stringify → parseSidecar unchanged.
import { AnnoyFormatError, parseSidecar } from '../../packages/annoy-ts/src/node/index.ts';
import { createMetric } from '../../packages/annoy-ts/src/metrics/index.ts';
import { bytesOf, only, violation } from './common.ts';

const WHERE = '/fuzz/index.ann.json';

export function checkSidecarText(data: Uint8Array): void {
  const text = new TextDecoder().decode(bytesOf(data));
  const sidecar = only([AnnoyFormatError], 'parseSidecar', () => parseSidecar(text, WHERE));
  if (!sidecar) return;
  const { f, metric, recordBytes, byteLength, nItems, nTrees } = sidecar;
  const expected = only([], 'createMetric for an accepted sidecar', () => createMetric(f, metric).recordBytes);
  if (recordBytes !== expected) violation(`accepted recordBytes ${recordBytes} for ${metric} f=${f} (records are ${expected} bytes)`);
  if (!Number.isSafeInteger(byteLength) || byteLength < 1 || byteLength % recordBytes !== 0) violation(`accepted byteLength ${byteLength}`);
  for (const [k, v] of Object.entries({ nItems, nTrees })) if (!Number.isSafeInteger(v) || v < 1) violation(`accepted ${k} = ${v}`);
  if (!/^crc32:[0-9a-f]{8}$/.test(sidecar.checksum)) violation(`accepted checksum ${sidecar.checksum}`);
  const again = only([], 'parseSidecar of its own JSON', () => parseSidecar(JSON.stringify(sidecar), WHERE));
  if (JSON.stringify(again) !== JSON.stringify(sidecar)) violation('a parsed sidecar does not survive JSON.stringify → parseSidecar');
}

export function fuzz(data: Buffer): void {
  checkSidecarText(data);
}
