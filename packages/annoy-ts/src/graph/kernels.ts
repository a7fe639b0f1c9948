import type { Arena } from '../records.ts';
import { compileWasm, decodeBase64, importPlainMemory, WASM, type WasmMemory } from '../kernels/wasm.ts';
import { GRAPH_WASM_BASE64 } from './wasm-binary.ts';

/**
 * The neighbour graph's search kernels over an index's memory (see assembly/graph.ts):
 * WebAssembly SIMD bound to the index's own memory, or the same walk in TypeScript where the index
 * has no WebAssembly memory. Pointers are byte offsets into the arena.
 */
export interface GraphKernels {
  readonly kind: 'wasm-simd' | 'js';
  /** Quantizes items 0 … count − 1 into int8 codes (see quantize() in assembly/graph.ts); WebAssembly only. */
  quantize?(base: number, stride: number, off: number, n: number, count: number, center: number, invScale: number, codes: number, nPad: number, inv: number): void;
  /**
   * The beam search described by the 32-bit fields at byte `block` (see W): the number of results,
   * left nearest first at W.RES (a full candidate heap keeps no more candidates: the walk ends
   * sooner). `quantized`: walk on int8 codes (WebAssembly only).
   */
  search(kind: number, quantized: boolean, block: number): number;
}

/** The build's kernels (assembly/graph.ts, "build"), over a memory of the build's own. */
export interface BuildExports {
  buildInit(block: number): void;
  buildGroupPairs(block: number, ids: number, m: number, buf: number): number;
  buildApply(block: number, buf: number, count: number, part: number, parts: number): number;
  buildDistancesFrom(block: number, a: number, ids: number, count: number, out: number): void;
  buildSampleForward(block: number, lo: number, hi: number, scratch: number): void;
  buildSampleReverse(block: number, part: number, parts: number): void;
  buildJoin(block: number, lo: number, hi: number, buf: number, mark: number, set: number): number;
  buildPrune(block: number, lo: number, hi: number, scratch: number): void;
  buildMerge(block: number, lo: number, hi: number, revOff: number, revIds: number, revDs: number, outIds: number, outN: number, mark: number, scratch: number, scratchCap: number): void;
}

export interface BuildKernels {
  readonly memory: WasmMemory;
  /** The compiled module (worker threads instantiate it over the same memory). */
  readonly module: object;
  readonly exports: BuildExports;
  /** Views of the build memory (it never grows after creation). */
  views(): { i32: Int32Array; u32: Uint32Array; f32: Float32Array; u8: Uint8Array };
}

/** In a worker thread: the build's kernels over a build memory another thread made (buildKernels). */
export function attachBuildKernels(memory: WasmMemory, module: object): BuildExports {
  return new WASM!.Instance(module, { env: { memory } }).exports as BuildExports;
}

/**
 * A fresh WebAssembly memory of at least `bytes` (shared when the runtime allows, so worker
 * threads can join the build) with the graph module bound to it; null without WebAssembly.
 */
export function buildKernels(bytes: number): BuildKernels | null {
  if (!WASM) return null;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) return null;
  const shared = typeof SharedArrayBuffer === 'function';
  let memory: WasmMemory;
  try {
    memory = new WASM.Memory({ initial: pages, maximum: pages, shared });
  } catch {
    return null;
  }
  const module = graphModule(memory.buffer instanceof ArrayBuffer ? false : shared);
  if (!module) return null;
  const exports = new WASM.Instance(module, { env: { memory } }).exports as BuildExports;
  return {
    memory,
    module,
    exports,
    views: () => {
      const b = memory.buffer;
      return { i32: new Int32Array(b), u32: new Uint32Array(b), f32: new Float32Array(b), u8: new Uint8Array(b) };
    },
  };
}

/** Where the vectors the graph compares are and how to compare them (graph/space.ts derives it from the metric). */
export interface GraphSpace {
  /** 0 angular, 1 euclidean, 2 manhattan, 3 dot (augmented), 4 hamming: see assembly/graph.ts. */
  readonly kind: number;
  /** The store's records: byte offset of record 0, record size. */
  readonly base: number;
  readonly stride: number;
  /** Byte offset of the compared vector inside a record, and its length in units (floats; hamming: 64-bit words). */
  readonly off: number;
  readonly n: number;
  /** The metric's f (floats the trees' split planes hold; hamming: bits). */
  readonly f: number;
  /** Byte offset of 1/|x| per item (angular), else 0. */
  readonly inv: number;
}

/**
 * Field numbers (32-bit words) of a search's description block, as assembly/graph.ts reads them:
 * byte offsets into the arena, counts, and (A, WSTEP) float32.
 */
export const W = {
  QUERY: 0, F: 1, N: 2, BASE: 3, STRIDE: 4, OFF: 5, AUX: 6, ITEMS: 7, K: 8,
  ROOTS: 9, NROOTS: 10, SEEDS: 11, OFFSETS: 12, NBRS: 13, EF: 14, BUDGET: 15, VISITED: 16,
  TRAIL: 17, TRAILCAP: 18, BATCH: 19, CAND: 20, CANDCAP: 21, RES: 22, ALLOWED: 23,
  CODES: 24, NPAD: 25, WEIGHTS: 26, A: 27, WSTEP: 28, EVALUATED: 29, TOUCH: 30,
  /** Euclidean codes: |q|² (float32), and the byte offset of |x|² per item. */
  QAUX: 31, QAUX2: 32,
  /** Words in a block (the last one holds the walk's touch sink). */
  WORDS: 34,
} as const;

interface GraphExports {
  quantize(base: number, stride: number, off: number, n: number, count: number, center: number, invScale: number, codes: number, nPad: number, inv: number): void;
  search(kind: number, quantized: number, block: number): number;
}

/** The compiled module, per kind of memory it imports (shared or not); null where it cannot be compiled. */
const compiled: { shared?: object | null; plain?: object | null } = {};

function graphModule(shared: boolean): object | null {
  const key = shared ? 'shared' : 'plain';
  if (compiled[key] !== undefined) return compiled[key]!;
  compiled[key] = null;
  if (!WASM) return null;
  const binary = decodeBase64(GRAPH_WASM_BASE64);
  // The binary imports a shared memory: a plain memory needs the import switched.
  if (!shared && !importPlainMemory(binary)) return null;
  compiled[key] = compileWasm(binary);
  return compiled[key]!;
}

/** Instances per arena: one per index memory (the module's globals are per instance). */
const instances = new WeakMap<object, GraphKernels>();

/** The graph kernels for `arena`: WebAssembly when the arena is a WebAssembly memory (and the module compiles), else TypeScript. */
export function graphKernels(arena: Arena): GraphKernels {
  const cached = instances.get(arena);
  if (cached) return cached;
  const kernels = (arena.memory && wasmGraphKernels(arena.memory)) || jsGraphKernels(arena);
  instances.set(arena, kernels);
  return kernels;
}

function wasmGraphKernels(memory: WasmMemory): GraphKernels | null {
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  const module = graphModule(shared);
  if (!module || !WASM) return null;
  const k = new WASM.Instance(module, { env: { memory } }).exports as GraphExports;
  return {
    kind: 'wasm-simd',
    quantize: (...args) => k.quantize(...args),
    search: (kind, quantized, block) => k.search(kind, quantized ? 1 : 0, block),
  };
}

/** The search in TypeScript (float32 arithmetic, scalar), for indexes without a WebAssembly memory. */
function jsGraphKernels(arena: Arena): GraphKernels {
  const fround = Math.fround;
  /** Ranking distance between the vectors at byte offsets a and b (ia, ib: 1/|x|, angular only). */
  const dist = (s: GraphSpace, a: number, b: number, ia: number, ib: number): number => {
    const f32 = arena.f32, n = s.n;
    const aw = a >>> 2, bw = b >>> 2;
    let sum = 0;
    switch (s.kind) {
      case 0: case 3:
        for (let i = 0; i < n; i++) sum = fround(sum + fround(f32[aw + i] * f32[bw + i]));
        return s.kind === 0 ? fround(1 - fround(fround(sum * ia) * ib)) : -sum;
      case 1:
        for (let i = 0; i < n; i++) {
          const t = fround(f32[aw + i] - f32[bw + i]);
          sum = fround(sum + fround(t * t));
        }
        return sum;
      case 2:
        for (let i = 0; i < n; i++) sum = fround(sum + Math.abs(fround(f32[aw + i] - f32[bw + i])));
        return sum;
      default: {
        const u32 = arena.u32;
        for (let i = 0; i < 2 * n; i++) sum += popcount32(u32[aw + i] ^ u32[bw + i]);
        return sum;
      }
    }
  };
  return {
    kind: 'js',
    search: (kind, quantized, block) => {
      if (quantized) throw new Error('internal: quantized walks need the WebAssembly kernels');
      return jsWalk(arena, kind, block, dist);
    },
  };
}

/** The walk of assembly/graph.ts in TypeScript, over the same memory layout and description block. */
function jsWalk(
  arena: Arena, kind: number, block: number, dist: (s: GraphSpace, a: number, b: number, ia: number, ib: number) => number,
): number {
  const i32 = arena.i32, u32 = arena.u32, f32 = arena.f32, u8 = arena.u8;
  const bw = block >>> 2;
  const field = (i: number) => i32[bw + i];
  const s: GraphSpace = {
    kind, base: field(W.BASE), stride: field(W.STRIDE), off: field(W.OFF), n: field(W.N), f: field(W.F), inv: field(W.AUX),
  };
  const nItems = field(W.ITEMS), K = field(W.K), ef = field(W.EF), budget = field(W.BUDGET);
  const cw = kind === 1 || kind === 2 ? 2 : 1;
  const rw = s.stride >>> 2, recW = s.base >>> 2;
  const query = field(W.QUERY), vq = query + s.off;
  const visited = field(W.VISITED), allowedAt = field(W.ALLOWED);
  const cand = new MinHeap();
  const resD: number[] = [], resI: number[] = [];
  let evaluated = 0;
  const seen = (id: number): boolean => {
    const p = visited + (id >>> 3), m = 1 << (id & 7);
    if (u8[p] & m) return true;
    u8[p] |= m;
    return false;
  };
  const trail: number[] = [];
  const allowed = (id: number) => allowedAt === 0 || ((u32[(allowedAt >>> 2) + (id >>> 5)] >>> (id & 31)) & 1) === 1;
  const distanceTo = (id: number): number => {
    evaluated++;
    return dist(s, vq, s.base + id * s.stride + s.off, 1, kind === 0 ? f32[(s.inv >>> 2) + id] : 1);
  };
  const offerResult = (d: number, id: number) => {
    if (!allowed(id)) return;
    if (resD.length < ef) {
      pushMax(resD, resI, d, id);
    } else if (d < resD[0]) {
      popMax(resD, resI);
      pushMax(resD, resI, d, id);
    }
  };

  for (let r = 0, nRoots = field(W.NROOTS); r < nRoots; r++) {
    let node = i32[(field(W.ROOTS) >>> 2) + r];
    let nd = i32[recW + node * rw];
    while (nd > K) {
      node = i32[recW + node * rw + cw + treeSide(arena, s, s.base + node * s.stride, query)];
      nd = i32[recW + node * rw];
    }
    const single = nd === 1 && node < nItems;
    const count = single ? 1 : Math.min(nd, field(W.SEEDS));
    for (let j = 0; j < count; j++) {
      const id = single ? node : i32[recW + node * rw + cw + j];
      if (i32[recW + id * rw] !== 1 || seen(id)) continue;
      trail.push(id);
      const d = distanceTo(id);
      cand.push(d, id);
      offerResult(d, id);
    }
  }
  const offsets = field(W.OFFSETS) >>> 2, nbrs = field(W.NBRS) >>> 2;
  while (cand.size > 0) {
    const cd = cand.topDistance();
    if (resD.length >= ef && cd > resD[0]) break;
    const c = cand.pop();
    for (let e = u32[offsets + c], hi = u32[offsets + c + 1]; e < hi; e++) {
      const id = i32[nbrs + e];
      if (seen(id)) continue;
      trail.push(id);
      const d = distanceTo(id);
      if (resD.length < ef || d < resD[0]) {
        cand.push(d, id);
        offerResult(d, id);
      }
    }
    if (evaluated >= budget) break;
  }
  for (const id of trail) u8[visited + (id >>> 3)] = 0;
  i32[bw + W.EVALUATED] = evaluated;
  // Leave the results where the WebAssembly walk leaves them: (f32, i32) entries, nearest first.
  const order = resD.map((_, j) => j).sort((a, b) => resD[a] - resD[b] || resI[a] - resI[b]);
  const rw2 = field(W.RES) >>> 2;
  order.forEach((j, r) => {
    f32[rw2 + 2 * r] = resD[j];
    i32[rw2 + 2 * r + 1] = resI[j];
  });
  return resD.length;
}

/** Which child (0 or 1) of the split record at byte offset `rec` the query record at `q` falls on. */
function treeSide(arena: Arena, s: GraphSpace, rec: number, q: number): number {
  const f32 = arena.f32, u32 = arena.u32, f = s.f;
  const dot = (a: number, b: number) => {
    let sum = 0;
    for (let i = 0; i < f; i++) sum = Math.fround(sum + Math.fround(f32[a + i] * f32[b + i]));
    return sum;
  };
  const rw = rec >>> 2, qw = q >>> 2;
  switch (s.kind) {
    case 0: return dot(rw + 3, qw + 3) > 0 ? 1 : 0;
    case 1: case 2: return f32[rw + 1] + dot(rw + 4, qw + 4) > 0 ? 1 : 0;
    case 3: return dot(rw + 4, qw + 4) + f32[rw + 3] * f32[rw + 3] > 0 ? 1 : 0;
    default: {
      const b = u32[rw + 4];
      const k = 63 - (b & 63);
      return (u32[qw + 4 + 2 * (b >>> 6) + (k >>> 5)] >>> (k & 31)) & 1;
    }
  }
}

function pushMax(d: number[], ids: number[], dist: number, id: number): void {
  let i = d.length;
  d.push(dist);
  ids.push(id);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (d[p] >= dist) break;
    d[i] = d[p];
    ids[i] = ids[p];
    i = p;
  }
  d[i] = dist;
  ids[i] = id;
}

function popMax(d: number[], ids: number[]): void {
  const lastD = d.pop()!, lastI = ids.pop()!;
  const n = d.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && d[c + 1] > d[c]) c++;
    if (d[c] <= lastD) break;
    d[i] = d[c];
    ids[i] = ids[c];
    i = c;
  }
  d[i] = lastD;
  ids[i] = lastI;
}

/** A min-heap of (distance, id) pairs. */
class MinHeap {
  private d: number[] = [];
  private ids: number[] = [];
  get size(): number {
    return this.d.length;
  }
  topDistance(): number {
    return this.d[0];
  }
  push(dist: number, id: number): void {
    const d = this.d, ids = this.ids;
    let i = d.length;
    d.push(dist);
    ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] <= dist) break;
      d[i] = d[p];
      ids[i] = ids[p];
      i = p;
    }
    d[i] = dist;
    ids[i] = id;
  }
  pop(): number {
    const d = this.d, ids = this.ids;
    const top = ids[0];
    const lastD = d.pop()!, lastI = ids.pop()!;
    const n = d.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] < d[c]) c++;
      if (d[c] >= lastD) break;
      d[i] = d[c];
      ids[i] = ids[c];
      i = c;
    }
    d[i] = lastD;
    ids[i] = lastI;
    return top;
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
