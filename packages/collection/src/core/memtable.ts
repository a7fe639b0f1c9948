// The newest items: kept as plain float32 rows and searched exactly, until a background build
// folds them into an index segment. Rows are appended in id order and never move; deleting or
// replacing an item only clears its live flag.
import type { MetricName } from 'annoy-ts';
import { distanceKernels, withinDistance, type DistanceKernels } from './distance.ts';
import { findId, type Hit, type ItemHolder, type ItemInfo } from './items.ts';
import { RowStore, scanKind } from './rows.ts';

export class Memtable implements ItemHolder {
  readonly f: number;
  readonly metric: MetricName;
  private readonly kernels: DistanceKernels;
  private readonly scan: 'dots' | 'squaredL2' | 'l1' | null;
  readonly rows: RowStore;
  norms: Float32Array;
  ids: Float64Array;
  live: Uint8Array;
  infos: ItemInfo[] = [];
  count = 0;
  liveCount = 0;

  constructor(f: number, metric: MetricName, capacity = 64) {
    this.f = f;
    this.metric = metric;
    this.kernels = distanceKernels(metric, f);
    this.scan = scanKind(metric);
    this.rows = new RowStore(f, capacity);
    this.norms = new Float32Array(capacity);
    this.ids = new Float64Array(capacity);
    this.live = new Uint8Array(capacity);
  }

  /** Appends a live row; ids must come in increasing order. */
  append(info: ItemInfo, vector: Float32Array): number {
    if (this.count === this.ids.length) this.grow(Math.max(64, this.count * 2));
    const pos = this.count++;
    this.rows.vectors.set(vector, pos * this.f);
    this.norms[pos] = this.kernels.norm(this.rows.vectors, pos * this.f);
    this.ids[pos] = info.id;
    this.live[pos] = 1;
    this.infos[pos] = info;
    this.liveCount++;
    return pos;
  }

  find(id: number): number {
    return findId(this.ids, this.count, id);
  }

  kill(pos: number): void {
    if (this.live[pos]) {
      this.live[pos] = 0;
      this.liveCount--;
    }
  }

  vectorAt(pos: number): number[] {
    return Array.from(this.row(pos));
  }

  row(pos: number): Float32Array {
    return this.rows.vectors.subarray(pos * this.f, (pos + 1) * this.f);
  }

  /** A new buffer holding the rows with ids above `id` (the rows a build did not take). */
  suffixAfter(id: number): Memtable {
    let from = this.count;
    while (from > 0 && this.ids[from - 1]! > id) from--;
    const n = this.count - from;
    const next = new Memtable(this.f, this.metric, Math.max(64, n * 2));
    next.rows.vectors.set(this.rows.vectors.subarray(from * this.f, this.count * this.f));
    next.norms.set(this.norms.subarray(from, this.count));
    next.ids.set(this.ids.subarray(from, this.count));
    next.live.set(this.live.subarray(from, this.count));
    next.infos = this.infos.slice(from, this.count);
    next.count = n;
    for (let p = 0; p < n; p++) next.liveCount += next.live[p]!;
    return next;
  }

  /**
   * The `n` nearest live rows allowed by `allowed` (null: all), within maxDistance when given;
   * distances as the index would report them.
   */
  search(query: Float32Array, n: number, allowed: ((pos: number) => boolean) | null, maxDistance: number | null): Hit[] {
    if (n <= 0 || this.liveCount === 0) return [];
    const k = this.kernels, f = this.f, v = this.rows.vectors, norms = this.norms;
    const qn = k.norm(query, 0);
    // One SIMD pass over all rows (dead ones included: cheaper than skipping), then ranks in double.
    const values = this.scan === null ? null : this.rows.scan(this.scan, query, this.count);
    const rank = values === null
      ? (p: number) => k.rank(query, qn, v, p * f, norms[p]!)
      : this.metric === 'angular'
        ? (p: number) => { const pq = qn * norms[p]!; return pq > 0 ? 2 - (2 * values[p]!) / Math.sqrt(pq) : 2; }
        : this.metric === 'dot' ? (p: number) => -values[p]! : (p: number) => values[p]!;
    const limit = Math.min(n, this.liveCount);
    // A max-heap of the best `limit` ranks seen so far.
    const heapRank = new Float64Array(limit);
    const heapPos = new Int32Array(limit);
    let size = 0;
    const bound = maxDistance === null ? Infinity : slack(k.rankOf(maxDistance));
    for (let p = 0; p < this.count; p++) {
      if (!this.live[p] || (allowed !== null && !allowed(p))) continue;
      const r = rank(p);
      if (r > bound) continue;
      if (size < limit) {
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (heapRank[parent]! >= r) break;
          heapRank[i] = heapRank[parent]!;
          heapPos[i] = heapPos[parent]!;
          i = parent;
        }
        heapRank[i] = r;
        heapPos[i] = p;
      } else if (r < heapRank[0]!) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= size) break;
          const c = l + 1 < size && heapRank[l + 1]! > heapRank[l]! ? l + 1 : l;
          if (heapRank[c]! <= r) break;
          heapRank[i] = heapRank[c]!;
          heapPos[i] = heapPos[c]!;
          i = c;
        }
        heapRank[i] = r;
        heapPos[i] = p;
      }
    }
    const hits: Hit[] = [];
    for (let j = 0; j < size; j++) {
      const p = heapPos[j]!;
      const distance = k.exact(query, qn, v, p * f, norms[p]!);
      if (maxDistance !== null && !withinDistance(this.metric, distance, maxDistance)) continue;
      hits.push({ info: this.infos[p]!, distance, part: this, pos: p });
    }
    return hits;
  }

  private grow(capacity: number): void {
    this.rows.reserve(capacity);
    const norms = new Float32Array(capacity);
    norms.set(this.norms.subarray(0, this.count));
    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.count));
    const live = new Uint8Array(capacity);
    live.set(this.live.subarray(0, this.count));
    this.norms = norms;
    this.ids = ids;
    this.live = live;
  }
}

/** Widens a rank bound by float32 rounding (the exact distance decides at the end). */
function slack(rank: number): number {
  return rank + Math.abs(rank) * 1e-5 + 1e-6;
}
