// The checksum a sidecar stores of its index's bytes: CRC-32 (the zlib / PNG / gzip polynomial)
// written as `crc32:` and 8 lower-case hex digits. Pure JavaScript here, so the portable build can
// check sidecars too; the Node entry computes the same CRC with zlib's native code (node/checksum.ts).

/** A CRC-32 implementation: the unsigned 32-bit CRC of `bytes`. */
export type Crc32 = (bytes: Uint8Array) => number;

let table: Uint32Array | null = null;

/** @internal CRC-32 in plain JavaScript (byte-wise table): a few hundred MB/s. `value`: the CRC of the bytes before. */
export function crc32Portable(bytes: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let c = ~value >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A CRC-32 as sidecars, graph headers' companions and shard manifests write it: `crc32:` and 8 lower-case hex digits. */
export function checksumText(crc: number): string {
  return `crc32:${(crc >>> 0).toString(16).padStart(8, '0')}`;
}

/** @internal The sidecar's checksum of `bytes`, computed with `crc32` (default: the portable one). */
export function checksumOf(bytes: Uint8Array, crc32: Crc32 = crc32Portable): string {
  return checksumText(crc32(bytes));
}
