// What the forest kernels (kernels.ts) and the graph kernels (graph/kernels.ts) both need to turn
// an embedded binary into a module: the WebAssembly API (typed locally, so no DOM typings leak
// into ours), base64 decoding, and the switch from a shared to a plain imported memory.

/** An index's (or a build's) WebAssembly memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

/** The runtime's WebAssembly, or undefined where there is none. */
export const WASM = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The compiled module, or null where the runtime refuses it (no SIMD, no threads, a Content-Security-Policy). */
export function compileWasm(bytes: Uint8Array): object | null {
  if (!WASM) return null;
  try {
    return WASM.validate(bytes) ? new WASM.Module(bytes) : null;
  } catch {
    return null;
  }
}

/**
 * Makes a binary built to import a shared memory import a plain one instead (for runtimes or
 * memories without SharedArrayBuffer): the limits flag of the "env"."memory" import goes from 3
 * (shared, has maximum) to 1. Changes `binary` in place; false when it has no such import.
 */
export function importPlainMemory(binary: Uint8Array): boolean {
  const at = indexOf(binary, [0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02]);
  if (at < 0 || binary[at + 12] !== 0x03) return false;
  binary[at + 12] = 0x01;
  return true;
}

function indexOf(bytes: Uint8Array, pattern: number[]): number {
  outer: for (let i = 0; i + pattern.length < bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 to bytes without relying on atob or Buffer (not every runtime has both). */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | BASE64.indexOf(clean[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}
