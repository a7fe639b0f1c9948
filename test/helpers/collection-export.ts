// A MemoryCollection export (toBytes) with its JSON header changed, laid out and checksummed again
// as toBytes() does: for tests that need a well-formed export that says something wrong.
import * as zlib from 'node:zlib';

/** The export with its header changed by `tamper`, re-laid out and re-checksummed like toBytes() does. */
export function retamper(bytes: Uint8Array, tamper: (header: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length))) as Record<string, unknown>;
  tamper(header);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const pad = (n: number) => Math.ceil(n / 8) * 8;
  const rest = bytes.subarray(pad(16 + length), bytes.length - 4);
  const out = new Uint8Array(pad(16 + text.length) + rest.length + 4);
  out.set(bytes.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, 16);
  out.set(rest, pad(16 + text.length));
  new DataView(out.buffer).setUint32(out.length - 4, zlib.crc32(out.subarray(0, out.length - 4)) >>> 0, true);
  return out;
}
