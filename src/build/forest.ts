import type { Metric } from '../metrics/metric.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import { Records } from '../records.ts';

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
  store: Records, metric: Metric, nItems: number, nTrees: number, rng: Kiss64,
  onProgress?: ProgressListener,
): number[] {
  const builder = new TreeBuilder(store, metric, nItems, rng, nTrees, onProgress);
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

class TreeBuilder {
  private readonly ids: Int32Array;
  private readonly scratch: Int32Array;
  private readonly sides: Uint8Array;
  /** One plane record per recursion depth: a split is written to the store only after its children. */
  private readonly planes: Records;
  private placed = 0;
  private nextReport = PROGRESS_STEP;
  private treeNumber = 0;
  private treeItems = 0;

  constructor(
    private readonly store: Records,
    private readonly metric: Metric,
    private readonly nItems: number,
    private readonly rng: Kiss64,
    private readonly nTrees: number,
    private readonly onProgress?: ProgressListener,
  ) {
    this.ids = new Int32Array(nItems);
    this.scratch = new Int32Array(nItems);
    this.sides = new Uint8Array(nItems);
    this.planes = new Records(metric.recordBytes, 64);
  }

  buildTree(treeNumber: number): number {
    const { store, ids } = this;
    let n = 0;
    const i32 = store.i32, rw = store.recordWords;
    for (let i = 0; i < this.nItems; i++) if (i32[i * rw] >= 1) ids[n++] = i;
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
      const base = leaf * store.recordWords;
      store.i32[base] = isRoot ? nItems : count;
      store.i32.set(ids.subarray(lo, hi), base + metric.childrenWord);
      this.advance(count);
      return leaf;
    }

    if (depth >= this.planes.capacity) this.planes.reserve(depth + 1);
    this.planes.count = Math.max(this.planes.count, depth + 1);
    const planes = this.planes;
    planes.zeroRecord(depth);
    let left = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      metric.createSplit(store, ids, lo, hi, this.rng, planes, depth);
      left = this.assignSides(lo, hi, depth);
      if (imbalance(left, count - left) < 0.95) break;
    }
    while (imbalance(left, count - left) > 0.99) {
      metric.clearPlane(planes, depth);
      left = 0;
      for (let i = lo; i < hi; i++) {
        const s = this.rng.flip();
        this.sides[i] = s;
        if (s === 0) left++;
      }
    }
    this.partition(lo, hi, left);

    // Build the smaller side first (side 0 on a tie), as Annoy does.
    const flip = left > count - left ? 1 : 0;
    const children = [0, 0];
    for (let s = 0; s < 2; s++) {
      const side = s ^ flip;
      children[side] = side === 0
        ? this.makeTree(lo, lo + left, false, depth + 1)
        : this.makeTree(lo + left, hi, false, depth + 1);
    }
    const pw = depth * planes.recordWords;
    planes.i32[pw] = isRoot ? nItems : count;
    planes.i32[pw + metric.childrenWord] = children[0];
    planes.i32[pw + metric.childrenWord + 1] = children[1];
    const node = store.append();
    store.copyRecord(depth, node, planes);
    return node;
  }

  /** Records each item's side of the plane in `sides`; returns how many went to side 0. */
  private assignSides(lo: number, hi: number, depth: number): number {
    const { ids, sides, metric, store, planes, rng } = this;
    let left = 0;
    for (let i = lo; i < hi; i++) {
      const s = metric.side(planes, depth, store, ids[i], rng);
      sides[i] = s;
      if (s === 0) left++;
    }
    return left;
  }

  /** Stable partition of ids[lo..hi) by side: side 0 first, each side keeping its order. */
  private partition(lo: number, hi: number, left: number): void {
    const { ids, sides, scratch } = this;
    let a = lo, b = lo + left;
    for (let i = lo; i < hi; i++) scratch[sides[i] === 0 ? a++ : b++] = ids[i];
    ids.set(scratch.subarray(lo, hi), lo);
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
