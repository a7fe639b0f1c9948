// Float32 rows (the memtable's vectors) in a WebAssembly memory, scanned against a query by the
// SIMD kernels of assembly/scan.ts; where WebAssembly SIMD is missing, plain TypeScript loops.
import type { MetricName } from 'annoy-ts';
import { SCAN_WASM_BASE64 } from './scan-wasm.ts';

const PAGE = 65536;

interface ScanExports {
  dots(q: number, rows: number, count: number, f: number, out: number): void;
  squaredL2(q: number, rows: number, count: number, f: number, out: number): void;
  l1(q: number, rows: number, count: number, f: number, out: number): void;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum?: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  validate(bytes: Uint8Array): boolean;
}

const WASM = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: object | null | undefined;

function scanModule(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  try {
    const bytes = Uint8Array.from(atob(SCAN_WASM_BASE64), (c) => c.charCodeAt(0));
    if (WASM && WASM.validate(bytes)) compiled = new WASM.Module(bytes);
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Which kind of distance pass a metric needs from the kernels (hamming: none, it scans in TypeScript). */
export function scanKind(metric: MetricName): 'dots' | 'squaredL2' | 'l1' | null {
  switch (metric) {
    case 'angular':
    case 'dot':
      return 'dots';
    case 'euclidean':
      return 'squaredL2';
    case 'manhattan':
      return 'l1';
    default:
      return null;
  }
}

/**
 * Rows of f float32 values. `vectors` views all rows (re-read it after append: it moves when the
 * store grows). scan() fills a Float32Array with one kernel value per row.
 */
export class RowStore {
  readonly f: number;
  capacity: number;
  vectors: Float32Array;
  private readonly memory: { buffer: ArrayBuffer; grow(pages: number): number } | null;
  private readonly kernels: ScanExports | null;
  /** Byte offsets in the memory: the query, the rows, the results. */
  private readonly queryAt = 0;
  private readonly rowsAt: number;
  private outAt = 0;

  constructor(f: number, capacity: number) {
    this.f = f;
    this.capacity = capacity;
    this.rowsAt = Math.ceil((4 * f) / 16) * 16;
    const module = scanModule();
    if (module && WASM) {
      this.memory = new WASM.Memory({ initial: Math.ceil(this.bytesFor(capacity) / PAGE) });
      this.kernels = new WASM.Instance(module, { env: { memory: this.memory } }).exports as ScanExports;
    } else {
      this.memory = null;
      this.kernels = null;
    }
    this.vectors = this.view();
  }

  get simd(): boolean {
    return this.kernels !== null;
  }

  private bytesFor(capacity: number): number {
    return this.rowsAt + capacity * 4 * this.f + capacity * 4;
  }

  private view(): Float32Array {
    if (!this.memory) return new Float32Array(this.capacity * this.f);
    this.outAt = this.rowsAt + this.capacity * 4 * this.f;
    return new Float32Array(this.memory.buffer, this.rowsAt, this.capacity * this.f);
  }

  /** Room for at least `capacity` rows; rows already stored stay. */
  reserve(capacity: number): void {
    if (capacity <= this.capacity) return;
    const old = this.vectors;
    if (this.memory) {
      const need = this.bytesFor(capacity);
      const have = this.memory.buffer.byteLength;
      if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
      this.capacity = capacity;
      this.vectors = this.view();
    } else {
      this.capacity = capacity;
      this.vectors = this.view();
      this.vectors.set(old);
    }
  }

  /**
   * One kernel value per row 0 … count−1 against `query`: dot products, squared L2 or L1 sums
   * (float32 lanes). The result is a view valid until the next call or growth.
   */
  scan(kind: 'dots' | 'squaredL2' | 'l1', query: Float32Array, count: number): Float32Array {
    const f = this.f;
    if (this.kernels && this.memory) {
      new Float32Array(this.memory.buffer, this.queryAt, f).set(query);
      this.kernels[kind](this.queryAt, this.rowsAt, count, f, this.outAt);
      return new Float32Array(this.memory.buffer, this.outAt, count);
    }
    const out = new Float32Array(count), v = this.vectors;
    for (let j = 0; j < count; j++) {
      const at = j * f;
      let s = 0;
      if (kind === 'dots') for (let i = 0; i < f; i++) s += query[i]! * v[at + i]!;
      else if (kind === 'squaredL2') for (let i = 0; i < f; i++) { const d = query[i]! - v[at + i]!; s += d * d; }
      else for (let i = 0; i < f; i++) s += Math.abs(query[i]! - v[at + i]!);
      out[j] = s;
    }
    return out;
  }
}
