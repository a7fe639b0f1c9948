import type { Metric } from '../metrics/metric.ts';
import type { Records } from '../records.ts';
import type { GraphKernels, GraphSpace } from './kernels.ts';

/** How the graph is built (see README "Graph search" for how the defaults were chosen). */
export interface GraphBuildParams {
  /** Most neighbours a node keeps in the final graph. */
  degree: number;
  /** Neighbours per node in the k-nearest-neighbour graph that NN-descent refines (before pruning). */
  neighbours: number;
  /** NN-descent's sample: new and old candidates per node and round (ρ·K in the paper). */
  candidates: number;
  /** Most NN-descent rounds; it stops earlier once a round changes fewer than delta·n·neighbours entries. */
  rounds: number;
  delta: number;
  /** Diversity pruning: candidate c of node v is dropped when a kept neighbour k has alpha·d(k, c) ≤ d(v, c) (1: the RNG rule). */
  alpha: number;
  /** Tree leaves larger than this are cut by random two-pivot splits before their pairs are compared. */
  leafSize: number;
  /** Seed of the build's random choices (the same seed gives the same graph). */
  seed: number;
}

export interface BuildStats {
  leafPairs: number;
  rounds: number;
  updates: number[];
  joinDistances: number;
  pruneDistances: number;
  seconds: { init: number; descent: number; prune: number };
}

/** A graph in compressed sparse rows: node v's neighbours are neighbours[offsets[v] … offsets[v + 1]). */
export interface Graph {
  readonly nItems: number;
  readonly offsets: Uint32Array;
  readonly neighbours: Int32Array;
}

/**
 * The k-nearest-neighbour lists NN-descent works on: per node a max-heap (worst on top) of `k`
 * entries. Each node's current worst distance is mirrored as float32 at byte `thr` of the arena,
 * where the join kernel reads it to skip pairs that cannot enter either list.
 */
class NeighbourHeaps {
  readonly ids: Int32Array;
  readonly dist: Float32Array;
  /** 1 = new (not yet used in a local join). */
  readonly isNew: Uint8Array;

  constructor(readonly nItems: number, readonly k: number, private readonly arena: { f32: Float32Array }, readonly thr: number) {
    this.ids = new Int32Array(nItems * k).fill(-1);
    this.dist = new Float32Array(nItems * k).fill(Infinity);
    this.isNew = new Uint8Array(nItems * k);
    arena.f32.fill(Infinity, thr >>> 2, (thr >>> 2) + nItems);
  }

  /** Offers v at distance d to u's list; returns 1 when it went in. */
  push(u: number, v: number, d: number): number {
    const { ids, dist, isNew, k } = this;
    const b = u * k;
    if (!(d < dist[b])) return 0;
    for (let j = 0; j < k; j++) if (ids[b + j] === v) return 0;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= k) break;
      if (c + 1 < k && dist[b + c + 1] > dist[b + c]) c++;
      if (dist[b + c] <= d) break;
      ids[b + i] = ids[b + c];
      dist[b + i] = dist[b + c];
      isNew[b + i] = isNew[b + c];
      i = c;
    }
    ids[b + i] = v;
    dist[b + i] = d;
    isNew[b + i] = 1;
    this.arena.f32[(this.thr >>> 2) + u] = dist[b];
    return 1;
  }

  /** Runs the kernel's thresholded join over ids[0 … nAll) of `scratch` and applies its pairs; returns the updates. */
  applyJoin(kernels: GraphKernels, space: GraphSpace, scratch: Scratch, set: Int32Array, nNew: number, nAll: number): number {
    const arena = this.arena as { f32: Float32Array; i32: Int32Array };
    const found = kernels.joinPairsBelow(space, scratch.ids, nNew, nAll, this.thr, scratch.out);
    const i32 = arena.i32, f32 = arena.f32, ow = scratch.out >>> 2;
    let updates = 0;
    for (let t = 0; t < found; t++) {
      const a = set[i32[ow + 3 * t]], c = set[i32[ow + 3 * t + 1]], d = f32[ow + 3 * t + 2];
      updates += this.push(a, c, d) + this.push(c, a, d);
    }
    return updates;
  }
}

/**
 * Per node, a bounded sample of candidates chosen by random priority (the `candidates` smallest
 * priorities win): NN-descent's sampling of new and old neighbours, forward and reverse.
 */
class CandidateSample {
  readonly ids: Int32Array;
  readonly prio: Uint32Array;
  readonly size: Int32Array;
  /** Scratch: one int32 per item for membership tests. */
  readonly mark: Int32Array;

  constructor(nItems: number, readonly cap: number) {
    this.mark = new Int32Array(nItems);
    this.ids = new Int32Array(nItems * cap);
    this.prio = new Uint32Array(nItems * cap);
    this.size = new Int32Array(nItems);
  }

  clear(): void {
    this.size.fill(0);
  }

  add(u: number, v: number, p: number): void {
    const { ids, prio, size, cap } = this;
    const b = u * cap;
    const n = size[u];
    // A full sample takes v only at a lower priority than its top: test that before the duplicate scan.
    if (n === cap && p >= prio[b]) return;
    for (let j = 0; j < n; j++) if (ids[b + j] === v) return;
    if (n < cap) {
      // Max-heap on priority: sift up.
      let i = n;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (prio[b + parent] >= p) break;
        prio[b + i] = prio[b + parent];
        ids[b + i] = ids[b + parent];
        i = parent;
      }
      prio[b + i] = p;
      ids[b + i] = v;
      size[u] = n + 1;
      return;
    }
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= cap) break;
      if (c + 1 < cap && prio[b + c + 1] > prio[b + c]) c++;
      if (prio[b + c] <= p) break;
      prio[b + i] = prio[b + c];
      ids[b + i] = ids[b + c];
      i = c;
    }
    prio[b + i] = p;
    ids[b + i] = v;
  }

}

/** xorshift32: the build's random choices (cheap, seeded, the same on every runtime). */
class Random {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

/** Scratch windows in the arena for the kernels: ids in, distances out. */
interface Scratch {
  ids: number;
  idsCap: number;
  out: number;
}

/**
 * Builds the neighbour graph over the items of `store`:
 * 1. candidates from the forest: items sharing a leaf (leaves above `leafSize` cut by random
 *    two-pivot splits) are compared pairwise, each keeping its `neighbours` nearest;
 * 2. NN-descent (Dong, Charikar & Li 2011): rounds of local joins — a node's neighbours are
 *    compared with each other, sampled, new against new and new against old, forward and reverse
 *    lists together — until a round changes fewer than delta·n·neighbours entries;
 * 3. diversity pruning (the relative-neighbourhood rule, or Vamana's α variant): a candidate is
 *    kept only if no kept neighbour is closer to it than the node is;
 * 4. reverse edges: every kept edge v → u is offered back as u → v, and a node with more than
 *    `degree` is pruned again by the same rule.
 */
export function buildGraph(
  metric: Metric, store: Records, roots: readonly number[], nItems: number, space: GraphSpace, kernels: GraphKernels,
  params: GraphBuildParams, stats?: BuildStats,
): Graph {
  const arena = store.arena;
  const { candidates: cap, degree } = params;
  const rng = new Random(params.seed);
  const present = new Uint8Array(nItems);
  let nPresent = 0;
  for (let i = 0; i < nItems; i++) if (arena.i32[store.word(i)] === 1) { present[i] = 1; nPresent++; }
  const nodes = new Int32Array(nPresent);
  for (let i = 0, j = 0; i < nItems; i++) if (present[i]) nodes[j++] = i;

  const idsCap = Math.max(2 * cap, params.leafSize, params.neighbours + 1, degree * 4, 128);
  const scratch: Scratch = { ids: arena.alloc(4 * idsCap), idsCap, out: arena.alloc(12 * idsCap * idsCap) };
  const k = Math.min(params.neighbours, Math.max(1, nPresent - 1));
  const heaps = new NeighbourHeaps(nItems, k, arena, arena.alloc(4 * nItems));
  const t0 = now();

  // 1. Leaves of the forest.
  let leafPairs = 0;
  const compareAll = (group: Int32Array, m: number): void => {
    if (m < 2) return;
    arena.i32.set(group.subarray(0, m), scratch.ids >>> 2);
    heaps.applyJoin(kernels, space, scratch, group, m, m);
    leafPairs += (m * (m - 1)) / 2;
  };
  const split = makeSplitter(arena, space, kernels, scratch, rng, params.leafSize, compareAll);
  forEachLeaf(metric, store, roots, nItems, present, (items, m) => split(items, m));
  fillShortLists(heaps, nodes, arena, space, kernels, scratch, rng);
  const t1 = now();

  // 2. NN-descent.
  const updatesPerRound: number[] = [];
  const joins = { count: 0 };
  const fresh = new CandidateSample(nItems, cap);
  const old = new CandidateSample(nItems, cap);
  for (let round = 0; round < params.rounds; round++) {
    sampleCandidates(heaps, nodes, fresh, old, rng);
    const updates = localJoins(heaps, nodes, fresh, old, arena, space, kernels, scratch, joins);
    updatesPerRound.push(updates);
    if (updates <= params.delta * nPresent * k) break;
  }
  const t2 = now();

  // 3 + 4. Pruning and reverse edges.
  const pruned = prune(heaps, nodes, nItems, space, kernels, arena, scratch, params);
  const t3 = now();
  if (stats) {
    stats.leafPairs = leafPairs;
    stats.rounds = updatesPerRound.length;
    stats.updates = updatesPerRound;
    stats.joinDistances = joins.count;
    stats.pruneDistances = pruned.distances;
    stats.seconds = { init: (t1 - t0) / 1000, descent: (t2 - t1) / 1000, prune: (t3 - t2) / 1000 };
  }
  return pruned.graph;
}

/** Nodes the leaves left short of k neighbours get random ones (NN-descent needs full lists to start from). */
function fillShortLists(
  heaps: NeighbourHeaps, nodes: Int32Array, arena: { i32: Int32Array; f32: Float32Array }, space: GraphSpace, kernels: GraphKernels,
  scratch: Scratch, rng: Random,
): void {
  const k = heaps.k, nPresent = nodes.length;
  if (nPresent < 2) return;
  const fill = new Int32Array(Math.min(k, scratch.idsCap));
  for (let vi = 0; vi < nPresent; vi++) {
    const v = nodes[vi];
    const b = v * k;
    let missing = 0;
    for (let j = 0; j < k; j++) if (heaps.ids[b + j] < 0) missing++;
    missing = Math.min(missing, fill.length);
    if (missing === 0) continue;
    let m = 0;
    for (let tries = 0; m < missing && tries < 4 * missing; tries++) {
      const u = nodes[rng.below(nPresent)];
      if (u !== v) fill[m++] = u;
    }
    arena.i32.set(fill.subarray(0, m), scratch.ids >>> 2);
    kernels.distancesFrom(space, v, scratch.ids, m, scratch.out);
    const f32 = arena.f32, ow = scratch.out >>> 2;
    for (let j = 0; j < m; j++) {
      heaps.push(v, fill[j], f32[ow + j]);
      heaps.push(fill[j], v, f32[ow + j]);
    }
  }
}

/**
 * NN-descent's sampling: each node's new and old neighbours, forward and reverse, up to `cap` of
 * each by random priority; the new ones sampled are marked old in the lists.
 */
function sampleCandidates(heaps: NeighbourHeaps, nodes: Int32Array, fresh: CandidateSample, old: CandidateSample, rng: Random): void {
  const k = heaps.k, ids = heaps.ids, isNew = heaps.isNew;
  fresh.clear();
  old.clear();
  for (let vi = 0; vi < nodes.length; vi++) {
    const v = nodes[vi];
    const b = v * k;
    for (let j = 0; j < k; j++) {
      const u = ids[b + j];
      if (u < 0) continue;
      const p = rng.next();
      const sample = isNew[b + j] ? fresh : old;
      sample.add(v, u, p);
      sample.add(u, v, p);
    }
  }
  const cap = fresh.cap, sampled = fresh.mark;
  for (let vi = 0; vi < nodes.length; vi++) {
    const v = nodes[vi];
    const b = v * k;
    for (let j = 0, n = fresh.size[v]; j < n; j++) sampled[fresh.ids[v * cap + j]] = v + 1;
    for (let j = 0; j < k; j++) if (isNew[b + j] && sampled[ids[b + j]] === v + 1) isNew[b + j] = 0;
    for (let j = 0, n = fresh.size[v]; j < n; j++) sampled[fresh.ids[v * cap + j]] = 0;
  }
}

/** One round of local joins: every node's sampled candidates, new against new and new against old. */
function localJoins(
  heaps: NeighbourHeaps, nodes: Int32Array, fresh: CandidateSample, old: CandidateSample, arena: { i32: Int32Array },
  space: GraphSpace, kernels: GraphKernels, scratch: Scratch, joins: { count: number },
): number {
  const cap = fresh.cap;
  const set = new Int32Array(2 * cap);
  let updates = 0;
  for (let vi = 0; vi < nodes.length; vi++) {
    const v = nodes[vi];
    const nNew = fresh.size[v];
    if (nNew === 0) continue;
    const nOld = old.size[v];
    set.set(fresh.ids.subarray(v * cap, v * cap + nNew), 0);
    set.set(old.ids.subarray(v * cap, v * cap + nOld), nNew);
    const nAll = nNew + nOld;
    arena.i32.set(set.subarray(0, nAll), scratch.ids >>> 2);
    updates += heaps.applyJoin(kernels, space, scratch, set, nNew, nAll);
    joins.count += (nNew * (nNew - 1)) / 2 + nNew * nOld;
  }
  return updates;
}

function now(): number {
  return typeof performance === 'object' ? performance.now() : Date.now();
}

/**
 * Calls `visit(items, count)` for the items of every leaf of every tree (holes and duplicates
 * removed; a split's child that is a single item counts as a leaf of one).
 */
function forEachLeaf(
  metric: Metric, store: Records, roots: readonly number[], nItems: number, present: Uint8Array,
  visit: (items: Int32Array, count: number) => void,
): void {
  const i32 = store.arena.i32, cw = metric.childrenWord, K = metric.leafCapacity;
  const stamp = new Int32Array(nItems);
  let mark = 0;
  let items = new Int32Array(Math.min(Math.max(K, 16), nItems));
  const stack: number[] = [];
  for (const root of roots) {
    stack.push(root);
    while (stack.length > 0) {
      const id = stack.pop()!;
      const base = store.word(id);
      const nd = i32[base];
      if (id < nItems) continue; // a single item below a split: nothing to pair it with
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
  }
}

/**
 * Cuts a group of items into pieces of at most `leafSize` by random two-pivot splits (each item
 * goes to the nearer of two random members), then hands every piece to `compare`.
 */
function makeSplitter(
  arena: { i32: Int32Array; f32: Float32Array }, space: GraphSpace, kernels: GraphKernels, scratch: Scratch, rng: Random,
  leafSize: number, compare: (group: Int32Array, m: number) => void,
): (items: Int32Array, m: number) => void {
  const split = (items: Int32Array, m: number, depth: number): void => {
    if (m <= leafSize || depth > 32) {
      compare(items, Math.min(m, leafSize));
      return;
    }
    const a = items[rng.below(m)];
    let b = items[rng.below(m)];
    for (let t = 0; t < 8 && b === a; t++) b = items[rng.below(m)];
    const da = distancesOf(arena, space, kernels, scratch, a, items, m);
    const db = distancesOf(arena, space, kernels, scratch, b, items, m);
    const left = new Int32Array(m), right = new Int32Array(m);
    let nl = 0, nr = 0;
    for (let j = 0; j < m; j++) {
      if (da[j] < db[j] || (da[j] === db[j] && (rng.next() & 1))) left[nl++] = items[j];
      else right[nr++] = items[j];
    }
    if (nl === 0 || nr === 0) {
      // Identical points: halve the list.
      nl = m >> 1;
      left.set(items.subarray(0, nl));
      right.set(items.subarray(nl, m));
      nr = m - nl;
    }
    split(left, nl, depth + 1);
    split(right, nr, depth + 1);
  };
  return (items, m) => split(items.slice(0, m), m, 0);
}

function distancesOf(
  arena: { i32: Int32Array; f32: Float32Array }, space: GraphSpace, kernels: GraphKernels, scratch: Scratch, a: number, items: Int32Array, m: number,
): Float32Array {
  const out = new Float32Array(m);
  for (let s = 0; s < m; s += scratch.idsCap) {
    const c = Math.min(scratch.idsCap, m - s);
    arena.i32.set(items.subarray(s, s + c), scratch.ids >>> 2);
    kernels.distancesFrom(space, a, scratch.ids, c, scratch.out);
    out.set(arena.f32.subarray(scratch.out >>> 2, (scratch.out >>> 2) + c), s);
  }
  return out;
}

/**
 * Diversity pruning of the k-NN lists, then reverse edges: returns the final graph. The kept
 * list of each node is ordered nearest first.
 */
function prune(
  heaps: NeighbourHeaps, nodes: Int32Array, nItems: number, space: GraphSpace, kernels: GraphKernels,
  arena: { i32: Int32Array; f32: Float32Array }, scratch: Scratch, params: GraphBuildParams,
): { graph: Graph; distances: number } {
  const { degree, alpha } = params;
  const k = heaps.k;
  let distances = 0;
  // Forward: prune each k-NN list.
  const keptIds = new Int32Array(nItems * degree);
  const keptDist = new Float32Array(nItems * degree);
  const keptN = new Int32Array(nItems);
  const order = new Int32Array(k);
  const candIds = new Int32Array(Math.max(k, 1));
  const candDist = new Float32Array(Math.max(k, 1));
  const keepIds = new Int32Array(degree), keepDist = new Float32Array(degree), keepAt = new Int32Array(degree);

  /**
   * RNG / α pruning of (ids, dist)[0 … m) sorted nearest first: a candidate is kept unless a kept
   * one is closer to it (times α) than the node is. Writes up to `degree` into keepIds; returns how many.
   */
  const diversify = (ids: Int32Array, dist: Float32Array, m: number): number => {
    m = Math.min(m, scratch.idsCap);
    arena.i32.set(ids.subarray(0, m), scratch.ids >>> 2);
    kernels.joinDistances(space, scratch.ids, m, m, scratch.out);
    distances += (m * (m - 1)) / 2;
    const f32 = arena.f32, ow = scratch.out >>> 2;
    let kept = 0;
    for (let i = 0; i < m && kept < degree; i++) {
      const dc = dist[i];
      let good = true;
      for (let j = 0; j < kept; j++) {
        if (alpha * f32[ow + keepAt[j] * m + i] <= dc) { good = false; break; }
      }
      if (good) {
        keepAt[kept] = i;
        keepIds[kept] = ids[i];
        keepDist[kept] = dc;
        kept++;
      }
    }
    return kept;
  };

  for (const v of nodes) {
    const b = v * k;
    let m = 0;
    for (let j = 0; j < k; j++) if (heaps.ids[b + j] >= 0) order[m++] = j;
    const sorted = Array.from(order.subarray(0, m)).sort((x, y) => heaps.dist[b + x] - heaps.dist[b + y] || heaps.ids[b + x] - heaps.ids[b + y]);
    for (let j = 0; j < m; j++) {
      candIds[j] = heaps.ids[b + sorted[j]];
      candDist[j] = heaps.dist[b + sorted[j]];
    }
    const kept = diversify(candIds, candDist, m);
    keptIds.set(keepIds.subarray(0, kept), v * degree);
    keptDist.set(keepDist.subarray(0, kept), v * degree);
    keptN[v] = kept;
  }

  // Reverse edges: u → v for every kept v → u.
  const revCount = new Uint32Array(nItems + 1);
  for (const v of nodes) for (let j = 0; j < keptN[v]; j++) revCount[keptIds[v * degree + j] + 1]++;
  for (let i = 0; i < nItems; i++) revCount[i + 1] += revCount[i];
  const revIds = new Int32Array(revCount[nItems]);
  const revDist = new Float32Array(revCount[nItems]);
  const fillAt = revCount.slice(0, nItems);
  for (const v of nodes) {
    for (let j = 0; j < keptN[v]; j++) {
      const u = keptIds[v * degree + j];
      revIds[fillAt[u]] = v;
      revDist[fillAt[u]++] = keptDist[v * degree + j];
    }
  }

  // Merge, prune again where over the degree.
  const offsets = new Uint32Array(nItems + 1);
  const out = new Int32Array(nItems * degree);
  let mergedIds = new Int32Array(64), mergedDist = new Float32Array(64);
  const seenMark = new Int32Array(nItems).fill(-1);
  let edges = 0;
  let vi = 0;
  for (let v = 0; v < nItems; v++) {
    offsets[v] = edges;
    if (vi < nodes.length && nodes[vi] === v) {
      vi++;
      const total = keptN[v] + revCount[v + 1] - revCount[v];
      if (total > mergedIds.length) {
        mergedIds = new Int32Array(2 * total);
        mergedDist = new Float32Array(2 * total);
      }
      let m = 0;
      for (let j = 0; j < keptN[v]; j++) {
        const u = keptIds[v * degree + j];
        if (seenMark[u] === v) continue;
        seenMark[u] = v;
        mergedIds[m] = u;
        mergedDist[m++] = keptDist[v * degree + j];
      }
      for (let e = revCount[v]; e < revCount[v + 1]; e++) {
        const u = revIds[e];
        if (seenMark[u] === v) continue;
        seenMark[u] = v;
        mergedIds[m] = u;
        mergedDist[m++] = revDist[e];
      }
      const idx = Array.from({ length: m }, (_, j) => j).sort((x, y) => mergedDist[x] - mergedDist[y] || mergedIds[x] - mergedIds[y]);
      const sortedIds = new Int32Array(m), sortedDist = new Float32Array(m);
      for (let j = 0; j < m; j++) {
        sortedIds[j] = mergedIds[idx[j]];
        sortedDist[j] = mergedDist[idx[j]];
      }
      let kept: number;
      if (m <= degree) {
        keepIds.set(sortedIds);
        kept = m;
      } else {
        kept = diversify(sortedIds, sortedDist, m);
      }
      out.set(keepIds.subarray(0, kept), edges);
      edges += kept;
    }
  }
  offsets[nItems] = edges;
  return { graph: { nItems, offsets, neighbours: out.slice(0, edges) }, distances };
}
