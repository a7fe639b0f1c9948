import { AnnoyArgumentError } from './errors.ts';

/**
 * The record store: one ArrayBuffer of fixed-size records, laid out exactly like an Annoy file,
 * with typed views over it. Building appends records, loading wraps file bytes without copying,
 * and search reads through the views. Views are recreated when the buffer grows, so callers
 * read `store.f32` etc. afresh after any call that may append.
 */
export class Records {
  buffer: ArrayBuffer;
  /** Byte offset of record 0 inside `buffer` (non-zero when wrapping a slice of a larger buffer). */
  byteOffset: number;
  f32!: Float32Array;
  i32!: Int32Array;
  u32!: Uint32Array;
  /** Records in use. */
  count = 0;
  /** Records that fit in the buffer. */
  capacity: number;
  readonly recordBytes: number;
  readonly recordWords: number;
  /** False for stores wrapping caller bytes: they are never grown or written by the library. */
  readonly growable: boolean;

  constructor(recordBytes: number, capacity: number, buffer?: ArrayBuffer, byteOffset = 0, growable = true) {
    this.recordBytes = recordBytes;
    this.recordWords = recordBytes >>> 2;
    this.capacity = capacity;
    this.buffer = buffer ?? allocate(capacity * recordBytes);
    this.byteOffset = byteOffset;
    this.growable = growable;
    this.makeViews();
  }

  /** Wraps existing bytes (whole records) without copying. `byteOffset` must be a multiple of 4. */
  static wrap(recordBytes: number, buffer: ArrayBuffer, byteOffset: number, byteLength: number): Records {
    const n = byteLength / recordBytes;
    const store = new Records(recordBytes, n, buffer, byteOffset, false);
    store.count = n;
    return store;
  }

  private makeViews(): void {
    const words = this.capacity * this.recordWords;
    this.f32 = new Float32Array(this.buffer, this.byteOffset, words);
    this.i32 = new Int32Array(this.buffer, this.byteOffset, words);
    this.u32 = new Uint32Array(this.buffer, this.byteOffset, words);
  }

  /** Makes room for at least `n` records, growing by 1.5× so appends stay amortised O(1). */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    if (!this.growable) throw new Error('internal: a wrapped record store cannot grow');
    const wanted = Math.max(n, Math.ceil(this.capacity * 1.5), 16);
    const next = allocate(wanted * this.recordBytes, n * this.recordBytes);
    const nextCapacity = Math.floor(next.byteLength / this.recordBytes);
    new Uint8Array(next).set(new Uint8Array(this.buffer, this.byteOffset, this.count * this.recordBytes));
    this.buffer = next;
    this.byteOffset = 0;
    this.capacity = nextCapacity;
    this.makeViews();
  }

  /** Appends one zero-filled record and returns its id. */
  append(): number {
    if (this.count === this.capacity) this.reserve(this.count + 1);
    return this.count++;
  }

  /** Drops records from `n` on, zero-filling them so a later build starts from clean bytes. */
  truncate(n: number): void {
    if (n >= this.count) return;
    this.i32.fill(0, n * this.recordWords, this.count * this.recordWords);
    this.count = n;
  }

  copyRecord(from: number, to: number, source: Records = this): void {
    const w = this.recordWords;
    this.i32.set(source.i32.subarray(from * w, from * w + w), to * w);
  }

  zeroRecord(i: number): void {
    const w = this.recordWords;
    this.i32.fill(0, i * w, i * w + w);
  }

  /** The bytes of the records in use, as a view (no copy). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer, this.byteOffset, this.count * this.recordBytes);
  }
}

/** The largest ArrayBuffer we try to allocate; V8 refuses more on most platforms. */
export const MAX_INDEX_BYTES = 2 ** 32 - 4096;

function allocate(bytes: number, minimum = bytes): ArrayBuffer {
  const size = Math.min(bytes, Math.max(minimum, MAX_INDEX_BYTES));
  if (minimum > MAX_INDEX_BYTES) {
    throw new AnnoyArgumentError(
      `the index would need ${minimum} bytes, more than the ${MAX_INDEX_BYTES} bytes one index can hold in memory`,
    );
  }
  try {
    return new ArrayBuffer(size);
  } catch (cause) {
    if (size > minimum) return allocate(minimum);
    throw new AnnoyArgumentError(`cannot allocate ${size} bytes for the index (out of memory)`, { cause });
  }
}
