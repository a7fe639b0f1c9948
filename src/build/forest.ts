import type { Metric } from '../metrics/metric.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { Batch } from '../layout.ts';
import type { Records } from '../records.ts';

export interface BuildProgress {
  /** Trees finished so far. */
  readonly trees: number;
  /** Trees asked for; -1 when Annoy's automatic count (build(-1)) decides. */
  readonly nTrees: number;
  /** Items placed into leaves of the tree under construction, out of `items`. */
  readonly placed: number;
  readonly items: number;
}

export type ProgressListener = (progress: BuildProgress) => void;

/** How many placed items between two progress reports inside one tree. */
const PROGRESS_STEP = 1 << 16;

/**
 * Builds `nTrees` random-projection trees over the item records 0 … nItems−1 of `store`,
 * appending their records after the items and then one copy of every root, exactly in the order
 * Annoy writes them (post-order per tree, smaller side first). Returns the root record ids.
 */
export function buildForest(
  store: Records, scratch: BuildScratch, metric: Metric, nItems: number, nTrees: number, rng: Kiss64,
  onProgress?: ProgressListener,
): number[] {
  metric.prepareBuild(store, nItems);
  const builder = new TreeBuilder(store, new StoreSink(store, metric), scratch, metric, nItems, rng, nTrees, onProgress);
  const roots: number[] = [];
  for (;;) {
    if (nTrees === -1 ? store.count >= 2 * nItems : roots.length >= nTrees) break;
    roots.push(builder.buildTree(roots.length));
  }
  appendRootCopies(store, roots);
  return roots;
}

/** Annoy's last block: a copy of every root, in tree order (this is how its loader finds them). */
export function appendRootCopies(store: Records, roots: readonly number[]): void {
  store.reserve(store.count + roots.length);
  for (const root of roots) store.copyRecord(root, store.append());
}

/** Records in the index's arena the builder computes in: two-means centroids (2) and one split plane. */
export interface BuildScratch {
  readonly centroids: Records;
  readonly plane: Records;
  readonly batch: Batch;
}

/** Where finished tree records go: the index's store, or (in a worker) a local buffer merged later. */
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
 * Where a worker puts its tree records: straight into a region of the index's shared memory that
 * the calling thread reserved for it (record ids start at the region's first record, so children
 * point at each other and only need one common shift once the region's final place is known). The
 * reservation is an estimate; records beyond it spill into a local buffer, which is slower to merge
 * but gives the same result.
 */
export class RegionSink implements NodeSink {
  /** Records written so far, in the region and then in `spill`. */
  count = 0;
  spill = new Int32Array(0);
  private readonly recordWords: number;

  constructor(
    private readonly store: Records,
    private readonly childrenWord: number,
    /** The region's first record (an id in `store`). */
    readonly start: number,
    readonly capacity: number,
  ) {
    this.recordWords = store.recordWords;
  }

  /** Records that did not fit the region. */
  get spilled(): number {
    return Math.max(0, this.count - this.capacity);
  }

  appendLeaf(nDescendants: number, items: Int32Array): number {
    const [words, base] = this.next();
    words[base] = nDescendants;
    words.set(items, base + this.childrenWord);
    return this.start + this.count - 1;
  }

  appendRecord(words: Int32Array): number {
    const [target, base] = this.next();
    target.set(words, base);
    return this.start + this.count - 1;
  }

  /** The next record's words (zero-filled) and where they start. */
  private next(): [Int32Array, number] {
    const k = this.count++, rw = this.recordWords;
    if (k < this.capacity) {
      const base = this.store.word(this.start + k);
      const i32 = this.store.arena.i32;
      i32.fill(0, base, base + rw);
      return [i32, base];
    }
    const at = (k - this.capacity) * rw;
    if (at + rw > this.spill.length) {
      const grown = new Int32Array(Math.max(2 * this.spill.length, 1024 * rw));
      grown.set(this.spill);
      this.spill = grown;
    }
    return [this.spill, at];
  }
}

export interface TreeBuildPlan {
  readonly store: Records;
  readonly sink: NodeSink;
  readonly scratch: BuildScratch;
  readonly metric: Metric;
  readonly nItems: number;
  readonly rng: Kiss64;
  /** Called after each tree and every 65,536 items placed. */
  readonly onProgress?: ProgressListener;
}

/** Builds `count` trees into `plan.sink` (for workers: no preprocessing, no root copies). Returns their roots. */
export function buildTrees(plan: TreeBuildPlan, count: number): number[] {
  const builder = new TreeBuilder(plan.store, plan.sink, plan.scratch, plan.metric, plan.nItems, plan.rng, count, plan.onProgress);
  const roots: number[] = [];
  for (let t = 0; t < count; t++) roots.push(builder.buildTree(t));
  return roots;
}

class TreeBuilder {
  private readonly ids: Int32Array;
  private readonly partitionBuffer: Int32Array;
  private readonly sides: Uint8Array;
  /** Finished planes, one record's words per recursion depth: a split is written only after its children. */
  private planes: Int32Array;
  private placed = 0;
  private nextReport = PROGRESS_STEP;
  private treeNumber = 0;
  private treeItems = 0;

  constructor(
    private readonly store: Records,
    private readonly sink: NodeSink,
    private readonly scratch: BuildScratch,
    private readonly metric: Metric,
    private readonly nItems: number,
    private readonly rng: Kiss64,
    private readonly nTrees: number,
    private readonly onProgress?: ProgressListener,
  ) {
    this.ids = new Int32Array(nItems);
    this.partitionBuffer = new Int32Array(nItems);
    this.sides = new Uint8Array(nItems);
    this.planes = new Int32Array(64 * (metric.recordBytes >>> 2));
  }

  buildTree(treeNumber: number): number {
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
      metric.createSplit(store, ids, lo, hi, this.rng, plane, 0, this.scratch.centroids);
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
