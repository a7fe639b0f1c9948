import { DistanceKind } from '../kernels/kernels.ts';
import type { Metric } from '../metrics/metric.ts';
import type { Records } from '../records.ts';
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
  const inv = needsInverseNorms(metric) ? arena.alloc(4 * nItems) : 0;
  const offsets = arena.alloc(4 * (nItems + 1));
  const neighbours = arena.alloc(4 * Math.max(1, edges));
  if (inv) inverseNorms(metric, store, nItems, inv);
  arena.u32.set(graph.offsets, offsets >>> 2);
  arena.i32.set(graph.neighbours.subarray(0, edges), neighbours >>> 2);
  let maxDegree = 0;
  for (let i = 0; i < nItems; i++) maxDegree = Math.max(maxDegree, graph.offsets[i + 1] - graph.offsets[i]);
  const kernels = graphKernels(arena);
  const codes = quantize && canQuantize(metric) && kernels.quantize ? makeCodes(metric, store, nItems, inv, kernels) : null;
  return { nItems, edges, maxDegree, offsets, neighbours, inv, codes };
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
  /** Beam width: results kept while walking (at least n). */
  ef: number;
  /** Stop after this many distances (Infinity: when the beam converges). */
  budget: number;
  /** Trees descended for entry points, and items of each leaf reached that seed the walk. */
  entryTrees: number;
  seedsPerLeaf: number;
  /** Walk on the int8 codes (when the graph has them), re-ranking with the float vectors. */
  quantized?: boolean;
  /** Touch every cache line of a node's unseen neighbours before computing their distances. */
  touch?: boolean;
  /** Bitset over item ids (1 bit per id, 1 = allowed), as a byte offset into the index's memory; 0 = all. */
  allowed?: number;
}

const TRAIL = 8192;

/**
 * Searches one index through its neighbour graph: entry points from a descent of the trees, then
 * a best-first beam search over the graph; the n best are re-ranked by the metric's exact
 * distance, so results are what Annoy would report for those items. Buffers live in the index's
 * memory and are reused, so a query allocates only its result arrays.
 */
export class GraphSearcher {
  readonly kernels: GraphKernels;
  readonly space: GraphSpace;
  /** Byte offset of the search's description block (see W). */
  private readonly block: number;
  private resultCap: number;
  private candCap: number;
  private readonly rootCount: number;
  private readonly weights: number;

  constructor(
    private readonly store: Records,
    private readonly metric: Metric,
    roots: readonly number[],
    private readonly nItems: number,
    private readonly graph: PlacedGraph,
    readonly query: Records,
  ) {
    const arena = store.arena;
    this.kernels = graphKernels(arena);
    const space = (this.space = graphSpace(metric, store, graph.inv));
    const rootsPtr = arena.alloc(4 * Math.max(1, roots.length));
    arena.i32.set(roots, rootsPtr >>> 2);
    const visitedBytes = Math.ceil(nItems / 32) * 4;
    const visited = arena.alloc(visitedBytes);
    arena.u8.fill(0, visited, visited + visitedBytes);
    this.rootCount = roots.length;
    this.resultCap = 256;
    this.candCap = 1024;
    this.weights = graph.codes ? arena.alloc(2 * graph.codes.nPad) : 0;
    this.block = arena.alloc(4 * W.WORDS);
    const fields: [number, number][] = [
      [W.QUERY, query.ptr(0)], [W.F, space.f], [W.N, space.n], [W.BASE, space.base], [W.STRIDE, space.stride], [W.OFF, space.off],
      [W.AUX, space.inv], [W.ITEMS, nItems], [W.K, metric.leafCapacity], [W.ROOTS, rootsPtr], [W.NROOTS, roots.length],
      [W.OFFSETS, graph.offsets], [W.NBRS, graph.neighbours], [W.VISITED, visited], [W.TRAIL, arena.alloc(4 * TRAIL)], [W.TRAILCAP, TRAIL],
      [W.BATCH, arena.alloc(4 * Math.max(1, graph.maxDegree))], [W.CAND, arena.alloc(8 * this.candCap)], [W.CANDCAP, this.candCap],
      [W.RES, arena.alloc(8 * this.resultCap)], [W.CODES, graph.codes?.codes ?? 0], [W.NPAD, graph.codes?.nPad ?? 0],
      [W.WEIGHTS, this.weights], [W.QAUX2, graph.codes?.norms2 ?? 0],
    ];
    for (const [i, v] of fields) arena.i32[(this.block >>> 2) + i] = v;
  }

  /** Distances the last search computed (for measurements). */
  get evaluated(): number {
    return this.store.arena.i32[(this.block >>> 2) + W.EVALUATED];
  }

  /** Searches with the vector already prepared in the query record. */
  search(n: number, p: GraphSearchParams, withDistances: boolean): SearchResult {
    const { store, metric } = this;
    const arena = store.arena;
    const bw = this.block >>> 2;
    const ef = Math.max(n, p.ef, 1);
    if (ef > this.resultCap) {
      this.resultCap = Math.max(ef, 2 * this.resultCap);
      const res = arena.alloc(8 * this.resultCap);
      arena.i32[bw + W.RES] = res;
    }
    const quantized = !!p.quantized && this.graph.codes !== null;
    if (quantized) this.prepareWeights();
    const i32 = arena.i32;
    i32[bw + W.EF] = ef;
    i32[bw + W.BUDGET] = p.budget === Infinity ? 0x7fffffff : Math.max(1, Math.floor(p.budget));
    i32[bw + W.NROOTS] = Math.min(p.entryTrees, this.rootCount);
    i32[bw + W.SEEDS] = p.seedsPerLeaf;
    i32[bw + W.ALLOWED] = p.allowed ?? 0;
    i32[bw + W.TOUCH] = p.touch === false ? 0 : 1;
    let found = this.kernels.search(this.space.kind, quantized, this.block);
    while (found < 0) {
      // The candidate heap was too small: give it more room and walk again.
      this.candCap = Math.min(Math.max(2 * this.candCap, 1024), this.nItems + 64);
      const cand = arena.alloc(8 * this.candCap);
      arena.i32[bw + W.CAND] = cand;
      arena.i32[bw + W.CANDCAP] = this.candCap;
      found = this.kernels.search(this.space.kind, quantized, this.block);
    }
    arena.refresh();
    // The walk left its results nearest first; Annoy's exact distances decide the final order.
    const rw = arena.i32[bw + W.RES] >>> 2;
    const count = Math.min(n, found);
    const ids = new Array<number>(count);
    for (let j = 0; j < count; j++) ids[j] = arena.i32[rw + 2 * j + 1];
    const query = this.query;
    const exact = ids.map((id) => metric.exactDistance(query, 0, store, id));
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
    const w16 = new Int16Array(arena.buffer, this.weights, codes.nPad);
    for (let i = 0; i < n; i++) w16[i] = Math.round((f32[q + i] * norm * f32[sw + i]) / wstep);
    const bw = this.block >>> 2;
    f32[bw + W.A] = a;
    f32[bw + W.WSTEP] = wstep;
    f32[bw + W.QAUX] = qq;
  }
}
