// What an index keeps of its neighbour graph, and everything the index does with it: build it,
// read and write its companion file, and answer queries through it. The core (annoy-index.ts)
// holds one IndexGraph (or none) and asks it; nothing here knows about files.
import { AnnoyArgumentError } from '../errors.ts';
import { crc32Portable, type Crc32 } from '../formats/checksum.ts';
import type { ProgressListener } from '../forest/forest.ts';
import { describe } from '../metrics/index.ts';
import type { Metric } from '../metrics/metric.ts';
import type { Arena, Records } from '../records.ts';
import type { Refinement, SearchResult } from '../search/search.ts';
import { buildGraph, type Graph, type GraphBuildParams } from './build.ts';
import { parseGraph, serializeGraph } from './format.ts';
import type { GraphThreading } from './parallel.ts';
import { allocateGraphWorkspace, EF_MAX, GraphSearcher, placeGraph, type GraphWorkspace, type PlacedGraph } from './search.ts';

/** Options of build(…, { graph }) and buildGraph(): how the neighbour graph is built. */
export interface GraphOptions {
  /** Most neighbours an item keeps (default 32). More: better recall at high searchK, a larger .graph. */
  degree?: number;
  /** Neighbours per item NN-descent refines before pruning (default 40). */
  neighbours?: number;
  /** NN-descent's sample per item and round (default 32). */
  candidates?: number;
  /** Most NN-descent rounds (default 20; it stops once a round changes little). */
  rounds?: number;
  /** Pruning: 1 is the relative-neighbourhood rule; larger keeps more long edges (default 1.15). */
  alpha?: number;
  /** Items the pruning leaves with fewer neighbours get the nearest pruned ones back, up to this many (default 16). */
  minDegree?: number;
  /** Seed of the build's random choices (default 1): the same seed and items give the same graph. */
  seed?: number;
  /**
   * Walk on int8 codes of the vectors, re-ranking the walk's results with the float vectors
   * (default true; angular, euclidean and dot): 1.5–2× faster queries, answers and distances as
   * exact as ever, for f bytes per item of memory (the codes are made when the graph is attached,
   * never stored). Recorded in the .graph file; false keeps memory at the index plus the graph.
   */
  quantize?: boolean;
  /**
   * Threads that build the graph (the Node entry: this one and nJobs − 1 workers; -1: all cores
   * when the index is large enough). In build(…, { graph }) it defaults to build()'s nJobs. The
   * graph is the same for every nJobs.
   */
  nJobs?: number;
  /** Called as the graph is built (synchronously): see BuildProgress.graph. */
  onProgress?: ProgressListener;
}

/** The defaults, chosen by measurement on GloVe-100 and Fashion-MNIST (README "Graph search"). */
export const GRAPH_DEFAULTS: Required<Omit<GraphOptions, 'onProgress'>> = {
  degree: 32, neighbours: 40, candidates: 32, rounds: 20, alpha: 1.15, minDegree: 16, seed: 1, quantize: true, nJobs: -1,
};

/** Graph options checked and completed with the defaults. */
export type CheckedGraphOptions = Required<Omit<GraphOptions, 'onProgress'>> & Pick<GraphOptions, 'onProgress'>;
const LEAF_SIZE = 48;
const DELTA = 0.001;

/** Checks buildGraph()'s options (undefined: the defaults). */
export function checkGraphOptions(options: unknown, nJobs = GRAPH_DEFAULTS.nJobs): CheckedGraphOptions {
  if (options === undefined || options === true) return { ...GRAPH_DEFAULTS, nJobs };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new AnnoyArgumentError(`graph options must be an object (or true), got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(GRAPH_DEFAULTS, key) && key !== 'onProgress') {
      throw new AnnoyArgumentError(`unknown graph option ${describe(key)}; expected ${Object.keys(GRAPH_DEFAULTS).join(', ')}`);
    }
  }
  const out: CheckedGraphOptions = { ...GRAPH_DEFAULTS, nJobs };
  if (given.onProgress !== undefined) {
    if (typeof given.onProgress !== 'function') throw new AnnoyArgumentError(`graph option onProgress must be a function, got ${describe(given.onProgress)}`);
    out.onProgress = given.onProgress as ProgressListener;
  }
  const int = (key: 'degree' | 'neighbours' | 'candidates' | 'rounds' | 'minDegree', lo: number, hi: number): void => {
    const v = given[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new AnnoyArgumentError(`graph option ${key} must be an integer from ${lo} to ${hi}, got ${describe(v)}`);
    }
    out[key] = v;
  };
  int('degree', 1, 1024);
  int('neighbours', 1, 1024);
  int('candidates', 1, 1024);
  int('rounds', 0, 1000);
  int('minDegree', 0, 1024);
  if (given.alpha !== undefined) {
    const a = given.alpha;
    if (typeof a !== 'number' || !(a >= 1) || a > 10) throw new AnnoyArgumentError(`graph option alpha must be a number from 1 to 10, got ${describe(a)}`);
    out.alpha = a;
  }
  if (given.seed !== undefined) {
    const s = given.seed;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 0xffffffff) {
      throw new AnnoyArgumentError(`graph option seed must be an integer from 0 to 2^32 − 1, got ${describe(s)}`);
    }
    out.seed = s;
  }
  if (given.nJobs !== undefined) {
    const j = given.nJobs;
    if (j !== -1 && (typeof j !== 'number' || !Number.isInteger(j) || j < 1)) {
      throw new AnnoyArgumentError(`graph option nJobs must be a positive integer or -1 (all cores), got ${describe(j)}`);
    }
    out.nJobs = j;
  }
  if (given.quantize !== undefined) {
    if (typeof given.quantize !== 'boolean') throw new AnnoyArgumentError(`graph option quantize must be a boolean, got ${describe(given.quantize)}`);
    out.quantize = given.quantize;
  }
  return out;
}

/**
 * How a query's searchK becomes the graph walk's beam: ef = searchK / 16 (about the distances a
 * walk computes per unit of beam), at least n; below 16·n it caps the distances computed instead.
 * See README "Graph search" for the table of searchK → recall.
 */
export const SEARCH_K_PER_EF = 16;
/** The beam of searchK = -1. */
export function defaultEf(n: number): number {
  return Math.max(100, 2 * n);
}

/** Trees a query descends for entry points, and leaf items each one seeds the walk with. */
const ENTRY_TREES = 1;
const SEEDS_PER_LEAF = 16;

/** Where a .graph file's bytes come from: `read` fills the room `allocate` gives it; `name` names it in errors. */
export interface GraphSource {
  readonly name: string;
  readonly crc32?: Crc32;
  read(allocate: (byteLength: number) => Uint8Array): void;
}

/**
 * An index's graph, placed in the index's memory where the walk reads it (nothing else is kept:
 * the .graph file's bytes are made from that copy when asked for).
 */
export class IndexGraph {
  private constructor(readonly placed: PlacedGraph, private readonly arena: Arena) {}

  /** Builds the graph of the items of `store` (the trees at `roots` give the first candidates) and places it. */
  static build(
    metric: Metric, store: Records, roots: readonly number[], nItems: number, options: CheckedGraphOptions, threading: GraphThreading | null = null,
    nTrees = roots.length,
  ): IndexGraph {
    const params: GraphBuildParams = {
      degree: options.degree, neighbours: options.neighbours, candidates: options.candidates, rounds: options.rounds, delta: DELTA,
      alpha: options.alpha, minDegree: options.minDegree, leafSize: LEAF_SIZE, seed: options.seed,
    };
    const threads = threading ? threading.threads(options.nJobs, nItems * metric.f) : 1;
    const report = options.onProgress;
    const graph = buildGraph(
      metric, store, roots, nItems, params, undefined, threads > 1 ? { threads, start: threading!.start } : null,
      report && ((stage, done, total) => report({ trees: roots.length, nTrees, placed: nItems, items: nItems, graph: { stage, done, total } })),
    );
    return new IndexGraph(placeGraph(metric, store, graph, options.quantize), store.arena);
  }

  /**
   * The graph of a .graph file, read by `source` straight into the index's memory (no other copy),
   * checked against the index whose .ann bytes are `annBytes` (an AnnoyFormatError naming the
   * source and the problem when it does not belong to them or is damaged), and used in place.
   */
  static read(source: GraphSource, metric: Metric, store: Records, nItems: number, annBytes: Uint8Array): IndexGraph {
    const arena = store.arena;
    let bytes: Uint8Array | null = null;
    source.read((byteLength) => {
      const at = arena.alloc(byteLength);
      return (bytes = new Uint8Array(arena.buffer, at, byteLength));
    });
    if (!bytes) throw new Error('internal: a graph source never allocated');
    const i32 = arena.i32;
    const graph = parseGraph(bytes, {
      metric: metric.name, f: metric.f, nItems, annBytes, present: (id) => i32[store.word(id)] === 1,
    }, source.name, source.crc32 ?? crc32Portable);
    return new IndexGraph(placeGraph(metric, store, graph, graph.quantized), arena);
  }

  /** A graph already placed in a memory shared by another thread's index. */
  static attached(placed: PlacedGraph, arena: Arena): IndexGraph {
    return new IndexGraph(placed, arena);
  }

  /** The .graph file's bytes for the index whose .ann bytes are `annBytes`. */
  toBytes(metric: Metric, annBytes: Uint8Array, crc32: Crc32 = crc32Portable): Uint8Array {
    const { nItems, offsets, neighbours, edges } = this.placed;
    this.arena.refresh();
    const buffer = this.arena.buffer;
    const graph: Graph = {
      nItems, offsets: new Uint32Array(buffer, offsets, nItems + 1), neighbours: new Int32Array(buffer, neighbours, edges),
    };
    return serializeGraph(graph, { metric: metric.name, f: metric.f, nItems, annBytes }, crc32, this.placed.quantize);
  }

  /** Reserves a searching thread's workspace (and room for its roots) in the index's memory. */
  reserve(nRoots: number): { workspace: GraphWorkspace; rootsAt: number } {
    return { workspace: allocateGraphWorkspace(this.arena, this.placed.nItems, this.placed), rootsAt: this.arena.alloc(4 * Math.max(1, nRoots)) };
  }

  /** A searcher of this graph for one thread (its workspace from reserve()). */
  searcher(
    store: Records, metric: Metric, roots: readonly number[], nItems: number, query: Records, space: { workspace: GraphWorkspace; rootsAt: number },
  ): GraphSearcher {
    return new GraphSearcher(store, metric, roots, nItems, this.placed, query, space.workspace, space.rootsAt);
  }
}

/**
 * A query through the graph, or null when the forest should answer it: radius queries
 * (maxDistance), predicate filters (they are asked per candidate, which the WebAssembly walk
 * cannot do), filters so selective that walking the graph would visit most of it for few
 * results (the forest's filtered search scans those exactly), filtered walks that found fewer
 * than n allowed items, and n beyond the widest beam.
 */
export function graphQuery(searcher: GraphSearcher, n: number, searchK: number, withDistances: boolean, refinement: Refinement | null): SearchResult | null {
  // searchK Infinity promises the exact answer (every tree to its end); a walk cannot promise it.
  if (searchK === Infinity) return null;
  // The beam holds at most EF_MAX results: a larger n is the forest's.
  if (n > EF_MAX) return null;
  let allowed: Uint32Array | null = null;
  const ef = searchK === -1 ? defaultEf(n) : Math.min(EF_MAX, Math.max(n, Math.ceil(searchK / SEARCH_K_PER_EF)));
  // Below 16·n, searchK bounds the distances computed instead (the beam is already as narrow as n).
  const budget = searchK !== -1 && searchK < SEARCH_K_PER_EF * n ? Math.max(1, searchK) : Infinity;
  if (refinement) {
    if (refinement.bound) return null;
    const r = refinement.restriction;
    if (r) {
      if (r.kind !== 'ids') return null;
      if (r.allowed.count < Math.max(4 * ef, r.allowed.size / 50)) return null;
      allowed = r.allowed.bits;
    }
  }
  if (n === 0) return { ids: [], distances: [] };
  const result = searcher.search(n, { ef, budget, entryTrees: ENTRY_TREES, seedsPerLeaf: SEEDS_PER_LEAF, allowed }, withDistances);
  // A filtered walk can end short of n (its budget spent among disallowed items, or a correlated
  // filter far from the query): the forest answers then, whose scan completes it — never fewer
  // than min(n, allowed) results (allowed ≥ 4·ef ≥ 4n here).
  return allowed && result.ids.length < n ? null : result;
}
