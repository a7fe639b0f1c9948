import { DistanceKind } from '../kernels/kernels.ts';
import type { Metric } from '../metrics/metric.ts';
import type { Arena, Records } from '../records.ts';
import type { SearchResult } from '../search/search.ts';
import type { Graph } from './build.ts';
import { graphKernels, W, type GraphKernels, type GraphSpace } from './kernels.ts';
import { graphSpace, inverseNorms, needsInverseNorms } from './space.ts';

/** int8 codes of the items for the walk (see assembly/graph.ts, "quantized vectors"). */
export interface PlacedCodes {
  /** Byte offset of nItems × nPad int8 codes. */
  readonly codes: number;
  readonly nPad: number;
  /** The float32 vectors coded: byte offset in a record and components. */
  readonly off: number;
  readonly n: number;
  /** Per component: center and scale (x ≈ center + scale·code), float32 arrays of n. */
  readonly center: number;
  readonly scale: number;
  /** Euclidean: byte offset of |x|² per item (float32), else 0. */
  readonly norms2: number;
  /** Angular: codes are of x/|x|. */
  readonly normalised: boolean;
}

/** A graph placed in an index's memory, where the kernels read it. */
export interface PlacedGraph {
  readonly nItems: number;
  readonly edges: number;
  /** The most neighbours any node has. */
  readonly maxDegree: number;
  /** Byte offsets of the nItems + 1 uint32 offsets and of the int32 neighbour ids. */
  readonly offsets: number;
  readonly neighbours: number;
  /** Byte offset of 1/|x| per item (angular), else 0. */
  readonly inv: number;
  /** Codes for a quantized walk, or null. */
  readonly codes: PlacedCodes | null;
  /** Whether the graph asks for a quantized walk (recorded in its file, even where codes cannot be made). */
  readonly quantize: boolean;
}

/** Whether int8 codes can stand in for the metric's vectors during the walk (inner-product metrics). */
export function canQuantize(metric: Metric): boolean {
  const k = metric.distanceKind;
  return k === DistanceKind.Angular || k === DistanceKind.Euclidean || k === DistanceKind.Dot;
}

/** Copies `graph` into the store's arena (above everything handed out so far), with int8 codes when asked. */
export function placeGraph(metric: Metric, store: Records, graph: Graph, quantize = false): PlacedGraph {
  const arena = store.arena;
  const { nItems } = graph;
  const edges = graph.offsets[nItems];
  let maxDegree = 0;
  for (let i = 0; i < nItems; i++) maxDegree = Math.max(maxDegree, graph.offsets[i + 1] - graph.offsets[i]);
  let offsets: number, neighbours: number;
  if (graph.offsets.buffer === arena.buffer && graph.neighbours.buffer === arena.buffer) {
    // Already in the index's memory (a .graph file read there): used where it lies.
    offsets = graph.offsets.byteOffset;
    neighbours = graph.neighbours.byteOffset;
  } else {
    offsets = arena.alloc(4 * (nItems + 1));
    neighbours = arena.alloc(4 * Math.max(1, edges));
    arena.u32.set(graph.offsets, offsets >>> 2);
    arena.i32.set(graph.neighbours.subarray(0, edges), neighbours >>> 2);
  }
  const inv = needsInverseNorms(metric) ? arena.alloc(4 * nItems) : 0;
  if (inv) inverseNorms(metric, store, nItems, inv);
  const kernels = graphKernels(arena);
  const codes = quantize && canQuantize(metric) && kernels.quantize ? makeCodes(metric, store, nItems, inv, kernels) : null;
  return { nItems, edges, maxDegree, offsets, neighbours, inv, codes, quantize };
}

/** Per-component min/max scaling of the items' vectors (normalised for angular) to int8 codes. */
function makeCodes(metric: Metric, store: Records, nItems: number, inv: number, kernels: GraphKernels): PlacedCodes {
  const arena = store.arena;
  const n = metric.f, off = 4 * metric.vectorWord;
  const nPad = Math.ceil(n / 16) * 16;
  const lo = new Float32Array(n).fill(Infinity), hi = new Float32Array(n).fill(-Infinity);
  const f32 = arena.f32, i32 = arena.i32;
  for (let id = 0; id < nItems; id++) {
    if (i32[store.word(id)] !== 1) continue;
    const w = (store.ptr(id) + off) >>> 2;
    const s = inv ? f32[(inv >>> 2) + id] : 1;
    for (let i = 0; i < n; i++) {
      const v = f32[w + i] * s;
      if (v < lo[i]) lo[i] = v;
      if (v > hi[i]) hi[i] = v;
    }
  }
  const center = arena.alloc(4 * n), scale = arena.alloc(4 * n), invScale = arena.alloc(4 * n);
  const codes = arena.alloc(nItems * nPad);
  const euclidean = metric.distanceKind === DistanceKind.Euclidean;
  const norms2 = euclidean ? arena.alloc(4 * nItems) : 0;
  const g = arena.f32;
  for (let i = 0; i < n; i++) {
    const ok = hi[i] >= lo[i];
    const c = ok ? (hi[i] + lo[i]) / 2 : 0, sc = ok ? (hi[i] - lo[i]) / 254 : 0;
    g[(center >>> 2) + i] = c;
    g[(scale >>> 2) + i] = sc;
    g[(invScale >>> 2) + i] = sc > 0 ? 1 / sc : 0;
  }
  kernels.quantize!(store.byteOffset, store.recordBytes, off, n, nItems, center, invScale, codes, nPad, inv);
  if (norms2) {
    const k = arena.kernels;
    for (let id = 0; id < nItems; id++) {
      const p = store.ptr(id) + off;
      arena.f32[(norms2 >>> 2) + id] = k.dot(p, p, n);
    }
  }
  return { codes, nPad, off, n, center, scale, norms2, normalised: inv !== 0 };
}

/** How a graph search runs: see GraphSearcher.search. */
export interface GraphSearchParams {
  /** Beam width: results kept while walking (at least n; at most EF_MAX). */
  ef: number;
  /** Stop after this many distances (Infinity: when the beam converges). */
  budget: number;
  /** Trees descended for entry points, and items of each leaf reached that seed the walk. */
  entryTrees: number;
  seedsPerLeaf: number;
  /** Walk on the int8 codes (when the graph has them), re-ranking with the float vectors (default true). */
  quantized?: boolean;
  /** Touch every cache line of a node's unseen neighbours before computing their distances (default true). */
  touch?: boolean;
  /** Only these items may be returned (1 bit per id, bit id & 31 of word id >>> 5); others are still walked through. */
  allowed?: Uint32Array | null;
}

/** The widest beam a search keeps (larger searchK values are clamped to it). */
export const EF_MAX = 4096;
/** Candidates a walk keeps waiting, per unit of beam width (a full heap only stops growing). */
const CANDIDATES_PER_EF = 16;
const TRAIL = 8192;

/**
 * One searching thread's scratch space in the index's memory, reserved up front (threads
 * attached to another thread's memory cannot allocate there): the description block, visited
 * bitset and trail, one node's neighbours, both heaps, the query's int16 weights and an allowed set.
 */
export interface GraphWorkspace {
  block: number;
  visited: number;
  trail: number;
  batch: number;
  candidates: number;
  results: number;
  weights: number;
  allowed: number;
}

/** Reserves a workspace for searching `graph` (over nItems items) in `arena`. */
export function allocateGraphWorkspace(arena: Arena, nItems: number, graph: PlacedGraph): GraphWorkspace {
  const bits = 4 * Math.ceil(nItems / 32);
  const ws: GraphWorkspace = {
    block: arena.alloc(4 * W.WORDS),
    visited: arena.alloc(bits),
    trail: arena.alloc(4 * TRAIL),
    batch: arena.alloc(4 * Math.max(1, graph.maxDegree)),
    candidates: arena.alloc(8 * CANDIDATES_PER_EF * EF_MAX),
    results: arena.alloc(8 * EF_MAX),
    weights: arena.alloc(2 * Math.max(16, graph.codes?.nPad ?? 0)),
    allowed: arena.alloc(bits),
  };
  arena.u8.fill(0, ws.visited, ws.visited + bits);
  return ws;
}

/**
 * Searches one index through its neighbour graph: entry points from a descent of the trees, then
 * a best-first beam search over the graph; the n best are re-ranked by the metric's exact
 * distance, so results are what Annoy would report for those items. The workspace is reused, so a
 * query allocates only its result arrays.
 */
export class GraphSearcher {
  readonly kernels: GraphKernels;
  readonly space: GraphSpace;
  private readonly rootCount: number;
  private readonly bw: number;

  constructor(
    private readonly store: Records,
    private readonly metric: Metric,
    roots: readonly number[],
    private readonly nItems: number,
    private readonly graph: PlacedGraph,
    readonly query: Records,
    private readonly ws: GraphWorkspace,
    /** Byte offset of the roots as int32s (written here unless the caller shares them). */
    rootsAt: number,
  ) {
    const arena = store.arena;
    this.kernels = graphKernels(arena);
    const space = (this.space = graphSpace(metric, store, graph.inv));
    // The trees in an order that depends on them only (a built index lists its roots, a loaded one
    // Annoy's copies of them, last tree first): entry points, hence answers, are the same either way.
    const cw = metric.childrenWord, i32 = arena.i32;
    const key = (r: number): [number, number] => [i32[store.word(r) + cw], i32[store.word(r) + cw + 1]];
    const ordered = [...roots].sort((a, b) => {
      const [a0, a1] = key(a), [b0, b1] = key(b);
      return a0 - b0 || a1 - b1 || a - b;
    });
    arena.i32.set(ordered, rootsAt >>> 2);
    this.rootCount = roots.length;
    this.bw = ws.block >>> 2;
    const fields: [number, number][] = [
      [W.QUERY, query.ptr(0)], [W.F, space.f], [W.N, space.n], [W.BASE, space.base], [W.STRIDE, space.stride], [W.OFF, space.off],
      [W.AUX, space.inv], [W.ITEMS, nItems], [W.K, metric.leafCapacity], [W.ROOTS, rootsAt], [W.NROOTS, roots.length],
      [W.OFFSETS, graph.offsets], [W.NBRS, graph.neighbours], [W.VISITED, ws.visited], [W.TRAIL, ws.trail], [W.TRAILCAP, TRAIL],
      [W.BATCH, ws.batch], [W.CAND, ws.candidates], [W.CANDCAP, CANDIDATES_PER_EF * EF_MAX], [W.RES, ws.results],
      [W.CODES, graph.codes?.codes ?? 0], [W.NPAD, graph.codes?.nPad ?? 0], [W.WEIGHTS, ws.weights], [W.QAUX2, graph.codes?.norms2 ?? 0],
    ];
    for (const [i, v] of fields) arena.i32[this.bw + i] = v;
  }

  /** Distances the last search computed (for measurements). */
  get evaluated(): number {
    return this.store.arena.i32[this.bw + W.EVALUATED];
  }

  /** Searches with the vector already prepared in the query record. */
  search(n: number, p: GraphSearchParams, withDistances: boolean): SearchResult {
    const { store, metric, bw } = this;
    const arena = store.arena;
    arena.refresh();
    const ef = Math.min(EF_MAX, Math.max(n, p.ef, 1));
    const quantized = p.quantized !== false && this.graph.codes !== null;
    if (quantized) this.prepareWeights();
    const i32 = arena.i32;
    i32[bw + W.EF] = ef;
    i32[bw + W.BUDGET] = p.budget === Infinity ? 0x7fffffff : Math.max(1, Math.floor(p.budget));
    i32[bw + W.NROOTS] = Math.min(p.entryTrees, this.rootCount);
    i32[bw + W.SEEDS] = p.seedsPerLeaf;
    i32[bw + W.TOUCH] = p.touch === false ? 0 : 1;
    if (p.allowed) {
      // A set built for fewer items than the index allows none beyond its end: those words are cleared.
      const at = this.ws.allowed >>> 2, words = Math.ceil(this.nItems / 32);
      const bits = p.allowed.subarray(0, words);
      arena.u32.set(bits, at);
      arena.u32.fill(0, at + bits.length, at + words);
      i32[bw + W.ALLOWED] = this.ws.allowed;
    } else {
      i32[bw + W.ALLOWED] = 0;
    }
    const found = this.kernels.search(this.space.kind, quantized, this.ws.block);
    arena.refresh();
    // The walk left its results nearest first; Annoy's exact distances decide the final order.
    const rw = this.ws.results >>> 2;
    const count = Math.min(n, found);
    const ids: number[] = new Array<number>(count);
    const exact = new Float64Array(count);
    const query = this.query;
    for (let j = 0; j < count; j++) {
      const id = arena.i32[rw + 2 * j + 1];
      ids[j] = id;
      exact[j] = metric.exactDistance(query, 0, store, id);
    }
    const rank = ids.map((_, r) => r).sort((a, b) => exact[a] - exact[b] || ids[a] - ids[b]);
    return {
      ids: rank.map((r) => ids[r]),
      distances: withDistances ? rank.map((r) => metric.normalizedDistance(exact[r])) : [],
    };
  }

  /** The query's int16 weights and constants for a walk on the codes. */
  private prepareWeights(): void {
    const codes = this.graph.codes!;
    const arena = this.store.arena, f32 = arena.f32;
    const q = (this.query.ptr(0) + codes.off) >>> 2, n = codes.n;
    const cw = codes.center >>> 2, sw = codes.scale >>> 2;
    let norm = 1;
    if (codes.normalised) {
      let s = 0;
      for (let i = 0; i < n; i++) s += f32[q + i] * f32[q + i];
      norm = s > 0 ? 1 / Math.sqrt(s) : 0;
    }
    let a = 0, wmax = 0, qq = 0;
    for (let i = 0; i < n; i++) {
      const qi = f32[q + i] * norm;
      a += qi * f32[cw + i];
      qq += qi * qi;
      const w = Math.abs(qi * f32[sw + i]);
      if (w > wmax) wmax = w;
    }
    // Keep Σ w16·code inside int32: |w16| ≤ 2^31 / (127 · nPad).
    const limit = Math.min(32767, Math.floor(2 ** 31 / (127 * codes.nPad)) - 1);
    const wstep = wmax > 0 ? wmax / limit : 1;
    const w16 = new Int16Array(arena.buffer, this.ws.weights, codes.nPad);
    for (let i = 0; i < n; i++) w16[i] = Math.round((f32[q + i] * norm * f32[sw + i]) / wstep);
    const bw = this.bw;
    f32[bw + W.A] = a;
    f32[bw + W.WSTEP] = wstep;
    f32[bw + W.QAUX] = qq;
  }
}
