import { AnnoyArgumentError } from './errors.ts';
import { jsKernels, newWasmMemory, useWasm, wasmKernels, type Kernels } from './kernels/kernels.ts';
import type { WasmMemory } from './kernels/wasm.ts';

const PAGE = 65536;
/** WebAssembly (wasm32) memories stop at 4 GiB. */
const WASM_MAX_PAGES = 65536;
/** The largest index held in a plain ArrayBuffer (the fallback when WebAssembly is unavailable). */
const MAX_INDEX_BYTES = 2 ** 32 - PAGE;

/**
 * One index's memory: a WebAssembly.Memory (so the SIMD kernels read records in place) or, as a
 * fallback, a plain ArrayBuffer. Regions are handed out from the bottom; the last region (the
 * record store) grows at the top. Views are replaced when the memory grows: read them afresh.
 */
export class Arena {
  /** The WebAssembly memory (null for the JavaScript fallback); shared ones can be handed to workers. */
  readonly memory: WasmMemory | null;
  buffer: ArrayBuffer | SharedArrayBuffer;
  f32!: Float32Array;
  i32!: Int32Array;
  u32!: Uint32Array;
  u8!: Uint8Array;
  readonly kernels: Kernels;
  /** Bytes handed out so far. */
  top = 0;

  /** A new arena of at least `initialBytes`, or (in a worker) one over another thread's shared memory. */
  constructor(initialBytes: number, existing?: WasmMemory) {
    if (initialBytes > MAX_INDEX_BYTES) throw tooLarge(initialBytes);
    let memory: WasmMemory | null = existing ?? null;
    let kernels: Kernels | null = null;
    if (memory) {
      kernels = wasmKernels(memory);
      if (!kernels) throw new Error('internal: WebAssembly kernels unavailable for a shared memory');
    } else if (useWasm() && initialBytes <= WASM_MAX_PAGES * PAGE) {
      memory = newWasmMemory(Math.max(1, Math.ceil(initialBytes / PAGE)));
      kernels = memory && wasmKernels(memory);
    }
    this.memory = kernels ? memory : null;
    this.buffer = this.memory ? this.memory.buffer : allocate(Math.max(initialBytes, PAGE), initialBytes);
    if (existing) this.top = this.buffer.byteLength;
    this.makeViews();
    this.kernels = kernels ?? jsKernels(this);
  }

  private makeViews(): void {
    this.f32 = new Float32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
  }

  /** Whether worker threads can share this memory. */
  get shared(): boolean {
    return typeof SharedArrayBuffer === 'function' && this.buffer instanceof SharedArrayBuffer;
  }

  /** Picks up growth done elsewhere (another thread growing a shared memory). */
  refresh(): void {
    if (this.memory && this.memory.buffer !== this.buffer) {
      this.buffer = this.memory.buffer;
      this.makeViews();
    }
  }

  /** Hands out `bytes` (rounded up to 8) at the top. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 8) * 8;
    this.ensure(this.top);
    return at;
  }

  /** Makes the memory at least `bytes` long, growing by at least 1.5× so repeated growth stays cheap. */
  ensure(bytes: number): void {
    if (bytes <= this.buffer.byteLength) return;
    if (bytes > MAX_INDEX_BYTES) throw tooLarge(bytes);
    const wanted = Math.min(Math.max(bytes, Math.ceil(this.buffer.byteLength * 1.5)), MAX_INDEX_BYTES);
    if (this.memory) {
      const have = this.buffer.byteLength / PAGE;
      try {
        this.memory.grow(Math.ceil(wanted / PAGE) - have);
      } catch {
        try {
          this.memory.grow(Math.ceil(bytes / PAGE) - have);
        } catch (cause) {
          throw new AnnoyArgumentError(`cannot grow the index's memory to ${bytes} bytes (out of memory)`, { cause });
        }
      }
      this.buffer = this.memory.buffer;
    } else {
      const next = allocate(wanted, bytes);
      new Uint8Array(next).set(new Uint8Array(this.buffer, 0, Math.min(this.top, this.buffer.byteLength)));
      this.buffer = next;
    }
    this.makeViews();
  }
}

function tooLarge(bytes: number): AnnoyArgumentError {
  return new AnnoyArgumentError(`the index would need ${bytes} bytes, more than the ${MAX_INDEX_BYTES} bytes one index can hold in memory`);
}

function allocate(bytes: number, minimum: number): ArrayBuffer {
  try {
    return new ArrayBuffer(bytes);
  } catch (cause) {
    if (bytes > minimum) return allocate(minimum, minimum);
    throw new AnnoyArgumentError(`cannot allocate ${bytes} bytes for the index (out of memory)`, { cause });
  }
}

/**
 * A run of fixed-size records inside an arena, laid out exactly like an Annoy file. The record
 * store of an index is the arena's last region, so it can grow in place.
 */
export class Records {
  readonly arena: Arena;
  readonly byteOffset: number;
  readonly recordBytes: number;
  readonly recordWords: number;
  /** Word index (in the arena's 32-bit views) of record 0. */
  readonly base: number;
  /** Records in use. */
  count = 0;
  /** Records that fit. */
  capacity: number;
  private readonly growable: boolean;

  /**
   * A region of `capacity` records at the arena's top (`growable` regions must be the last one
   * allocated), or at `byteOffset` when another thread allocated it.
   */
  constructor(arena: Arena, recordBytes: number, capacity: number, growable = false, byteOffset?: number) {
    this.arena = arena;
    this.recordBytes = recordBytes;
    this.recordWords = recordBytes >>> 2;
    this.byteOffset = byteOffset ?? arena.alloc(capacity * recordBytes);
    this.base = this.byteOffset >>> 2;
    this.capacity = capacity;
    this.growable = growable;
  }

  /** Word index of record `i` in the arena's views. */
  word(i: number): number {
    return this.base + i * this.recordWords;
  }

  /** Byte offset of record `i` in the arena. */
  ptr(i: number): number {
    return this.byteOffset + i * this.recordBytes;
  }

  /** Makes room for at least `n` records (the arena grows by at least 1.5× at a time). */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    if (!this.growable) throw new Error('internal: this record region cannot grow');
    const oldEnd = this.byteOffset + this.capacity * this.recordBytes;
    const usedEnd = this.arena.top;
    this.arena.ensure(this.byteOffset + n * this.recordBytes);
    this.capacity = Math.floor((this.arena.buffer.byteLength - this.byteOffset) / this.recordBytes);
    this.arena.top = this.byteOffset + this.capacity * this.recordBytes;
    // Regions handed out above the store since (a search workspace) now belong to it: records must
    // start zero-filled. Memory beyond the old top is fresh, hence zero already.
    if (usedEnd > oldEnd) this.arena.u8.fill(0, oldEnd, Math.min(usedEnd, this.arena.top));
  }

  /** Appends one zero-filled record and returns its id. */
  append(): number {
    if (this.count === this.capacity) this.reserve(this.count + 1);
    return this.count++;
  }

  /** Drops records from `n` on, zero-filling them so a later build starts from clean bytes. */
  truncate(n: number): void {
    if (n >= this.count) return;
    this.arena.i32.fill(0, this.word(n), this.word(this.count));
    this.count = n;
  }

  copyRecord(from: number, to: number, source: Records = this): void {
    const i32 = this.arena.i32, w = this.recordWords;
    const s = source.word(from);
    i32.copyWithin(this.word(to), s, s + w);
  }

  zeroRecord(i: number): void {
    const w = this.word(i);
    this.arena.i32.fill(0, w, w + this.recordWords);
  }

  /** The bytes of the records in use, as a view (valid until the memory grows). */
  bytes(): Uint8Array {
    return new Uint8Array(this.arena.buffer, this.byteOffset, this.count * this.recordBytes);
  }
}
