import { AnnoyStateError } from '../errors.ts';
import { DistanceKind } from '../kernels/kernels.ts';
import type { Metric } from '../metrics/metric.ts';
import type { Records } from '../records.ts';
import { buildKernels, type BuildKernels } from './kernels.ts';
import { BuildThreads, MAX_THREADS, OP, type GraphThreadStarter, type ThreadRegions } from './parallel.ts';
import { graphSpace } from './space.ts';

/** How the graph is built (see README "Graph search" for how the defaults were chosen). */
export interface GraphBuildParams {
  /** Most neighbours a node keeps in the final graph. */
  degree: number;
  /** Neighbours per node in the k-nearest-neighbour graph that NN-descent refines (before pruning). */
  neighbours: number;
  /** NN-descent's samples per node and round: this many new and this many old neighbours (half forward, half reverse). */
  candidates: number;
  /** Most NN-descent rounds; it stops earlier once a round changes fewer than delta·n·neighbours entries. */
  rounds: number;
  delta: number;
  /** Diversity pruning: candidate c of node v is dropped when a kept neighbour k has alpha·d(k, c) ≤ d(v, c) (1: the RNG rule). */
  alpha: number;
  /** Nodes the pruning leaves with fewer neighbours get the nearest pruned ones back, up to this many. */
  minDegree?: number;
  /** Tree leaves larger than this are cut by random two-pivot splits before their pairs are compared. */
  leafSize: number;
  /** Seed of the build's random choices (the same seed gives the same graph). */
  seed: number;
}

export interface BuildStats {
  leafPairs: number;
  rounds: number;
  updates: number[];
  seconds: { copy: number; init: number; descent: number; prune: number };
  buildMemoryBytes: number;
  threads: number;
  /** Of a sample of nodes, the share of their true `neighbours` nearest that NN-descent found. */
  knnRecall?: number;
}

/** A graph in compressed sparse rows: node v's neighbours are neighbours[offsets[v] … offsets[v + 1]), nearest first. */
export interface Graph {
  readonly nItems: number;
  readonly offsets: Uint32Array;
  readonly neighbours: Int32Array;
}

/** Field numbers of the build's description block (B_* in assembly/graph.ts). */
const B = {
  KIND: 0, N: 1, VECS: 2, VSTRIDE: 3, ITEMS: 4, K: 5, HIDS: 6, HDIST: 7, HNEW: 8, CAP: 9, NEWF: 10, NEWFN: 11, OLDF: 12,
  OLDFN: 13, RCAP: 14, NEWR: 15, NEWRP: 16, NEWRN: 17, OLDR: 18, OLDRP: 19, OLDRN: 20, SEED: 21, ROUND: 22, DEGREE: 23,
  KEPT: 24, KEPTD: 25, KEPTN: 26, ALPHA: 27, MINDEG: 28, WORDS: 29,
} as const;

/** Nodes per join step: the step's updates are computed from one state of the heaps, then applied (the same steps for any number of threads). */
const JOIN_STEP = 512;

/** Hands out 16-byte aligned regions of the build memory. */
class Layout {
  top = 64;
  take(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 16) * 16;
    return at;
  }
}

/**
 * Builds the neighbour graph over the items of `store`, in a WebAssembly memory of its own
 * (dropped afterwards) holding a compact copy of the vectors and the build's working state:
 * 1. candidates from the forest: items sharing a leaf (leaves above `leafSize` cut by random
 *    two-pivot splits) are compared pairwise, each keeping its `neighbours` nearest;
 * 2. NN-descent (Dong, Charikar & Li 2011): rounds of local joins — a node's sampled neighbours,
 *    forward and reverse, compared new against new and new against old — until a round changes
 *    fewer than delta·n·neighbours entries;
 * 3. diversity pruning (the relative-neighbourhood rule; Vamana's α variant for alpha > 1): a
 *    candidate is kept only if no kept neighbour is closer to it than the node is;
 * 4. reverse edges: every kept edge v → u is offered back as u → v, and a node left with more than
 *    `degree` is pruned again by the same rule.
 * Holes (ids never added) take no part and have no neighbours.
 */
export function buildGraph(
  metric: Metric, store: Records, roots: readonly number[], nItems: number, params: GraphBuildParams, stats?: BuildStats,
  threading?: { threads: number; start: GraphThreadStarter } | null,
  onProgress?: (stage: 'leaves' | 'descent' | 'pruning', done: number, total: number) => void,
): Graph {
  const t0 = now();
  const space = graphSpace(metric, store, 0);
  const hamming = space.kind === DistanceKind.Hamming;
  const unitBytes = hamming ? 8 : 4;
  const vstride = Math.ceil((space.n * unitBytes) / 16) * 16;
  const K = Math.max(1, params.neighbours), degree = Math.max(1, params.degree);
  // The sample of each kind (new, old) is half forward, half reverse.
  const cap = Math.max(1, Math.ceil(params.candidates / 2)), rcap = cap;
  const n = nItems;

  // The build memory's regions; later phases reuse those of earlier ones.
  const L = new Layout();
  const block = L.take(4 * B.WORDS);
  const vecs = L.take(n * vstride);
  const heapsAt = L.top;
  const hids = L.take(4 * n * K), hdist = L.take(4 * n * K), hnew = L.take(n * K);
  const heapsEnd = L.top;
  const samplesAt = L.top;
  const newF = L.take(4 * n * cap), oldF = L.take(4 * n * cap), newFN = L.take(4 * n), oldFN = L.take(4 * n);
  const newR = L.take(4 * n * rcap), newRP = L.take(4 * n * rcap), newRN = L.take(4 * n);
  const oldR = L.take(4 * n * rcap), oldRP = L.take(4 * n * rcap), oldRN = L.take(4 * n);
  const samplesEnd = L.top;
  // After NN-descent: the pruned lists where the samples were …
  L.top = samplesAt;
  const kept = L.take(4 * n * degree), keptD = L.take(4 * n * degree), keptN = L.take(4 * n);
  const outIds = L.take(4 * n * degree), outN = L.take(4 * n);
  const prunedEnd = L.top;
  // … and the reverse edges where the heaps were.
  L.top = heapsAt;
  const revOff = L.take(4 * (n + 1)), revIds = L.take(4 * n * degree), revDs = L.take(4 * n * degree);
  L.top = Math.max(heapsEnd, samplesEnd, prunedEnd, L.top);
  const m = 2 * (cap + rcap);
  const pairsPerNode = (m * (m - 1)) / 2;
  const leafSize = Math.max(2, params.leafSize);
  const mergeCap = 4 * degree + 16;
  const threads = Math.max(1, Math.min(threading?.threads ?? 1, MAX_THREADS, Math.ceil(n / 1024)));
  const regions: ThreadRegions[] = [];
  for (let t = 0; t < threads; t++) {
    // Room for the updates of this thread's piece of a join step at worst; thread 0 also compares leaves.
    const triples = Math.max((Math.ceil(JOIN_STEP / threads) + 1) * pairsPerNode, t === 0 ? (Math.max(leafSize, K + 1) ** 2) / 2 : 0, 1);
    regions.push({
      buf: L.take(12 * triples),
      mark: L.take(4 * n),
      set: L.take(4 * m),
      scratch: L.take(Math.max(8 * K + 8, 8 * cap, 8 * mergeCap + 8 * degree, 8 * leafSize)),
    });
  }
  const { buf, scratch } = regions[0];
  const k = buildKernels(L.top);
  if (!k) throw new AnnoyStateError('building a graph needs WebAssembly, which this runtime does not provide (the graph can still be searched here once built elsewhere)');
  const { i32, u32, f32, u8 } = k.views();
  u8.fill(0, 0, L.top);

  const fields: [number, number][] = [
    [B.KIND, space.kind], [B.N, space.n], [B.VECS, vecs], [B.VSTRIDE, vstride], [B.ITEMS, n], [B.K, K], [B.HIDS, hids],
    [B.HDIST, hdist], [B.HNEW, hnew], [B.CAP, cap], [B.NEWF, newF], [B.NEWFN, newFN], [B.OLDF, oldF], [B.OLDFN, oldFN],
    [B.RCAP, rcap], [B.NEWR, newR], [B.NEWRP, newRP], [B.NEWRN, newRN], [B.OLDR, oldR], [B.OLDRP, oldRP], [B.OLDRN, oldRN],
    [B.SEED, params.seed | 0], [B.ROUND, 0], [B.DEGREE, degree], [B.KEPT, kept], [B.KEPTD, keptD], [B.KEPTN, keptN],
    [B.MINDEG, Math.min(degree, Math.max(0, params.minDegree ?? 0))],
  ];
  for (const [i, v] of fields) i32[(block >>> 2) + i] = v;
  f32[(block >>> 2) + B.ALPHA] = params.alpha;

  // The vectors, compact (angular: normalised, so 1 − x·y ranks like Annoy's angular distance).
  const present = new Uint8Array(n);
  const ai32 = store.arena.i32, af32 = store.arena.f32;
  const units = hamming ? 2 * space.n : space.n;
  const angular = space.kind === DistanceKind.Angular;
  for (let id = 0; id < n; id++) {
    if (ai32[store.word(id)] !== 1) continue;
    present[id] = 1;
    const from = (store.ptr(id) + space.off) >>> 2, to = (vecs + id * vstride) >>> 2;
    if (angular) {
      let s = 0;
      for (let i = 0; i < units; i++) s += af32[from + i] * af32[from + i];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let i = 0; i < units; i++) f32[to + i] = af32[from + i] * inv;
    } else {
      u32.set(store.arena.u32.subarray(from, from + units), to);
    }
  }
  k.exports.buildInit(block);
  const t1 = now();

  // 1. Leaves of the forest.
  let leafPairs = 0;
  const groupIds = scratch;
  const compare = (group: Int32Array, count: number): void => {
    if (count < 2) return;
    i32.set(group.subarray(0, count), groupIds >>> 2);
    const found = k.exports.buildGroupPairs(block, groupIds, count, buf);
    k.exports.buildApply(block, buf, found, 0, 1);
    leafPairs += (count * (count - 1)) / 2;
  };
  const distancesFrom = (a: number, ids: Int32Array, count: number, out: Float32Array): void => {
    const idsAt = scratch, outAt = scratch + 4 * leafSize;
    for (let s = 0; s < count; s += leafSize) {
      const c = Math.min(leafSize, count - s);
      i32.set(ids.subarray(s, s + c), idsAt >>> 2);
      k.exports.buildDistancesFrom(block, a, idsAt, c, outAt);
      out.set(f32.subarray(outAt >>> 2, (outAt >>> 2) + c), s);
    }
  };
  const splitter = makeSplitter(params.seed, leafSize, distancesFrom, compare);
  forEachLeaf(metric, store, roots, n, present, splitter, (tree) => onProgress?.('leaves', tree, roots.length));
  fillShortLists(k, block, n, K, present, params.seed, i32, hids, buf, scratch);
  const t2 = now();
  let t3 = t2;

  // 2. NN-descent (and from here on, every thread takes part).
  const pool = new BuildThreads(k.exports, block, regions, k.memory, k.module, threads > 1 ? threading!.start : null);
  try {
    const updatesPerRound: number[] = [];
    for (let round = 1; round <= params.rounds; round++) {
      i32[(block >>> 2) + B.ROUND] = round;
      pool.run(OP.SAMPLE_FORWARD, [0, n]);
      pool.run(OP.SAMPLE_REVERSE, []);
      let updates = 0;
      const steps = Math.ceil(n / JOIN_STEP);
      for (let lo = 0, step = 0; lo < n; lo += JOIN_STEP, step++) {
        const counts = pool.run(OP.JOIN, [lo, Math.min(n, lo + JOIN_STEP)]);
        for (const u of pool.run(OP.APPLY, counts)) updates += u;
        if (onProgress && (step & 63) === 63) onProgress('descent', (round - 1) * steps + step + 1, params.rounds * steps);
      }
      onProgress?.('descent', round * steps, params.rounds * steps);
      updatesPerRound.push(updates);
      if (updates <= params.delta * n * K) break;
    }
    t3 = now();
    if (stats) {
      stats.rounds = updatesPerRound.length;
      stats.updates = updatesPerRound;
      stats.knnRecall = sampleKnnRecall(k, block, n, K, present, hids, i32, f32, scratch, leafSize);
    }

    // 3. Forward pruning.
    onProgress?.('pruning', 0, 2);
    pool.run(OP.PRUNE, [0, n]);
    onProgress?.('pruning', 1, 2);
  // 4. Reverse edges (counting sort by target), merged and pruned again.
  const ro = revOff >>> 2;
  u32.fill(0, ro, ro + n + 1);
  for (let v = 0; v < n; v++) {
    const c = i32[(keptN >>> 2) + v], kw = (kept >>> 2) + v * degree;
    for (let t = 0; t < c; t++) u32[ro + i32[kw + t] + 1]++;
  }
  for (let v = 0; v < n; v++) u32[ro + v + 1] += u32[ro + v];
  const fillAt = u32.slice(ro, ro + n);
  for (let v = 0; v < n; v++) {
    const c = i32[(keptN >>> 2) + v], kw = (kept >>> 2) + v * degree, dw = (keptD >>> 2) + v * degree;
    for (let t = 0; t < c; t++) {
      const u = i32[kw + t];
      const at = fillAt[u]++;
      i32[(revIds >>> 2) + at] = v;
      f32[(revDs >>> 2) + at] = f32[dw + t];
    }
  }
    pool.run(OP.MERGE, [0, n, revOff, revIds, revDs, outIds, outN, mergeCap]);
    onProgress?.('pruning', 2, 2);
  } finally {
    pool.close();
  }
  const offsets = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) offsets[v + 1] = offsets[v] + i32[(outN >>> 2) + v];
  const neighbours = new Int32Array(offsets[n]);
  for (let v = 0; v < n; v++) {
    const c = offsets[v + 1] - offsets[v];
    neighbours.set(i32.subarray((outIds >>> 2) + v * degree, (outIds >>> 2) + v * degree + c), offsets[v]);
  }
  const t4 = now();
  if (stats) {
    stats.leafPairs = leafPairs;
    stats.threads = threads;
    stats.seconds = { copy: (t1 - t0) / 1000, init: (t2 - t1) / 1000, descent: (t3 - t2) / 1000, prune: (t4 - t3) / 1000 };
    stats.buildMemoryBytes = L.top;
  }
  return { nItems: n, offsets, neighbours };
}

function now(): number {
  return typeof performance === 'object' ? performance.now() : Date.now();
}

/** A hash of (seed, a, b) to 32 bits: the build's random choices outside the kernels. */
function mix(seed: number, a: number, b: number): number {
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ a;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) ^ b;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Nodes the leaves left short of K neighbours get pseudo-random ones (NN-descent needs full lists to start from). */
function fillShortLists(
  k: BuildKernels, block: number, n: number, K: number, present: Uint8Array, seed: number, i32: Int32Array, hids: number, buf: number, scratch: number,
): void {
  const nodes: number[] = [];
  for (let i = 0; i < n; i++) if (present[i]) nodes.push(i);
  if (nodes.length < 2) return;
  for (const v of nodes) {
    let missing = 0;
    for (let j = 0; j < K; j++) if (i32[(hids >>> 2) + v * K + j] < 0) missing++;
    if (missing === 0) continue;
    // A group of v and `missing` others: its pairs include every (v, other).
    const group = [v];
    for (let t = 0; group.length <= missing && t < 4 * missing; t++) {
      const u = nodes[mix(seed, v, t) % nodes.length];
      if (!group.includes(u)) group.push(u);
    }
    i32.set(group, scratch >>> 2);
    const found = k.exports.buildGroupPairs(block, scratch, group.length, buf);
    k.exports.buildApply(block, buf, found, 0, 1);
  }
}

/**
 * Calls `visit(items, count)` for the items of every leaf of every tree (holes and repeats
 * removed; a split's child that is a single item has nothing to pair with and is skipped).
 */
function forEachLeaf(
  metric: Metric, store: Records, roots: readonly number[], nItems: number, present: Uint8Array,
  visit: (items: Int32Array, count: number) => void, treeDone?: (trees: number) => void,
): void {
  const i32 = store.arena.i32, cw = metric.childrenWord, K = metric.leafCapacity;
  const stamp = new Int32Array(nItems);
  let mark = 0;
  let items = new Int32Array(Math.min(Math.max(K, 16), Math.max(nItems, 1)));
  const stack: number[] = [];
  for (const root of roots) {
    stack.push(root);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id < nItems) continue;
      const base = store.word(id);
      const nd = i32[base];
      if (nd > K) {
        stack.push(i32[base + cw + 1], i32[base + cw]);
        continue;
      }
      mark++;
      let m = 0;
      if (nd > items.length) items = new Int32Array(nd);
      for (let j = 0; j < nd; j++) {
        const item = i32[base + cw + j];
        if (item < 0 || item >= nItems || !present[item] || stamp[item] === mark) continue;
        stamp[item] = mark;
        items[m++] = item;
      }
      visit(items, m);
    }
    treeDone?.(roots.indexOf(root) + 1);
  }
}

/**
 * Cuts a group of items into pieces of at most `leafSize` by random two-pivot splits (each item
 * goes to the nearer of two pseudo-random members), then hands every piece to `compare`.
 */
function makeSplitter(
  seed: number, leafSize: number, distancesFrom: (a: number, ids: Int32Array, count: number, out: Float32Array) => void,
  compare: (group: Int32Array, m: number) => void,
): (items: Int32Array, m: number) => void {
  let draws = 0;
  const split = (items: Int32Array, m: number, depth: number): void => {
    if (m <= leafSize || depth > 48) {
      compare(items, Math.min(m, leafSize));
      return;
    }
    const a = items[mix(seed, draws++, m) % m];
    let b = a;
    for (let t = 0; t < 8 && b === a; t++) b = items[mix(seed, draws++, m) % m];
    const da = new Float32Array(m), db = new Float32Array(m);
    distancesFrom(a, items, m, da);
    distancesFrom(b, items, m, db);
    const left = new Int32Array(m), right = new Int32Array(m);
    let nl = 0, nr = 0;
    for (let j = 0; j < m; j++) {
      if (da[j] < db[j] || (da[j] === db[j] && (mix(seed, draws, j) & 1))) left[nl++] = items[j];
      else right[nr++] = items[j];
    }
    draws++;
    if (nl === 0 || nr === 0) {
      // Identical points: halve the list.
      nl = m >> 1;
      nr = m - nl;
      left.set(items.subarray(0, nl));
      right.set(items.subarray(nl, m));
    }
    split(left, nl, depth + 1);
    split(right, nr, depth + 1);
  };
  return (items, m) => split(items.slice(0, m), m, 0);
}

/** Measurement only: how many of the true K nearest of 50 sample nodes the k-NN heaps hold. */
function sampleKnnRecall(
  k: BuildKernels, block: number, n: number, K: number, present: Uint8Array, hids: number, i32: Int32Array, f32: Float32Array, scratch: number, chunk: number,
): number {
  const nodes: number[] = [];
  for (let i = 0; i < n; i++) if (present[i]) nodes.push(i);
  let hits = 0, total = 0;
  const all = new Int32Array(nodes);
  const d = new Float32Array(nodes.length);
  for (let s = 0; s < 50 && nodes.length > K + 1; s++) {
    const v = nodes[mix(7, s, 0) % nodes.length];
    for (let at = 0; at < all.length; at += chunk) {
      const c = Math.min(chunk, all.length - at);
      i32.set(all.subarray(at, at + c), scratch >>> 2);
      k.exports.buildDistancesFrom(block, v, scratch, c, scratch + 4 * chunk);
      d.set(f32.subarray((scratch >>> 2) + chunk, (scratch >>> 2) + chunk + c), at);
    }
    const order = Array.from(all.keys()).filter((j) => all[j] !== v).sort((a, b) => d[a] - d[b]).slice(0, K).map((j) => all[j]);
    const have = new Set(Array.from(i32.subarray((hids >>> 2) + v * K, (hids >>> 2) + v * K + K)));
    for (const u of order) if (have.has(u)) hits++;
    total += K;
  }
  return total ? hits / total : 1;
}
