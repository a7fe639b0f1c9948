import type { Metric } from '../metrics/metric.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';

export interface BuildProgress {
  /** Trees finished so far. */
  readonly trees: number;
  /** Trees asked for; -1 when Annoy's automatic count (build(-1)) decides. */
  readonly nTrees: number;
  /** Items placed into leaves of the tree under construction, out of `items`. */
  readonly placed: number;
  readonly items: number;
  /**
   * While the neighbour graph is built (after the trees, which are then all done): its stage and
   * how far along it is, `done` of `total` steps (NN-descent's total assumes every round runs; it
   * may stop earlier).
   */
  readonly graph?: { readonly stage: 'leaves' | 'descent' | 'pruning'; readonly done: number; readonly total: number };
}

export type ProgressListener = (progress: BuildProgress) => void;

/** How many placed items between two progress reports inside one tree. */
const PROGRESS_STEP = 1 << 16;

/**
 * @internal
 * Builds `nTrees` random-projection trees over the item records 0 … nItems−1 of `store`,
 * appending their records after the items and then one copy of every root, exactly in the order
 * Annoy writes them (post-order per tree, smaller side first). Returns the root record ids.
 */
export function buildForest(
  store: Records, scratch: BuildScratch, metric: Metric, nItems: number, nTrees: number, rng: Kiss64,
  onProgress?: ProgressListener,
): number[] {
  metric.prepareBuild(store, nItems);
  const builder = new TreeBuilder({ store, sink: new StoreSink(store, metric), scratch, metric, nItems, nTrees, onProgress });
  const roots: number[] = [];
  for (;;) {
    if (nTrees === -1 ? store.count >= 2 * nItems : roots.length >= nTrees) break;
    roots.push(builder.buildTree(roots.length, rng));
  }
  appendRootCopies(store, roots);
  return roots;
}

/** @internal Annoy's last block: a copy of every root, in tree order (this is how its loader finds them). */
export function appendRootCopies(store: Records, roots: readonly number[]): void {
  store.reserve(store.count + roots.length);
  for (const root of roots) store.copyRecord(root, store.append());
}

/** @internal Records in the index's arena the builder computes in: two-means centroids (2) and one split plane. */
export interface BuildScratch {
  readonly centroids: Records;
  readonly plane: Records;
  readonly batch: Batch;
}

/** @internal Where finished tree records go: the index's store, or (in a worker) a local buffer merged later. */
export interface NodeSink {
  /** Appends a leaf: n_descendants, then the item ids from children[0] on. Returns the record's id. */
  appendLeaf(nDescendants: number, items: Int32Array): number;
  /** Appends a whole record (a split, its words assembled by the builder). Returns the record's id. */
  appendRecord(words: Int32Array): number;
}

class StoreSink implements NodeSink {
  constructor(private readonly store: Records, private readonly metric: Metric) {}

  appendLeaf(nDescendants: number, items: Int32Array): number {
    const { store } = this;
    const id = store.append();
    const base = store.word(id);
    store.arena.i32[base] = nDescendants;
    store.arena.i32.set(items, base + this.metric.childrenWord);
    return id;
  }

  appendRecord(words: Int32Array): number {
    const { store } = this;
    const id = store.append();
    store.arena.i32.set(words, store.word(id));
    return id;
  }
}

/**
 * @internal
 * Tree records kept in a worker until their place in the index is known. Ids count from `firstId`
 * (the index's item count) so children point at each other; moving a tree adds one common shift.
 */
export class LocalSink implements NodeSink {
  words: Int32Array;
  /** Records held. */
  count = 0;

  /** `expected`: records to make room for up front (growing later copies what is held). */
  constructor(private readonly recordWords: number, private readonly childrenWord: number, readonly firstId: number, expected = 0) {
    this.words = new Int32Array(expected * recordWords);
  }

  appendLeaf(nDescendants: number, items: Int32Array): number {
    const base = this.next();
    this.words[base] = nDescendants;
    this.words.set(items, base + this.childrenWord);
    return this.firstId + this.count - 1;
  }

  appendRecord(words: Int32Array): number {
    const base = this.next(); // may replace this.words
    this.words.set(words, base);
    return this.firstId + this.count - 1;
  }

  /** Forgets every record, keeping the (zero-filled) buffer for the next ones. */
  clear(): void {
    this.words.fill(0, 0, this.count * this.recordWords);
    this.count = 0;
  }

  private next(): number {
    const base = this.count++ * this.recordWords;
    if (base + this.recordWords > this.words.length) {
      const grown = new Int32Array(Math.max(2 * this.words.length, 1024 * this.recordWords));
      grown.set(this.words);
      this.words = grown;
    }
    return base;
  }
}

/**
 * @internal
 * Writes a tree's records (`words`, whole records) to the store from record `offset` on, adding
 * `shift` to the tree-record ids its splits hold (leaves hold item ids, which stay).
 */
export function placeTree(store: Records, metric: Metric, nItems: number, words: Int32Array, offset: number, shift: number): void {
  const i32 = store.arena.i32, rw = store.recordWords;
  i32.set(words, store.word(offset));
  if (shift === 0) return;
  const K = metric.leafCapacity, cw = metric.childrenWord;
  for (let k = 0, n = words.length / rw; k < n; k++) {
    const base = store.word(offset + k);
    if (i32[base] <= K) continue;
    for (let c = 0; c < 2; c++) if (i32[base + cw + c] >= nItems) i32[base + cw + c] += shift;
  }
}

/** @internal */
export interface TreeBuildPlan {
  readonly store: Records;
  readonly sink: NodeSink;
  readonly scratch: BuildScratch;
  readonly metric: Metric;
  readonly nItems: number;
  /** Trees asked for (-1: Annoy's automatic count), for progress reports. */
  readonly nTrees: number;
  /** Called after each tree and every 65,536 items placed. */
  readonly onProgress?: ProgressListener;
}

/**
 * @internal
 * Builds trees one at a time over the items of `plan.store` into `plan.sink` (no preprocessing, no
 * root copies: buildForest does those, or the parallel build's calling thread).
 */
export class TreeBuilder {
  private readonly ids: Int32Array;
  private readonly partitionBuffer: Int32Array;
  private readonly sides: Uint8Array;
  /** Finished planes, one record's words per recursion depth: a split is written only after its children. */
  private planes: Int32Array;
  private placed = 0;
  private nextReport = PROGRESS_STEP;
  private treeNumber = 0;
  private treeItems = 0;
  private readonly store: Records;
  private readonly sink: NodeSink;
  private readonly scratch: BuildScratch;
  private readonly metric: Metric;
  private readonly nItems: number;
  private readonly nTrees: number;
  private readonly onProgress?: ProgressListener;
  private rng!: Kiss64;

  constructor(plan: TreeBuildPlan) {
    ({ store: this.store, sink: this.sink, scratch: this.scratch, metric: this.metric, nItems: this.nItems, nTrees: this.nTrees, onProgress: this.onProgress } = plan);
    const { nItems, metric } = plan;
    this.ids = new Int32Array(nItems);
    this.partitionBuffer = new Int32Array(nItems);
    this.sides = new Uint8Array(nItems);
    this.planes = new Int32Array(64 * (metric.recordBytes >>> 2));
  }

  /** Builds tree number `treeNumber` with the random numbers of `rng`; returns its root's id. */
  buildTree(treeNumber: number, rng: Kiss64): number {
    this.rng = rng;
    const { store, ids } = this;
    let n = 0;
    const i32 = store.arena.i32;
    for (let i = 0; i < this.nItems; i++) if (i32[store.word(i)] >= 1) ids[n++] = i;
    this.treeNumber = treeNumber;
    this.treeItems = n;
    this.placed = 0;
    this.nextReport = PROGRESS_STEP;
    const root = this.makeTree(0, n, true, 0);
    this.onProgress?.({ trees: treeNumber + 1, nTrees: this.nTrees, placed: n, items: n });
    return root;
  }

  private makeTree(lo: number, hi: number, isRoot: boolean, depth: number): number {
    const { store, metric, ids, nItems } = this;
    const count = hi - lo;
    const K = metric.leafCapacity;
    if (count === 1 && !isRoot) {
      this.advance(1);
      return ids[lo];
    }
    if (count <= K && (!isRoot || nItems <= K || count === 1)) {
      const leaf = this.sink.appendLeaf(isRoot ? nItems : count, ids.subarray(lo, hi));
      this.advance(count);
      return leaf;
    }

    const plane = this.scratch.plane;
    plane.zeroRecord(0);
    let left = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      metric.createSplit(store, ids, lo, hi, this.rng, plane, 0, this.scratch.centroids, this.scratch.batch);
      left = this.assignSides(lo, hi);
      if (imbalance(left, count - left) < 0.95) break;
    }
    while (imbalance(left, count - left) > 0.99) {
      metric.clearPlane(plane, 0);
      left = 0;
      for (let i = lo; i < hi; i++) {
        const s = this.rng.flip();
        this.sides[i] = s;
        if (s === 0) left++;
      }
    }
    this.partition(lo, hi, left);
    // Park the plane while the children are built (they reuse the scratch record).
    const rw = plane.recordWords;
    if ((depth + 1) * rw > this.planes.length) {
      const grown = new Int32Array(2 * this.planes.length);
      grown.set(this.planes);
      this.planes = grown;
    }
    const pw = plane.word(0);
    this.planes.set(store.arena.i32.subarray(pw, pw + rw), depth * rw);

    // Build the smaller side first (side 0 on a tie), as Annoy does.
    const flip = left > count - left ? 1 : 0;
    const children = [0, 0];
    for (let s = 0; s < 2; s++) {
      const side = s ^ flip;
      children[side] = side === 0
        ? this.makeTree(lo, lo + left, false, depth + 1)
        : this.makeTree(lo + left, hi, false, depth + 1);
    }
    const parked = this.planes.subarray(depth * rw, (depth + 1) * rw);
    parked[0] = isRoot ? nItems : count;
    parked[metric.childrenWord] = children[0];
    parked[metric.childrenWord + 1] = children[1];
    return this.sink.appendRecord(parked);
  }

  /** Records each item's side of the plane in `sides`; returns how many went to side 0. */
  private assignSides(lo: number, hi: number): number {
    const { scratch } = this;
    return this.metric.assignSides(scratch.plane, this.store, this.ids, lo, hi, this.sides, this.rng, scratch.batch);
  }

  /** Stable partition of ids[lo..hi) by side: side 0 first, each side keeping its order. */
  private partition(lo: number, hi: number, left: number): void {
    const { ids, sides, partitionBuffer } = this;
    let a = lo, b = lo + left;
    for (let i = lo; i < hi; i++) partitionBuffer[sides[i] === 0 ? a++ : b++] = ids[i];
    ids.set(partitionBuffer.subarray(lo, hi), lo);
  }

  private advance(n: number): void {
    this.placed += n;
    if (this.onProgress && this.placed >= this.nextReport) {
      this.nextReport += PROGRESS_STEP;
      this.onProgress({ trees: this.treeNumber, nTrees: this.nTrees, placed: this.placed, items: this.treeItems });
    }
  }
}

/** Annoy's _split_imbalance: the larger side's share, computed in double and rounded to float32. */
function imbalance(left: number, right: number): number {
  const x = Math.fround(left / (left + right + 1e-9));
  const y = Math.fround(1 - x);
  return x > y ? x : y;
}
