import { ANGULAR_RECORD } from '../metrics/record-fields.ts';
import { dot, hamming, manhattan, squaredEuclidean } from './scalar.ts';
import { KERNELS_WASM_BASE64 } from './wasm-binary.ts';
import { compileWasm, decodeBase64, importPlainMemory, WASM, type WasmMemory } from './wasm.ts';

/**
 * Distance kernels over an arena's memory. Pointers are byte offsets into it; `n` counts float32
 * components (hamming: 64-bit words). The `*Exact` kernels round like Annoy's scalar C++ build,
 * bit for bit; the others may round differently (SIMD lanes), by a few ulps.
 */
export interface Kernels {
  readonly kind: 'wasm-simd' | 'js';
  dotExact(a: number, b: number, n: number): number;
  euclideanExact(a: number, b: number, n: number): number;
  manhattanExact(a: number, b: number, n: number): number;
  dot(a: number, b: number, n: number): number;
  euclidean(a: number, b: number, n: number): number;
  manhattan(a: number, b: number, n: number): number;
  hamming(a: number, b: number, words64: number): number;
  /** out[j] = dotExact(a, vector of record ids[j]); records at base + id·stride, vectors `off` bytes in. */
  dotExactMany(a: number, base: number, stride: number, off: number, ids: number, count: number, out: number, n: number): void;
  /** Two-means centroid update p = (p·c + x/norm) / (c + 1), element-wise in float32. */
  centroidUpdate(p: number, x: number, n: number, c: number, norm: number): void;
  /**
   * Annoy's two-means refinement loop: `count` updates of the centroid vectors at p and q by the
   * items listed at `ids` (drawn beforehand: the draws never depend on the distances); records at
   * base + id·stride, vectors `off` bytes in; `out` is 12 bytes of scratch. kind: TwoMeansKind.
   */
  twoMeansRefine(kind: TwoMeansKind, p: number, q: number, base: number, stride: number, off: number, ids: number, count: number, n: number, out: number): void;
  /** out[j] = the search distance from the query vector at q to record ids[j]; kind: see DistanceKind. */
  distancesMany(kind: DistanceKind, q: number, base: number, stride: number, off: number, ids: number, count: number, out: number, n: number): void;
  /**
   * The whole query walk (WebAssembly only; null for the JavaScript kernels): see walk() in
   * assembly/kernels.ts for the workspace. Returns the number of distinct candidates found.
   */
  readonly walk: ((kind: DistanceKind, w: WalkArgs) => number) | null;
  /** Sets the walk's queue capacity (entries); a walk that needs more returns -1. */
  setQueueCapacity(entries: number): void;
  /**
   * The walk restricted to allowed items, resumable, with a budget (WebAssembly only; null for the
   * JavaScript kernels): see walkFiltered() in assembly/kernels.ts. Returns the number of distinct
   * allowed candidates found so far, or -1 when the queue was too small.
   */
  readonly filteredWalk: ((kind: DistanceKind, w: FilteredWalkArgs) => number) | null;
  /** Where the last filtered walk stands: allowed leaf items met, leaf items met, queue entries left. */
  filteredProgress(): FilteredProgress;
  /**
   * The exact scan of a filtered search (WebAssembly only; null for the JavaScript kernels): see
   * scanAllowed() in assembly/kernels.ts. Returns how many items it kept.
   */
  readonly scan: ((kind: DistanceKind, s: ScanArgs) => number) | null;
}

/** Byte offsets and sizes of an exact scan: the allowed-set bitset, the bound, k and where results go. */
export interface ScanArgs {
  query: number; n: number; base: number; stride: number; nItems: number; allowed: number;
  keep: number; k: number; heap: number; candidates: number; distances: number;
}

/** The filtered walk's arguments: the walk's, plus a budget, the allowed-set bitset and whether to resume (distances 0: none computed). */
export interface FilteredWalkArgs extends WalkArgs {
  budget: number;
  allowed: number;
  resume: boolean;
}

export interface FilteredProgress {
  collected: number;
  visited: number;
  queued: number;
}

/** Byte offsets and sizes the walk works with (see walk() in assembly/kernels.ts). */
export interface WalkArgs {
  query: number; n: number; base: number; stride: number; nItems: number; leafCapacity: number;
  roots: number; nRoots: number; limit: number; seen: number; stamp: number; candidates: number; distances: number; queue: number;
}

/** Which distance distancesMany computes (the metric chooses; angular reads the norms stored before each vector). */
export const DistanceKind = { Angular: 0, Euclidean: 1, Manhattan: 2, Dot: 3, Hamming: 4 } as const;
export type DistanceKind = (typeof DistanceKind)[keyof typeof DistanceKind];

/** How two-means measures and moves centroids (angular keeps the records' cached squared norms up to date). */
export const TwoMeansKind = { Angular: 0, Euclidean: 1, Manhattan: 2, Dot: 3 } as const;
export type TwoMeansKind = (typeof TwoMeansKind)[keyof typeof TwoMeansKind];

/** The views the JavaScript kernels read through; refreshed by the arena when its memory grows. */
export interface KernelViews {
  f32: Float32Array;
  u32: Uint32Array;
}

/** 32-bit words from an angular record's stored ‖v‖² to its vector: the kernels get vector pointers. */
const NORM_BEFORE_VECTOR = (ANGULAR_RECORD.vector.offset - ANGULAR_RECORD.norm.offset) >>> 2;

/** The portable fallback: float32-exact everywhere, so both paths can be tested against each other. */
export function jsKernels(views: KernelViews): Kernels {
  const exactDot = (a: number, b: number, n: number) => dot(views.f32, a >>> 2, views.f32, b >>> 2, n);
  const exactL2 = (a: number, b: number, n: number) => squaredEuclidean(views.f32, a >>> 2, views.f32, b >>> 2, n);
  const exactL1 = (a: number, b: number, n: number) => manhattan(views.f32, a >>> 2, views.f32, b >>> 2, n);
  const popcount = (a: number, b: number, words: number) => hamming(views.u32, a >>> 2, views.u32, b >>> 2, 2 * words);
  const fround = Math.fround;
  const each = (base: number, stride: number, off: number, ids: number, count: number, out: number, fn: (x: number) => number) => {
    const i32 = new Int32Array(views.f32.buffer), f32 = views.f32;
    for (let j = 0; j < count; j++) f32[(out >>> 2) + j] = fn(base + i32[(ids >>> 2) + j] * stride + off);
  };

  const centroidUpdate = (p: number, x: number, n: number, c: number, norm: number) => {
    const f32 = views.f32, pw = p >>> 2, xw = x >>> 2;
    for (let z = 0; z < n; z++) f32[pw + z] = fround(fround(f32[pw + z] * c) + fround(f32[xw + z] / norm)) / (c + 1);
  };
  return {
    kind: 'js',
    dotExact: exactDot,
    euclideanExact: exactL2,
    manhattanExact: exactL1,
    dot: exactDot,
    euclidean: exactL2,
    manhattan: exactL1,
    hamming: popcount,
    walk: null,
    setQueueCapacity: () => {},
    filteredWalk: null,
    filteredProgress: () => ({ collected: 0, visited: 0, queued: 0 }),
    scan: null,
    dotExactMany: (a, base, stride, off, ids, count, out, n) => each(base, stride, off, ids, count, out, (x) => exactDot(a, x, n)),
    centroidUpdate,
    twoMeansRefine: (kind, p, q, base, stride, off, ids, count, n, out) => {
      const f32 = views.f32, i32 = new Int32Array(f32.buffer);
      // An angular vector's cached squared norm sits before it; 0 or NaN means "recompute".
      const norm2 = (v: number) => f32[(v >>> 2) - NORM_BEFORE_VECTOR] || exactDot(v, v, n);
      const fromDot = (pp: number, qq: number, pq: number) => {
        const ppqq = fround(pp * qq);
        return ppqq > 0 ? fround(2.0 - (2.0 * pq) / fround(Math.sqrt(ppqq))) : 2.0;
      };
      let ic = 1, jc = 1;
      for (let l = 0; l < count; l++) {
        const x = base + i32[(ids >>> 2) + l] * stride + off;
        let d0: number, d1: number, norm = 1;
        if (kind === TwoMeansKind.Euclidean || kind === TwoMeansKind.Manhattan) {
          const exact = kind === TwoMeansKind.Euclidean ? exactL2 : exactL1;
          d0 = exact(p, x, n);
          d1 = exact(q, x, n);
        } else {
          const pq0 = exactDot(p, x, n), pq1 = exactDot(q, x, n);
          if (kind === TwoMeansKind.Angular) {
            const xx = norm2(x);
            d0 = fromDot(norm2(p), xx, pq0);
            d1 = fromDot(norm2(q), xx, pq1);
            norm = fround(Math.sqrt(xx));
          } else {
            d0 = -pq0;
            d1 = -pq1;
            norm = fround(Math.sqrt(exactDot(x, x, n)));
          }
        }
        const di = fround(ic * d0), dj = fround(jc * d1);
        if (!(norm > 0)) continue;
        if (di < dj) {
          centroidUpdate(p, x, n, ic, norm);
          if (kind === TwoMeansKind.Angular) f32[(p >>> 2) - NORM_BEFORE_VECTOR] = exactDot(p, p, n);
          ic++;
        } else if (dj < di) {
          centroidUpdate(q, x, n, jc, norm);
          if (kind === TwoMeansKind.Angular) f32[(q >>> 2) - NORM_BEFORE_VECTOR] = exactDot(q, q, n);
          jc++;
        }
      }
    },
    distancesMany: (kind, q, base, stride, off, ids, count, out, n) => {
      const f32 = views.f32;
      each(base, stride, off, ids, count, out, (x) => {
        switch (kind) {
          case DistanceKind.Angular: {
            const pp = f32[(x >>> 2) - NORM_BEFORE_VECTOR] || exactDot(x, x, n), ppqq = fround(pp * f32[(q >>> 2) - NORM_BEFORE_VECTOR]);
            return ppqq > 0 ? 2 - (2 * exactDot(q, x, n)) / fround(Math.sqrt(ppqq)) : 2;
          }
          case DistanceKind.Euclidean: return exactL2(q, x, n);
          case DistanceKind.Manhattan: return exactL1(q, x, n);
          case DistanceKind.Dot: return -exactDot(q, x, n);
          default: return popcount(q, x, n);
        }
      });
    },
  };
}

type WalkExport = (q: number, n: number, base: number, stride: number, nItems: number, K: number, roots: number, nRoots: number,
  limit: number, seen: number, stamp: number, cand: number, dist: number, queue: number) => number;

type ScanExport = (q: number, n: number, base: number, stride: number, nItems: number, allowed: number, keep: number, k: number,
  heap: number, cand: number, dist: number) => number;

type FilteredWalkExport = (q: number, n: number, base: number, stride: number, nItems: number, K: number, roots: number, nRoots: number,
  limit: number, budget: number, seen: number, stamp: number, cand: number, dist: number, queue: number, allowed: number, resume: number) => number;

/** The module's exports: the kernels as the interface lists them, plus one walk and one filtered walk per metric. */
type KernelExports = Omit<Kernels, 'kind' | 'walk' | 'filteredWalk' | 'filteredProgress' | 'scan'> & {
  searchAngular: WalkExport;
  searchEuclidean: WalkExport;
  searchManhattan: WalkExport;
  searchDot: WalkExport;
  searchHamming: WalkExport;
  filteredAngular: FilteredWalkExport;
  filteredEuclidean: FilteredWalkExport;
  filteredManhattan: FilteredWalkExport;
  filteredDot: FilteredWalkExport;
  filteredHamming: FilteredWalkExport;
  filteredCollected(): number;
  filteredVisited(): number;
  filteredQueueSize(): number;
  scanAngular: ScanExport;
  scanEuclidean: ScanExport;
  scanManhattan: ScanExport;
  scanDot: ScanExport;
  scanHamming: ScanExport;
};

const MAX_PAGES = 65536;

/**
 * Whether index memories are shared (SharedArrayBuffer-backed), so worker threads can work on the
 * same records without copying them. Browsers allow it only on cross-origin-isolated pages.
 */
function sharingAvailable(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  return typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

/** A WebAssembly memory of `pages` 64 KiB pages that can grow to 4 GiB (shared where possible), or null. */
export function newWasmMemory(pages: number): WasmMemory | null {
  const module = kernelModule();
  if (!WASM || !module) return null;
  return new WASM.Memory({ initial: pages, maximum: MAX_PAGES, shared: module.shared });
}

let compiled: { module: object; shared: boolean } | null | undefined;

/** The compiled kernel module, or null where WebAssembly (with SIMD) is unavailable. */
function kernelModule(): { module: object; shared: boolean } | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (!WASM) return compiled;
  const attempt = (bytes: Uint8Array, shared: boolean) => {
    const module = compileWasm(bytes);
    return module && { module, shared };
  };
  const binary = decodeBase64(KERNELS_WASM_BASE64);
  if (sharingAvailable()) compiled = attempt(binary, true);
  // The binary imports a shared memory; without shared memory, import a plain one instead.
  if (!compiled && importPlainMemory(binary)) compiled = attempt(binary, false);
  return compiled;
}

/**
 * The compiled kernel module to hand to a worker thread that shares an index's memory: a worker
 * that adopts it skips compiling the binary again and starts with the code already optimised here.
 */
export function kernelModuleForWorkers(): object | null {
  const module = kernelModule();
  return module?.shared ? module.module : null;
}

/** In a worker thread: use the module compiled by the thread that started it (see kernelModuleForWorkers). */
export function adoptKernelModule(module: object): void {
  compiled = { module, shared: true };
}

/** Where the kernels come from. 'auto' uses WebAssembly SIMD when the runtime has it. */
export type KernelChoice = 'auto' | 'wasm' | 'js';
let choice: KernelChoice = 'auto';

/**
 * Chooses the kernels for indexes created afterwards (tests compare both paths; 'js' also serves
 * environments that forbid WebAssembly). Throws when 'wasm' is asked for but unavailable.
 */
export function setKernels(which: KernelChoice): void {
  if (which === 'wasm' && !kernelModule()) throw new Error('WebAssembly SIMD is not available in this runtime');
  choice = which;
}

export function wasmKernelsAvailable(): boolean {
  return kernelModule() !== null;
}

/**
 * Which kernels new indexes use: 'wasm-simd' (WebAssembly SIMD; 'shared' when worker threads can
 * share an index's memory) or 'js', the slower TypeScript fallback (no WebAssembly, or a page whose
 * Content-Security-Policy lacks 'wasm-unsafe-eval').
 */
export function kernelInfo(): { kind: 'wasm-simd' | 'js'; sharedMemory: boolean } {
  const compiledModule = choice === 'js' ? null : kernelModule();
  return { kind: compiledModule ? 'wasm-simd' : 'js', sharedMemory: compiledModule?.shared ?? false };
}

/** WebAssembly kernels bound to `memory`, or null when the JavaScript kernels should be used. */
export function wasmKernels(memory: WasmMemory): Kernels | null {
  const compiledModule = choice === 'js' ? null : kernelModule();
  if (!compiledModule || !WASM) return null;
  const k = new WASM.Instance(compiledModule.module, { env: { memory } }).exports as KernelExports;
  const {
    searchAngular, searchEuclidean, searchManhattan, searchDot, searchHamming,
    filteredAngular, filteredEuclidean, filteredManhattan, filteredDot, filteredHamming,
    filteredCollected, filteredVisited, filteredQueueSize, scanAngular, scanEuclidean, scanManhattan, scanDot, scanHamming, ...kernels
  } = k;
  // Indexed by DistanceKind.
  const walks: WalkExport[] = [searchAngular, searchEuclidean, searchManhattan, searchDot, searchHamming];
  const filteredWalks: FilteredWalkExport[] = [filteredAngular, filteredEuclidean, filteredManhattan, filteredDot, filteredHamming];
  const scans: ScanExport[] = [scanAngular, scanEuclidean, scanManhattan, scanDot, scanHamming];
  return {
    ...kernels,
    kind: 'wasm-simd',
    walk: (kind, w) => {
      const fn = walks[kind];
      return fn(w.query, w.n, w.base, w.stride, w.nItems, w.leafCapacity, w.roots, w.nRoots, w.limit, w.seen, w.stamp, w.candidates, w.distances, w.queue);
    },
    filteredWalk: (kind, w) => {
      const fn = filteredWalks[kind];
      return fn(w.query, w.n, w.base, w.stride, w.nItems, w.leafCapacity, w.roots, w.nRoots, w.limit, w.budget, w.seen, w.stamp,
        w.candidates, w.distances, w.queue, w.allowed, w.resume ? 1 : 0);
    },
    filteredProgress: () => ({ collected: filteredCollected(), visited: filteredVisited(), queued: filteredQueueSize() }),
    scan: (kind, a) => scans[kind](a.query, a.n, a.base, a.stride, a.nItems, a.allowed, a.keep, a.k, a.heap, a.candidates, a.distances),
  };
}

export function useWasm(): boolean {
  return choice !== 'js' && kernelModule() !== null;
}
