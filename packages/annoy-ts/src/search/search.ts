import type { Metric } from '../metrics/metric.ts';
import type { Batch, WalkWorkspace } from '../index-memory.ts';
import type { Records } from '../records.ts';
import { NodeQueue, TopK } from './heap.ts';

export interface SearchResult {
  ids: number[];
  distances: number[];
}

/**
 * Annoy's query: a best-first walk over all trees at once, ordered by how far the query lies from
 * each split plane, collecting leaf items until `searchK` candidates (duplicates counted) are in
 * hand; then exact distances for the distinct candidates and the n best. Buffers are reused
 * between queries, so a query allocates only its result arrays.
 */
export class Searcher {
  /** Scratch record the query vector is prepared in (angular norm, dot's zero extra component…). */
  readonly query: Records;
  private readonly queue = new NodeQueue(256);
  private readonly top = new TopK(64);
  private readonly seen: Uint32Array;
  /** Distinct candidates of the current query, in the order found. */
  private candidates = new Int32Array(1024);
  private stamp = 0;
  /** Where the WebAssembly walk keeps its state (null with the JavaScript kernels). */
  private readonly workspace: WalkWorkspace | null = null;

  constructor(
    private readonly store: Records,
    private readonly metric: Metric,
    private readonly roots: readonly number[],
    private readonly nItems: number,
    query: Records,
    private readonly batch: Batch,
    workspace?: WalkWorkspace,
  ) {
    this.query = query;
    const arena = store.arena;
    if (arena.kernels.walk) {
      this.seen = new Uint32Array(0);
      // Start with a modest queue; a walk that needs more gets the most it could ever need (below).
      this.workspace = workspace ?? reuseWalkWorkspace(null, store, roots, nItems);
      // Stamps start again at 1: clear marks an earlier searcher on this workspace may have left.
      if (workspace) arena.u32.fill(0, workspace.seen >>> 2, (workspace.seen >>> 2) + nItems);
    } else {
      this.seen = new Uint32Array(nItems);
    }
  }

  private nextStamp(): number {
    if (++this.stamp === 0xffffffff) {
      const ws = this.workspace;
      if (ws) this.store.arena.u32.fill(0, ws.seen >>> 2, (ws.seen >>> 2) + this.nItems);
      else this.seen.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /** Searches with the vector already prepared in `this.query`. `searchK` = -1 means n × trees. */
  search(n: number, searchK: number, withDistances: boolean): SearchResult {
    const { store, metric, top, nItems } = this;
    const limit = searchK === -1 ? n * this.roots.length : searchK;
    const query = this.query;

    const stamp = this.nextStamp();
    top.reset(Math.min(n, nItems));
    if (this.workspace) this.walkInWasm(limit, stamp);
    else this.walkInJs(limit, stamp);

    // Rank the n best again by the distance rounded exactly as Annoy (and getDistance) round it:
    // the fast kernels that chose them differ by a few ulps, which must not leave reported
    // distances out of order.
    const ids = top.drain();
    const exact = ids.map((id) => metric.exactDistance(query, 0, store, id));
    const order = ids.map((_, r) => r).sort((a, b) => exact[a] - exact[b] || ids[a] - ids[b]);
    const distances = withDistances ? order.map((r) => metric.normalizedDistance(exact[r])) : [];
    return { ids: order.map((r) => ids[r]), distances };
  }

  /** The walk in WebAssembly: one call, then the candidates' distances are offered to the top n. */
  private walkInWasm(limit: number, stamp: number): void {
    const { store, metric, top } = this;
    const ws = this.workspace!;
    const arena = store.arena, kernels = arena.kernels;
    const args = {
      query: this.query.ptr(0), n: metric.kernelLength, base: store.byteOffset, stride: store.recordBytes, nItems: this.nItems,
      leafCapacity: metric.leafCapacity, roots: ws.roots, nRoots: this.roots.length, limit, seen: ws.seen, stamp,
      candidates: ws.candidates, distances: ws.distances, queue: ws.queue,
    };
    kernels.setQueueCapacity(ws.queueCapacity);
    let found = kernels.walk!(metric.distanceKind, args);
    if (found < 0) {
      // The queue was too small: give it room for every record the walk could ever push, and redo the walk.
      ws.queueCapacity = maxQueue(this.roots, store);
      ws.queue = args.queue = arena.alloc(8 * ws.queueCapacity);
      args.stamp = this.nextStamp();
      kernels.setQueueCapacity(ws.queueCapacity);
      found = kernels.walk!(metric.distanceKind, args);
    }
    arena.refresh();
    const ids = arena.i32, d = arena.f32, cw = ws.candidates >>> 2, dw = ws.distances >>> 2;
    for (let j = 0; j < found; j++) top.offer(d[dw + j], ids[cw + j]);
  }

  /** The same walk in TypeScript (the fallback where WebAssembly is unavailable). */
  private walkInJs(limit: number, stamp: number): void {
    const { store, metric, queue, top, seen, nItems } = this;
    const i32 = store.arena.i32, rw = store.recordWords, base0 = store.base, cw = metric.childrenWord, K = metric.leafCapacity;
    const query = this.query;
    queue.clear();
    for (const root of this.roots) queue.push(metric.pqInitial, root);

    let collected = 0;
    let nCandidates = 0;
    let candidates = this.candidates;
    const consider = (item: number): void => {
      if (seen[item] === stamp) return;
      seen[item] = stamp;
      // Holes (n_descendants 0) can reach here through a root leaf's zero padding: skip them.
      if (i32[base0 + item * rw] !== 1) return;
      if (nCandidates === candidates.length) {
        const grown = new Int32Array(Math.min(2 * candidates.length, nItems));
        grown.set(candidates);
        candidates = this.candidates = grown;
      }
      candidates[nCandidates++] = item;
    };

    while (collected < limit && queue.size > 0) {
      const d = queue.topPriority();
      const node = queue.pop();
      const base = base0 + node * rw;
      const nd = i32[base];
      if (nd === 1 && node < nItems) {
        consider(node);
        collected++;
      } else if (nd <= K) {
        for (let j = 0; j < nd; j++) consider(i32[base + cw + j]);
        collected += nd;
      } else {
        const m = metric.margin(store, node, query, 0);
        queue.push(metric.pqDistance(d, m, 1), i32[base + cw + 1]);
        queue.push(metric.pqDistance(d, m, 0), i32[base + cw]);
      }
    }

    // Distances in batches: one call into the kernels per batch rather than per candidate.
    const { batch } = this;
    const arena = store.arena;
    for (let start = 0; start < nCandidates; start += batch.capacity) {
      const count = Math.min(batch.capacity, nCandidates - start);
      arena.i32.set(candidates.subarray(start, start + count), batch.idsPtr >>> 2);
      metric.distances(query, store, batch, count);
      const out = arena.f32, ow = batch.outPtr >>> 2;
      for (let j = 0; j < count; j++) top.offer(out[ow + j], candidates[start + j]);
    }

  }
}

/** The most entries a walk's queue can ever hold: the roots plus two children per split visited. */
export function maxQueue(roots: readonly number[], store: Records): number {
  return roots.length + 2 * store.count;
}

/** Allocates a walk workspace at the top of the store's arena (call from the thread that owns it). */
export function allocateWalkWorkspace(store: Records, roots: readonly number[], nItems: number, queueCapacity: number): WalkWorkspace {
  const arena = store.arena;
  // Room for Annoy's 2q − 1 roots of a saved tiny index, so a save() can reuse the workspace.
  const rootCapacity = 2 * roots.length + 1;
  const ws = {
    roots: arena.alloc(4 * rootCapacity), rootCapacity, itemCapacity: nItems, seen: arena.alloc(4 * nItems),
    candidates: arena.alloc(4 * nItems), distances: arena.alloc(4 * nItems), queue: arena.alloc(8 * queueCapacity), queueCapacity,
  };
  arena.i32.set(roots, ws.roots >>> 2);
  arena.u32.fill(0, ws.seen >>> 2, (ws.seen >>> 2) + nItems);
  return ws;
}

/** The workspace `cached` if it has room for these roots and items (roots rewritten), else a new one. */
export function reuseWalkWorkspace(cached: WalkWorkspace | null, store: Records, roots: readonly number[], nItems: number): WalkWorkspace {
  if (!cached || cached.rootCapacity < roots.length || cached.itemCapacity < nItems) {
    return allocateWalkWorkspace(store, roots, nItems, Math.min(1 << 16, maxQueue(roots, store)));
  }
  store.arena.i32.set(roots, cached.roots >>> 2);
  return cached;
}
