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
  const builder = new TreeBuilder(store, scratch, metric, nItems, rng, nTrees, onProgress);
  metric.prepareBuild(store, nItems);
  const roots: number[] = [];
  for (;;) {
    if (nTrees === -1 ? store.count >= 2 * nItems : roots.length >= nTrees) break;
    roots.push(builder.buildTree(roots.length));
  }
  store.reserve(store.count + roots.length);
  for (const root of roots) store.copyRecord(root, store.append());
  return roots;
}

/** Records in the index's arena the builder computes in: two-means centroids (2) and one split plane. */
export interface BuildScratch {
  readonly centroids: Records;
  readonly plane: Records;
  readonly batch: Batch;
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
      const leaf = store.append();
      const base = store.word(leaf);
      store.arena.i32[base] = isRoot ? nItems : count;
      store.arena.i32.set(ids.subarray(lo, hi), base + metric.childrenWord);
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
    const node = store.append();
    store.arena.i32.set(parked, store.word(node));
    return node;
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
