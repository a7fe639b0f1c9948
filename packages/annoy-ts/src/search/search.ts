import type { Metric } from '../metrics/metric.ts';
import type { Batch, WalkWorkspace } from '../index-memory.ts';
import type { Records } from '../records.ts';
import { AllowedIds, callPredicate, type IdPredicate, type Restriction } from './filter.ts';
import { NodeQueue, TopK } from './heap.ts';
import type { DistanceBound } from './range.ts';

export interface SearchResult {
  ids: number[];
  distances: number[];
}

/** What a query asks beyond Annoy's n and searchK: only allowed items, only items in range (both checked beforehand). */
export interface Refinement {
  readonly restriction: Restriction | null;
  readonly bound: DistanceBound | null;
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

  /**
   * Searches with the vector already prepared in `this.query`. `searchK` = -1 means n × trees.
   * With a refinement (filter, maxDistance), see refinedSearch; n may then be Infinity (with a bound).
   */
  search(n: number, searchK: number, withDistances: boolean, refinement?: Refinement): SearchResult {
    if (refinement && (refinement.restriction || refinement.bound)) return this.refinedSearch(n, searchK, withDistances, refinement);
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

  // ---------------------------------------------------------------- filtered and radius search

  /** What the workspace's allowed-set bitset holds now (a batch with one filter copies it once). */
  private bitsetLoaded: AllowedIds | 'all' | null = null;
  /** Which ids are items (see itemBits). */
  private items: Uint32Array | null = null;
  /** Candidates in range of a search with n = Infinity. */
  private readonly inRange = new IdList();
  /** A predicate's verdicts on the candidates of the current walk, by candidate position (1 = allowed). */
  private verdicts = new Uint8Array(1024);
  /** Where a filtered walk stands (the JavaScript walk's own; the WebAssembly walk keeps its in the module). */
  private walkFound = 0;
  private jsCollected = 0;
  private jsVisited = 0;

  /**
   * A search restricted to allowed items and/or to items within a distance. Annoy's searchK then
   * counts allowed candidates (duplicates included, as Annoy counts them): the walk goes on until
   * it has met that many allowed items, skipping the others inside the walk. When an exact scan of
   * the allowed items is cheaper than the walk would be (a small allowed set), the scan is done
   * instead; when the walk spends as much as a scan would cost without reaching its count (the
   * allowed items lie far from the query), or finds fewer than min(n, allowed) distinct items, the
   * scan finishes the job. A predicate is asked about each candidate of the walk (see
   * predicateSearch). With n = Infinity (a bound is then given) and no searchK, the walk widens
   * round by round until a round adds nothing in range.
   */
  private refinedSearch(n: number, searchK: number, withDistances: boolean, refinement: Refinement): SearchResult {
    const { restriction, bound } = refinement;
    const nItems = this.nItems, nTrees = this.roots.length;
    const allowed = restriction?.kind === 'ids' ? restriction.allowed : null;
    const predicate = restriction?.kind === 'predicate' ? restriction.predicate : null;
    const count = allowed ? allowed.count : nItems;
    if (count === 0 || n === 0) return { ids: [], distances: [] };
    // Results a search with a count must not fall short of (a radius search has no count).
    const want = Number.isFinite(n) ? Math.min(n, count) : 0;
    const keep = bound ? withSlack(bound.internal) : Infinity;
    const k = Number.isFinite(n) ? Math.min(n, nItems) : 0;
    const offer = this.collector(k);

    const adaptive = searchK === -1 && !Number.isFinite(n);
    const limit = adaptive ? filterTuning.firstRound * nTrees : searchK === -1 ? n * nTrees : searchK;
    const exhaustive = !Number.isFinite(limit) || limit >= nItems * nTrees;
    if (predicate) {
      if (exhaustive) {
        this.scan(this.allowedBy(predicate), keep, offer, k);
      } else if (!this.predicateSearch(predicate, limit, adaptive, want, keep, offer)) {
        this.scan(this.materialize(predicate), keep, this.collector(k), k);
      }
      return this.finish(offer, withDistances, bound);
    }

    // A walk meets about limit × nItems / count leaf items to collect `limit` allowed ones; it stops
    // (and the exact scan takes over) once it has met as many as a scan of the allowed items costs.
    // Without a filter every new item the walk meets costs a distance too, so fewer visits pay for the scan.
    const filter = allowed ?? 'all';
    const budget = count * this.visitsPerDistance(allowed === null);
    if (exhaustive || want === count || (limit * nItems) / count >= budget) {
      this.scan(filter, keep, offer, k);
      return this.finish(offer, withDistances, bound);
    }
    const stamp = this.nextStamp();
    let exact = false;
    for (let round = 0, walkLimit = limit; ; round++, walkLimit *= 2) {
      const r = this.walkRound(filter, walkLimit, budget, stamp, round > 0, true);
      const added = this.offerWalked(r, keep, offer);
      exact = (r.visited >= budget && r.collected < walkLimit) || (!adaptive && r.found < want && r.queued > 0);
      if (exact || !adaptive || r.queued === 0 || (round > 0 && added === 0)) break;
    }
    if (exact) this.scan(filter, keep, this.collector(k), k);
    return this.finish(offer, withDistances, bound);
  }

  /**
   * The walk for a predicate filter, whose selectivity is unknown until it is asked: the walk
   * collects every candidate (without distances), the predicate is asked about each new one (in
   * JavaScript, once per item and query), and the distances of the allowed ones are computed in
   * batches. searchK counts allowed candidates as with ids: the walk goes on until the leaf items
   * it has met, times the share of candidates allowed so far, reach it. A first round with a small
   * budget estimates that share; when the walk would have to meet more items than the index
   * holds, false is returned: asking the predicate about every item once and scanning the allowed
   * ones (materialize + scan) is then the cheaper way — also when the walk ends without min(n,
   * allowed) items.
   */
  private predicateSearch(predicate: IdPredicate, limit: number, adaptive: boolean, want: number, keep: number, offer: Offer): boolean {
    const nItems = this.nItems;
    const stamp = this.nextStamp();
    // goal: allowed leaf items to meet (doubling round by round for an adaptive radius search);
    // target: leaf items to meet for it, from the share of candidates allowed so far.
    let goal = limit, target = limit, budget = Math.min(nItems, PREDICATE_PROBE * limit);
    let allowedFound = 0, round = 0, addedInRound = 0, resume = false;
    for (;;) {
      const r = this.walkRound('all', target, budget, stamp, resume, false);
      resume = true;
      const { ids, at } = this.candidateIds();
      if (this.verdicts.length < r.found) {
        const grown = new Uint8Array(Math.max(r.found, 2 * this.verdicts.length));
        grown.set(this.verdicts);
        this.verdicts = grown;
      }
      const verdicts = this.verdicts, iw = this.batch.idsPtr >>> 2;
      for (let start = r.from; start < r.found;) {
        // Ask about the next candidates until a batch of allowed ones is ready, then measure them.
        let count = 0;
        for (; start < r.found && count < this.batch.capacity; start++) {
          const id = ids[at + start];
          const yes = callPredicate(predicate, id);
          verdicts[start] = yes ? 1 : 0;
          if (yes) this.store.arena.i32[iw + count++] = id;
        }
        allowedFound += count;
        addedInRound += this.offerBatch(count, keep, offer);
      }
      // An empty queue: every tree was walked to its end, every item asked about.
      if (r.queued === 0) return true;
      // Allowed leaf items met so far, estimated from the share of distinct candidates allowed.
      const met = r.found > 0 ? (r.collected * allowedFound) / r.found : 0;
      if (met < goal) {
        const needed = met > 0 ? (r.visited * goal) / met : Infinity;
        if (needed >= nItems) return false;
        target = Math.ceil(needed);
        budget = nItems;
        continue;
      }
      if (!adaptive) return allowedFound >= want;
      if (round > 0 && addedInRound === 0) return true;
      round++;
      addedInRound = 0;
      goal *= 2;
      target = Math.ceil((r.visited * goal) / met);
      budget = nItems;
    }
  }

  /** Where the walk's candidates are: ids[at + j] is candidate j. */
  private candidateIds(): { ids: Int32Array; at: number } {
    return this.workspace ? { ids: this.store.arena.i32, at: this.workspace.candidates >>> 2 } : { ids: this.candidates, at: 0 };
  }

  /** An empty collector for k nearest (k > 0) or for every item in range (k = 0). */
  private collector(k: number): Offer {
    if (k > 0) {
      this.top.reset(k);
      return this.top;
    }
    this.inRange.reset();
    return this.inRange;
  }

  /**
   * Leaf items a walk may meet per distance an exact scan would compute (see filterTuning): a
   * distance costs about as much as the vector is long. `measured`: the walk computes the distance
   * of every new item it meets (no filter), not only of allowed ones.
   */
  private visitsPerDistance(measured: boolean): number {
    if (filterTuning.visitsPerDistance !== null) return filterTuning.visitsPerDistance;
    const length = this.metric.kernelLength;
    return measured ? Math.max(0.1, length / filterTuning.componentsPerMeasuredVisit) : Math.max(1, length / filterTuning.componentsPerVisit);
  }

  /**
   * One filtered walk (or the next round of one) until `limit` allowed leaf items or `budget`
   * leaf items were met: candidates from..found are new, with their distances when asked for.
   */
  private walkRound(filter: AllowedIds | 'all', limit: number, budget: number, stamp: number, resume: boolean, distances: boolean): WalkRound {
    const from = resume ? this.walkFound : 0;
    if (this.workspace) {
      const { store, metric } = this;
      const ws = this.workspace;
      const arena = store.arena, kernels = arena.kernels;
      if (!resume) {
        // A filtered walk goes deep: give its queue room for every record it could ever push.
        const most = maxQueue(this.roots, store);
        if (ws.queueCapacity < most) {
          ws.queueCapacity = most;
          ws.queue = arena.alloc(8 * most);
        }
        this.loadBitset(filter);
      }
      kernels.setQueueCapacity(ws.queueCapacity);
      const found = kernels.filteredWalk!(metric.distanceKind, {
        query: this.query.ptr(0), n: metric.kernelLength, base: store.byteOffset, stride: store.recordBytes, nItems: this.nItems,
        leafCapacity: metric.leafCapacity, roots: ws.roots, nRoots: this.roots.length, limit, budget, seen: ws.seen, stamp,
        candidates: ws.candidates, distances: distances ? ws.distances : 0, queue: ws.queue, allowed: ws.allowed, resume,
      });
      if (found < 0) throw new Error('internal: the filtered walk ran out of queue');
      arena.refresh();
      this.walkFound = found;
      const p = kernels.filteredProgress();
      return { from, found, collected: p.collected, visited: p.visited, queued: p.queued, distances };
    }
    this.walkInJsFiltered(filter, limit, budget, stamp, resume);
    return { from, found: this.walkFound, collected: this.jsCollected, visited: this.jsVisited, queued: this.queue.size, distances: false };
  }

  /** Offers a walk round's new candidates within `keep` (computing their distances if the walk did not); returns how many. */
  private offerWalked(r: WalkRound, keep: number, offer: Offer): number {
    const { ids, at } = this.candidateIds();
    let added = 0;
    if (r.distances) {
      const arena = this.store.arena, d = arena.f32, dw = this.workspace!.distances >>> 2;
      for (let j = r.from; j < r.found; j++) {
        if (d[dw + j] <= keep) {
          offer.offer(d[dw + j], ids[at + j]);
          added++;
        }
      }
      return added;
    }
    const capacity = this.batch.capacity;
    for (let start = r.from; start < r.found; start += capacity) {
      const count = Math.min(capacity, r.found - start);
      this.store.arena.i32.set(ids.subarray(at + start, at + start + count), this.batch.idsPtr >>> 2);
      added += this.offerBatch(count, keep, offer);
    }
    return added;
  }

  /** Computes the distances of the `count` ids in the batch window and offers those within `keep`; returns how many. */
  private offerBatch(count: number, keep: number, offer: Offer): number {
    if (count === 0) return 0;
    const { batch, store, metric, query } = this;
    metric.distances(query, store, batch, count);
    const arena = store.arena, out = arena.f32, got = arena.i32, ow = batch.outPtr >>> 2, iw = batch.idsPtr >>> 2;
    let added = 0;
    for (let j = 0; j < count; j++) {
      if (out[ow + j] <= keep) {
        offer.offer(out[ow + j], got[iw + j]);
        added++;
      }
    }
    return added;
  }

  /** The filtered walk in TypeScript: walkFiltered() of assembly/kernels.ts, step for step. */
  private walkInJsFiltered(filter: AllowedIds | 'all', limit: number, budget: number, stamp: number, resume: boolean): void {
    const { store, metric, queue, seen, nItems } = this;
    const i32 = store.arena.i32, rw = store.recordWords, base0 = store.base, cw = metric.childrenWord, K = metric.leafCapacity;
    const bits = filter === 'all' ? null : filter.bits;
    if (!resume) {
      queue.clear();
      for (const root of this.roots) queue.push(metric.pqInitial, root);
      this.jsCollected = 0;
      this.jsVisited = 0;
      this.walkFound = 0;
    }
    let collected = this.jsCollected, visited = this.jsVisited, found = this.walkFound;
    let candidates = this.candidates;
    while (collected < limit && visited < budget && queue.size > 0) {
      const d = queue.topPriority();
      const node = queue.pop();
      const base = base0 + node * rw;
      const nd = i32[base];
      if (nd <= K) {
        const single = nd === 1 && node < nItems;
        const count = single ? 1 : nd;
        visited += count;
        for (let j = 0; j < count; j++) {
          const item = single ? node : i32[base + cw + j];
          if (bits && (bits[item >>> 5] & (1 << (item & 31))) === 0) continue;
          collected++;
          if (seen[item] === stamp) continue;
          seen[item] = stamp;
          if (!single && i32[base0 + item * rw] !== 1) continue;
          if (found === candidates.length) {
            const grown = new Int32Array(Math.min(2 * candidates.length, nItems));
            grown.set(candidates);
            candidates = this.candidates = grown;
          }
          candidates[found++] = item;
        }
      } else {
        const m = metric.margin(store, node, this.query, 0);
        queue.push(metric.pqDistance(d, m, 1), i32[base + cw + 1]);
        queue.push(metric.pqDistance(d, m, 0), i32[base + cw]);
      }
    }
    this.jsCollected = collected;
    this.jsVisited = visited;
    this.walkFound = found;
  }

  /** Puts the walk's allowed set into the workspace's bitset (WebAssembly walk), unless it is there already. */
  private loadBitset(filter: AllowedIds | 'all'): void {
    if (filter === this.bitsetLoaded) return;
    const ws = this.workspace!;
    const u32 = this.store.arena.u32, at = ws.allowed >>> 2, words = Math.ceil(this.nItems / 32);
    if (filter === 'all') {
      u32.fill(0xffffffff, at, at + words);
    } else {
      const bits = filter.bits.length <= words ? filter.bits : filter.bits.subarray(0, words);
      u32.set(bits, at);
      u32.fill(0, at + bits.length, at + words);
    }
    this.bitsetLoaded = filter;
  }

  /**
   * The exact scan: offers every allowed item (holes skipped) within `keep` — with k > 0 only the k
   * nearest, k = 0 all of them. In WebAssembly one call over the bitset; here in batches.
   */
  private scan(filter: AllowedIds | 'all', keep: number, offer: Offer, k: number): void {
    const { store, metric, query } = this;
    const arena = store.arena;
    if (this.workspace) {
      const ws = this.workspace;
      this.loadBitset(filter);
      // The k-nearest heap borrows the walk's queue (8 bytes an entry, like the heap's).
      if (ws.queueCapacity < k) {
        ws.queueCapacity = k;
        ws.queue = arena.alloc(8 * k);
      }
      const kept = arena.kernels.scan!(metric.distanceKind, {
        query: query.ptr(0), n: metric.kernelLength, base: store.byteOffset, stride: store.recordBytes, nItems: this.nItems,
        allowed: ws.allowed, keep, k, heap: ws.queue, candidates: ws.candidates, distances: ws.distances,
      });
      arena.refresh();
      const i32 = arena.i32, f32 = arena.f32;
      if (k > 0) {
        for (let j = 0, e = ws.queue >>> 2; j < kept; j++, e += 2) offer.offer(f32[e], i32[e + 1]);
      } else {
        for (let j = 0, c = ws.candidates >>> 2, d = ws.distances >>> 2; j < kept; j++) offer.offer(f32[d + j], i32[c + j]);
      }
      return;
    }
    const { batch, nItems } = this;
    const bits = filter === 'all' ? null : filter.bits;
    const rw = store.recordWords, base0 = store.base, iw = batch.idsPtr >>> 2;
    for (let id = 0; id < nItems;) {
      let count = 0;
      const i32 = arena.i32;
      for (; id < nItems && count < batch.capacity; id++) {
        if (bits && (bits[id >>> 5] & (1 << (id & 31))) === 0) {
          if (bits[id >>> 5] === 0) id |= 31; // a word of disallowed ids: skip it whole
          continue;
        }
        if (i32[base0 + id * rw] === 1) i32[iw + count++] = id;
      }
      this.offerBatch(count, keep, offer);
    }
  }

  /** The items `predicate` allows, asking it once about each item (holes never): for threads that cannot call it. */
  allowedBy(predicate: IdPredicate): AllowedIds {
    this.walkFound = 0;
    return this.materialize(predicate);
  }

  /**
   * The items `predicate` allows, asking it once about each item — except the candidates of the
   * walk just done (walkFound of them; 0 when none), whose verdicts are kept (this.verdicts).
   */
  private materialize(predicate: IdPredicate): AllowedIds {
    const ask = this.itemBits().slice();
    const { ids, at } = this.candidateIds();
    const known = this.walkFound;
    for (let j = 0; j < known; j++) {
      const id = ids[at + j];
      ask[id >>> 5] &= ~(1 << (id & 31));
    }
    const verdicts = this.verdicts;
    const allowed = AllowedIds.fromPredicate(predicate, this.nItems, ask);
    const bits = allowed.bits.slice();
    for (let j = 0; j < known; j++) {
      if (verdicts[j] === 1) {
        const id = ids[at + j];
        bits[id >>> 5] |= 1 << (id & 31);
      }
    }
    return AllowedIds.fromBits(bits, this.nItems);
  }

  /** Bit i set when id i is an item, not a hole (computed once: predicates are never asked about holes). */
  private itemBits(): Uint32Array {
    if (this.items) return this.items;
    const i32 = this.store.arena.i32, rw = this.store.recordWords, base0 = this.store.base;
    const bits = new Uint32Array(Math.ceil(this.nItems / 32));
    for (let id = 0; id < this.nItems; id++) if (i32[base0 + id * rw] === 1) bits[id >>> 5] |= 1 << (id & 31);
    return (this.items = bits);
  }

  /** The kept candidates, ranked by their exact distances (those beyond the bound dropped). */
  private finish(offer: Offer, withDistances: boolean, bound: DistanceBound | null): SearchResult {
    const { metric, store, query } = this;
    let ids = offer === this.top ? this.top.drain() : this.inRange.drain();
    let exact = ids.map((id) => metric.exactDistance(query, 0, store, id));
    if (bound) {
      const inside = ids.map((_, r) => r).filter((r) => exact[r] <= bound.internal);
      ids = inside.map((r) => ids[r]);
      exact = inside.map((r) => exact[r]);
    }
    const order = ids.map((_, r) => r).sort((a, b) => exact[a] - exact[b] || ids[a] - ids[b]);
    const distances = withDistances ? order.map((r) => metric.normalizedDistance(exact[r])) : [];
    return { ids: order.map((r) => ids[r]), distances };
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
    allowed: arena.alloc(4 * Math.ceil(nItems / 32)),
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

/** What a filtered walk admits: the items of a bitset, those a predicate allows, or all (a radius search alone). */
type WalkFilter = AllowedIds | IdPredicate | 'all';

interface WalkRound {
  /** Candidates from..found are new: the walk's distinct allowed candidates so far are 0..found. */
  from: number;
  found: number;
  /** Allowed leaf items met, and all leaf items met (duplicates counted). */
  collected: number;
  visited: number;
  /** Queue entries left: 0 when every tree was walked to its end. */
  queued: number;
  /** Whether the walk computed the new candidates' distances (WebAssembly, when asked to). */
  distances: boolean;
}

interface Offer {
  offer(d: number, id: number): void;
}

/** Candidates collected without a count (n = Infinity): ids in a growable array. */
class IdList implements Offer {
  private ids = new Int32Array(256);
  private size = 0;

  reset(): void {
    this.size = 0;
  }

  offer(_d: number, id: number): void {
    if (this.size === this.ids.length) {
      const grown = new Int32Array(2 * this.ids.length);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.size++] = id;
  }

  drain(): number[] {
    const out = Array.from(this.ids.subarray(0, this.size));
    this.size = 0;
    return out;
  }
}

/**
 * The filtered search's two constants, in one place so bench/filter.ts can vary them to measure
 * where they belong (nothing else changes them).
 */
export const filterTuning = {
  /**
   * Leaf items a filtered walk may meet per distance an exact scan of the allowed items would
   * compute: the scan is chosen up front when the walk is expected to meet more, and takes over
   * when a walk has met that many without collecting its candidates. null: from the vector's
   * length (see componentsPerVisit). Measured: see the README.
   */
  visitsPerDistance: null as number | null,
  /**
   * Vector components (float32s; hamming: 64-bit words) whose distance costs as much as one leaf
   * item a filtered walk meets (a disallowed item costs a bit test; measured on GloVe-100 and
   * Fashion-MNIST-784: the walk and the scan break even at about 10 % and 2 % allowed).
   */
  componentsPerVisit: 40,
  /** The same for a walk that measures every item it meets (a radius search without a filter). */
  componentsPerMeasuredVisit: 500,
  /** A radius search without n and searchK: allowed candidates per tree in its first round (each next round doubles them). */
  firstRound: 256,
}

/** A predicate's first walk round meets at most this many leaf items per candidate asked for (see refinedSearch). */
const PREDICATE_PROBE = 4;

/**
 * The fast distances of the walk and the scan round differently from the exact ones that decide
 * (by a few float32 ulps): keep candidates a little beyond the bound, so none inside is lost.
 */
function withSlack(internal: number): number {
  return internal + 1e-3 * (Math.abs(internal) + 1);
}

