// AssemblyScript: the neighbour graph's kernels, over the index's WebAssembly memory (imported,
// shared with the forest kernels of src/kernels/). Pointers are byte offsets into that memory.
//
// Distances here only rank: they need not be the distance Annoy reports (the caller re-ranks the
// final n with the metric's exact distance). Per metric kind:
//   0 angular    1 − cos (build); 1 − q·x / |x| for a query (its norm is common to all items)
//   1 euclidean  squared L2        2 manhattan  L1
//   3 dot        −(x·y) over the f + 1 components from the record's dot_factor on: Annoy's
//                extra component makes every item as long as the longest, so this is the
//                angular distance of the augmented vectors (the query's extra component is 0,
//                so for a query it is exactly −q·x, the inner product)
//   4 hamming    differing bits (n counts 64-bit words)
// Vectors are found at base + id·stride + off; `inv` holds 1/|x| per item (angular only).
//
// The module has no data segment and no heap: all state lives in memory the caller hands out.

const ANGULAR = 0, EUCLIDEAN = 1, MANHATTAN = 2, DOT = 3, HAMMING = 4;

// ---------------------------------------------------------------- distances (SIMD)

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline function dotN(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const pa = a + (<usize>i << 2), pb = b + (<usize>i << 2);
    s0 = f32x4.add(s0, f32x4.mul(v128.load(pa), v128.load(pb)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(pa, 16), v128.load(pb, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(pa, 32), v128.load(pb, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(pa, 48), v128.load(pb, 48)));
  }
  for (; i + 4 <= n; i += 4) s0 = f32x4.add(s0, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

// @ts-ignore: decorator
@inline function l2N(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const pa = a + (<usize>i << 2), pb = b + (<usize>i << 2);
    const d0 = f32x4.sub(v128.load(pa), v128.load(pb));
    const d1 = f32x4.sub(v128.load(pa, 16), v128.load(pb, 16));
    const d2 = f32x4.sub(v128.load(pa, 32), v128.load(pb, 32));
    const d3 = f32x4.sub(v128.load(pa, 48), v128.load(pb, 48));
    s0 = f32x4.add(s0, f32x4.mul(d0, d0));
    s1 = f32x4.add(s1, f32x4.mul(d1, d1));
    s2 = f32x4.add(s2, f32x4.mul(d2, d2));
    s3 = f32x4.add(s3, f32x4.mul(d3, d3));
  }
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)));
    s0 = f32x4.add(s0, f32x4.mul(d, d));
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) {
    const t = load<f32>(a + (<usize>i << 2)) - load<f32>(b + (<usize>i << 2));
    s += t * t;
  }
  return s;
}

// @ts-ignore: decorator
@inline function l1N(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const pa = a + (<usize>i << 2), pb = b + (<usize>i << 2);
    s0 = f32x4.add(s0, f32x4.abs(f32x4.sub(v128.load(pa), v128.load(pb))));
    s1 = f32x4.add(s1, f32x4.abs(f32x4.sub(v128.load(pa, 16), v128.load(pb, 16))));
    s2 = f32x4.add(s2, f32x4.abs(f32x4.sub(v128.load(pa, 32), v128.load(pb, 32))));
    s3 = f32x4.add(s3, f32x4.abs(f32x4.sub(v128.load(pa, 48), v128.load(pb, 48))));
  }
  for (; i + 4 <= n; i += 4) s0 = f32x4.add(s0, f32x4.abs(f32x4.sub(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)))));
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += Mathf.abs(load<f32>(a + (<usize>i << 2)) - load<f32>(b + (<usize>i << 2)));
  return s;
}

// @ts-ignore: decorator
@inline function hammingN(a: usize, b: usize, n: i32): f32 {
  let s: u64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    s += popcnt<u64>(load<u64>(a + o) ^ load<u64>(b + o));
  }
  return <f32>s;
}

/** Ranking distance between the vectors at a and b; ia/ib: their 1/|x| (angular only). */
// @ts-ignore: decorator
@inline function dist(kind: i32, a: usize, b: usize, n: i32, ia: f32, ib: f32): f32 {
  if (kind == ANGULAR) return 1 - dotN(a, b, n) * ia * ib;
  if (kind == EUCLIDEAN) return l2N(a, b, n);
  if (kind == MANHATTAN) return l1N(a, b, n);
  if (kind == DOT) return -dotN(a, b, n);
  return hammingN(a, b, n);
}

// @ts-ignore: decorator
@inline function vec(base: usize, stride: i32, off: i32, id: i32): usize {
  return base + <usize>id * <usize>stride + <usize>off;
}

// @ts-ignore: decorator
@inline function invOf(kind: i32, inv: usize, id: i32): f32 {
  return kind == ANGULAR ? load<f32>(inv + (<usize>id << 2)) : 1;
}

// ---------------------------------------------------------------- build

/**
 * The distances a local join needs: ids[0 … nNew) are new neighbours, ids[nNew … nAll) old ones;
 * out[i·nAll + j] = distance(ids[i], ids[j]) for every i < nNew and i < j < nAll.
 */
function join(kind: i32, ids: usize, nNew: i32, nAll: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, out: usize): void {
  for (let i = 0; i < nNew; i++) {
    const a = load<i32>(ids + (<usize>i << 2));
    const va = vec(base, stride, off, a), ia = invOf(kind, inv, a);
    const row = out + (<usize>(i * nAll) << 2);
    for (let j = i + 1; j < nAll; j++) {
      const b = load<i32>(ids + (<usize>j << 2));
      store<f32>(row + (<usize>j << 2), dist(kind, va, vec(base, stride, off, b), n, ia, invOf(kind, inv, b)));
    }
  }
}

/** out[j] = distance(item a, item ids[j]) for j < count. */
function fromOne(kind: i32, a: i32, ids: usize, count: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, out: usize): void {
  const va = vec(base, stride, off, a), ia = invOf(kind, inv, a);
  for (let j = 0; j < count; j++) {
    const b = load<i32>(ids + (<usize>j << 2));
    store<f32>(out + (<usize>j << 2), dist(kind, va, vec(base, stride, off, b), n, ia, invOf(kind, inv, b)));
  }
}

/**
 * The local join with the caller's thresholds applied: the pairs i < nNew, i < j < nAll whose
 * distance beats the current worst neighbour (thr[id], float32 per item) of either end are
 * written to out as (i32 i, i32 j, f32 d) triples; returns how many.
 */
function joinBelow(kind: i32, ids: usize, nNew: i32, nAll: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, thr: usize, out: usize): i32 {
  let found = 0;
  for (let i = 0; i < nNew; i++) {
    const a = load<i32>(ids + (<usize>i << 2));
    const va = vec(base, stride, off, a), ia = invOf(kind, inv, a);
    const ta = load<f32>(thr + (<usize>a << 2));
    for (let j = i + 1; j < nAll; j++) {
      const b = load<i32>(ids + (<usize>j << 2));
      if (a == b) continue;
      const d = dist(kind, va, vec(base, stride, off, b), n, ia, invOf(kind, inv, b));
      if (d < ta || d < load<f32>(thr + (<usize>b << 2))) {
        const o = out + <usize>found * 12;
        store<i32>(o, i);
        store<i32>(o, j, 4);
        store<f32>(o, d, 8);
        found++;
      }
    }
  }
  return found;
}

export function joinPairsBelow(kind: i32, ids: usize, nNew: i32, nAll: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, thr: usize, out: usize): i32 {
  if (kind == ANGULAR) return joinBelow(ANGULAR, ids, nNew, nAll, base, stride, off, n, inv, thr, out);
  if (kind == EUCLIDEAN) return joinBelow(EUCLIDEAN, ids, nNew, nAll, base, stride, off, n, inv, thr, out);
  if (kind == MANHATTAN) return joinBelow(MANHATTAN, ids, nNew, nAll, base, stride, off, n, inv, thr, out);
  if (kind == DOT) return joinBelow(DOT, ids, nNew, nAll, base, stride, off, n, inv, thr, out);
  return joinBelow(HAMMING, ids, nNew, nAll, base, stride, off, n, inv, thr, out);
}

export function joinDistances(kind: i32, ids: usize, nNew: i32, nAll: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, out: usize): void {
  if (kind == ANGULAR) join(ANGULAR, ids, nNew, nAll, base, stride, off, n, inv, out);
  else if (kind == EUCLIDEAN) join(EUCLIDEAN, ids, nNew, nAll, base, stride, off, n, inv, out);
  else if (kind == MANHATTAN) join(MANHATTAN, ids, nNew, nAll, base, stride, off, n, inv, out);
  else if (kind == DOT) join(DOT, ids, nNew, nAll, base, stride, off, n, inv, out);
  else join(HAMMING, ids, nNew, nAll, base, stride, off, n, inv, out);
}

export function distancesFrom(kind: i32, a: i32, ids: usize, count: i32, base: usize, stride: i32, off: i32, n: i32, inv: usize, out: usize): void {
  if (kind == ANGULAR) fromOne(ANGULAR, a, ids, count, base, stride, off, n, inv, out);
  else if (kind == EUCLIDEAN) fromOne(EUCLIDEAN, a, ids, count, base, stride, off, n, inv, out);
  else if (kind == MANHATTAN) fromOne(MANHATTAN, a, ids, count, base, stride, off, n, inv, out);
  else if (kind == DOT) fromOne(DOT, a, ids, count, base, stride, off, n, inv, out);
  else fromOne(HAMMING, a, ids, count, base, stride, off, n, inv, out);
}

// ---------------------------------------------------------------- quantized vectors
//
// For the walk, float vectors can be replaced by int8 codes (quantized per dimension: x_i ≈
// center_i + scale_i·c_i), n_pad bytes per item. Angular, euclidean and dot rank by inner products
// with the query, and q·x ≈ A + Σ w_i·c_i with w_i = q_i·scale_i (held as int16 w16_i·wstep) and
// A = Σ q_i·center_i: one integer dot product per item. Angular codes are of the normalised vectors
// x/|x|; euclidean adds |x|² per item (held as float32). The walk's results are then re-ranked with
// the float vectors.

// @ts-ignore: decorator
@inline function codeDot(w: usize, c: usize, nPad: i32): i32 {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
  for (let i = 0; i < nPad; i += 16) {
    const x = v128.load(c + <usize>i);
    s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), v128.load(w + (<usize>i << 1))));
    s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), v128.load(w + (<usize>i << 1), 16)));
  }
  const t = i32x4.add(s0, s1);
  return i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3);
}

/**
 * Writes the int8 codes of items 0 … count − 1 (float vectors of n components at base + id·stride + off,
 * times inv[id] when inv ≠ 0) to codes + id·nPad.
 */
export function quantize(base: usize, stride: i32, off: i32, n: i32, count: i32, center: usize, invScale: usize, codes: usize, nPad: i32, inv: usize): void {
  for (let id = 0; id < count; id++) {
    const x = vec(base, stride, off, id), c = codes + <usize>id * <usize>nPad;
    const norm: f32 = inv != 0 ? load<f32>(inv + (<usize>id << 2)) : 1;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      let v = nearest<f32>((load<f32>(x + o) * norm - load<f32>(center + o)) * load<f32>(invScale + o));
      v = v > 127 ? 127 : v < -127 ? -127 : v;
      // NaN ends up as 0.
      store<i8>(c + <usize>i, v == v ? <i8><i32>v : 0);
    }
    for (let i = n; i < nPad; i++) store<i8>(c + <usize>i, 0);
  }
}

// ---------------------------------------------------------------- search
//
// A best-first beam search (HNSW's search on one layer): a min-heap of candidates to expand and a
// max-heap of the best `ef` results; a candidate farther than the worst of `ef` results ends it.
// Entry points come from the trees: a descent of each of the first nRoots trees to a leaf (the
// side of each split the query lies on), whose first seedsPerLeaf items seed both heaps.
//
// `allowed` (0: everything) is a bitset over item ids: disallowed items are still walked through
// (the graph stays navigable) but never enter the results. `visited` is a bitset over item ids,
// all zero on entry and on return (the ids set are listed in `trail`, up to trailCap of them;
// beyond that the whole bitset is cleared). Heaps hold 8-byte (f32 distance, i32 id) entries; the
// candidate heap has room for candCap of them: a search that needs more returns -1 (the caller
// retries with more room). Otherwise returns the number of results, left in `res` sorted nearest
// first (by the float distance).
//
// The caller describes the search in a block of 32-bit fields at `d` (see W_* below).

const W_QUERY = 0, W_F = 1, W_N = 2, W_BASE = 3, W_STRIDE = 4, W_OFF = 5, W_AUX = 6, W_ITEMS = 7, W_K = 8,
  W_ROOTS = 9, W_NROOTS = 10, W_SEEDS = 11, W_OFFSETS = 12, W_NBRS = 13, W_EF = 14, W_BUDGET = 15, W_VISITED = 16,
  W_TRAIL = 17, W_TRAILCAP = 18, W_BATCH = 19, W_CAND = 20, W_CANDCAP = 21, W_RES = 22, W_ALLOWED = 23,
  W_CODES = 24, W_NPAD = 25, W_WEIGHTS = 26, W_A = 27, W_WSTEP = 28, W_EVALUATED = 29, W_TOUCH = 30,
  W_QAUX = 31, W_QAUX2 = 32;

// @ts-ignore: decorator
@inline function field(d: usize, i: i32): i32 {
  return load<i32>(d + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function heapUp(h: usize, size: i32, d: f32, id: i32, maxHeap: bool): void {
  let i = size;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pe = h + (<usize>p << 3);
    const pd = load<f32>(pe);
    if (maxHeap ? pd >= d : pd <= d) break;
    store<u64>(h + (<usize>i << 3), load<u64>(pe));
    i = p;
  }
  const e = h + (<usize>i << 3);
  store<f32>(e, d);
  store<i32>(e, id, 4);
}

/** Puts (d, id) at the root of a heap of `size` entries and moves it down. */
// @ts-ignore: decorator
@inline function heapDown(h: usize, size: i32, d: f32, id: i32, maxHeap: bool): void {
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= size) break;
    let ce = h + (<usize>c << 3);
    let cd = load<f32>(ce);
    if (c + 1 < size) {
      const rd = load<f32>(ce, 8);
      if (maxHeap ? rd > cd : rd < cd) { c++; ce += 8; cd = rd; }
    }
    if (maxHeap ? cd <= d : cd >= d) break;
    store<u64>(h + (<usize>i << 3), load<u64>(ce));
    i = c;
  }
  const e = h + (<usize>i << 3);
  store<f32>(e, d);
  store<i32>(e, id, 4);
}

/** (d, id) pairs ordered by distance, then id. */
// @ts-ignore: decorator
@inline function after(da: f32, ia: i32, db: f32, ib: i32): bool {
  return da > db || (da == db && ia > ib);
}

/** Sorts `size` heap entries nearest first (heapsort: a max-heap by (d, id), then repeated pops to the end). */
function sortEntries(h: usize, size: i32): void {
  // Build the max-heap (sift down from the last parent).
  for (let start = (size >> 1) - 1; start >= 0; start--) siftEntry(h, start, size);
  for (let end = size - 1; end > 0; end--) {
    const top = load<u64>(h);
    store<u64>(h, load<u64>(h + (<usize>end << 3)));
    store<u64>(h + (<usize>end << 3), top);
    siftEntry(h, 0, end);
  }
}

function siftEntry(h: usize, i: i32, size: i32): void {
  const e0 = h + (<usize>i << 3);
  const d = load<f32>(e0), id = load<i32>(e0, 4);
  while (true) {
    let c = 2 * i + 1;
    if (c >= size) break;
    let ce = h + (<usize>c << 3);
    if (c + 1 < size && after(load<f32>(ce, 8), load<i32>(ce, 12), load<f32>(ce), load<i32>(ce, 4))) { c++; ce += 8; }
    if (!after(load<f32>(ce), load<i32>(ce, 4), d, id)) break;
    store<u64>(h + (<usize>i << 3), load<u64>(ce));
    i = c;
  }
  const e = h + (<usize>i << 3);
  store<f32>(e, d);
  store<i32>(e, id, 4);
}

// @ts-ignore: decorator
@inline function testAndSet(bits: usize, id: i32): bool {
  const p = bits + (<usize>(id >>> 3));
  const b = <u32>load<u8>(p), m = <u32>1 << <u32>(id & 7);
  if (b & m) return true;
  store<u8>(p, <u8>(b | m));
  return false;
}

// @ts-ignore: decorator
@inline function isAllowed(allowed: usize, id: i32): bool {
  return allowed == 0 || ((load<u32>(allowed + (<usize>(id >>> 5) << 2)) >>> (id & 31)) & 1) != 0;
}

/** The side of a split record (at rec) the query record (at q) lies on: 0 or 1. */
// @ts-ignore: decorator
@inline function side(kind: i32, rec: usize, q: usize, f: i32): i32 {
  if (kind == ANGULAR) return dotN(rec + 12, q + 12, f) > 0 ? 1 : 0;
  if (kind == EUCLIDEAN || kind == MANHATTAN) return load<f32>(rec, 4) + dotN(rec + 16, q + 16, f) > 0 ? 1 : 0;
  if (kind == DOT) { const df = load<f32>(rec, 12); return dotN(rec + 16, q + 16, f) + df * df > 0 ? 1 : 0; }
  // hamming: the query's bit 63 − (b mod 64) of 64-bit word ⌊b/64⌋
  const b = load<u32>(rec, 16);
  return <i32>((load<u64>(q + 16 + (<usize>(b >> 6) << 3)) >> (63 - <u64>(b & 63))) & 1);
}

/** The walk's distance to item id: from its int8 code (quantized) or its float vector. */
// @ts-ignore: decorator
@inline function walkDistance(kind: i32, quantized: bool, d: usize, vq: usize, id: i32): f32 {
  const aux = <usize>field(d, W_AUX);
  if (quantized) {
    const nPad = field(d, W_NPAD);
    const ip = load<f32>(d, W_A << 2) + load<f32>(d, W_WSTEP << 2) * <f32>codeDot(<usize>field(d, W_WEIGHTS), <usize>field(d, W_CODES) + <usize>id * <usize>nPad, nPad);
    // Angular codes are of the normalised vectors: −q·x̂ ranks like the angular distance.
    if (kind == EUCLIDEAN) return load<f32>(d, W_QAUX << 2) + load<f32>(<usize>field(d, W_QAUX2) + (<usize>id << 2)) - 2 * ip;
    return -ip;
  }
  return dist(kind, vq, vec(<usize>field(d, W_BASE), field(d, W_STRIDE), field(d, W_OFF), id), field(d, W_N), 1, invOf(kind, aux, id));
}

// @ts-ignore: decorator
@inline function walk(kind: i32, quantized: bool, d: usize): i32 {
  const q = <usize>field(d, W_QUERY), f = field(d, W_F), n = field(d, W_N);
  const base = <usize>field(d, W_BASE), stride = field(d, W_STRIDE), off = field(d, W_OFF), aux = <usize>field(d, W_AUX);
  const nItems = field(d, W_ITEMS), K = field(d, W_K), roots = <usize>field(d, W_ROOTS), nRoots = field(d, W_NROOTS);
  const seedsPerLeaf = field(d, W_SEEDS), offsets = <usize>field(d, W_OFFSETS), nbrs = <usize>field(d, W_NBRS);
  const ef = field(d, W_EF), budget = field(d, W_BUDGET), visited = <usize>field(d, W_VISITED);
  const trail = <usize>field(d, W_TRAIL), trailCap = field(d, W_TRAILCAP), batch = <usize>field(d, W_BATCH);
  const cand = <usize>field(d, W_CAND), candCap = field(d, W_CANDCAP), res = <usize>field(d, W_RES), allowed = <usize>field(d, W_ALLOWED);
  const touch = field(d, W_TOUCH);
  const codes = <usize>field(d, W_CODES), nPad = field(d, W_NPAD);
  const cw: usize = kind == EUCLIDEAN || kind == MANHATTAN ? 8 : 4;
  const vq = q + <usize>off;
  // What one item's walk distance reads: its code, or its float vector.
  const touchBytes: usize = quantized ? <usize>nPad : kind == HAMMING ? <usize>n << 3 : <usize>n << 2;
  let nCand = 0, nRes = 0, nTrail = 0, evals = 0;
  let overflow = false;
  let sink: u32 = 0;

  // Seeds: a leaf of each of the first nRoots trees.
  for (let r = 0; r < nRoots && !overflow; r++) {
    let node = load<i32>(roots + (<usize>r << 2));
    let rec = base + <usize>node * <usize>stride;
    let nd = load<i32>(rec);
    // A split's n_descendants exceeds K; the loader proved the trees acyclic and in range.
    while (nd > K) {
      node = load<i32>(rec + cw + (<usize>side(kind, rec, q, f) << 2));
      rec = base + <usize>node * <usize>stride;
      nd = load<i32>(rec);
    }
    const single = nd == 1 && node < nItems;
    const count = single ? 1 : nd < seedsPerLeaf ? nd : seedsPerLeaf;
    for (let j = 0; j < count; j++) {
      const id = single ? node : load<i32>(rec + cw + (<usize>j << 2));
      // Holes (n_descendants 0) can sit in a root leaf's padding: never seed with them.
      if (load<i32>(base + <usize>id * <usize>stride) != 1) continue;
      if (testAndSet(visited, id)) continue;
      if (nTrail < trailCap) store<i32>(trail + (<usize>nTrail << 2), id);
      nTrail++;
      const dd = walkDistance(kind, quantized, d, vq, id);
      evals++;
      if (nCand == candCap) { overflow = true; break; }
      heapUp(cand, nCand++, dd, id, false);
      if (isAllowed(allowed, id)) {
        if (nRes < ef) heapUp(res, nRes++, dd, id, true);
        else if (dd < load<f32>(res)) heapDown(res, nRes, dd, id, true);
      }
    }
  }

  while (nCand > 0 && !overflow) {
    const cd = load<f32>(cand), c = load<i32>(cand, 4);
    if (nRes >= ef && cd > load<f32>(res)) break;
    nCand--;
    if (nCand > 0) {
      const last = cand + (<usize>nCand << 3);
      heapDown(cand, nCand, load<f32>(last), load<i32>(last, 4), false);
    }
    const lo = load<u32>(offsets + (<usize>c << 2)), hi = load<u32>(offsets + (<usize>c << 2), 4);
    // First the neighbours not seen yet, and a touch of every cache line of what their distances
    // read: the loads are independent, so the memory system fetches them all at once (WebAssembly
    // has no prefetch instruction) before the distances need them.
    let m = 0;
    for (let e = lo; e < hi; e++) {
      const id = load<i32>(nbrs + (<usize>e << 2));
      if (testAndSet(visited, id)) continue;
      if (nTrail < trailCap) store<i32>(trail + (<usize>nTrail << 2), id);
      nTrail++;
      store<i32>(batch + (<usize>m << 2), id);
      m++;
    }
    if (touch != 0) {
      for (let j = 0; j < m; j++) {
        const id = load<i32>(batch + (<usize>j << 2));
        const p = quantized ? codes + <usize>id * <usize>nPad : vec(base, stride, off, id);
        for (let o: usize = 0; o < touchBytes; o += 64) sink += load<u32>(p + o);
      }
    }
    for (let j = 0; j < m; j++) {
      const id = load<i32>(batch + (<usize>j << 2));
      const dd = walkDistance(kind, quantized, d, vq, id);
      evals++;
      if (nRes < ef || dd < load<f32>(res)) {
        if (nCand == candCap) { overflow = true; break; }
        heapUp(cand, nCand++, dd, id, false);
        if (isAllowed(allowed, id)) {
          if (nRes < ef) heapUp(res, nRes++, dd, id, true);
          else heapDown(res, nRes, dd, id, true);
        }
      }
    }
    if (evals >= budget) break;
  }

  // Leave the visited bitset clear for the next search.
  if (nTrail <= trailCap) {
    for (let t = 0; t < nTrail; t++) {
      const id = load<i32>(trail + (<usize>t << 2));
      store<u8>(visited + (<usize>(id >>> 3)), 0);
    }
  } else {
    memory.fill(visited, 0, <usize>((nItems + 7) >>> 3));
  }
  store<i32>(d + (<usize>W_EVALUATED << 2), evals);
  store<u32>(d + (<usize>(W_QAUX2 + 1) << 2), sink);
  if (overflow) return -1;
  if (quantized) {
    // Re-rank with the float vectors.
    for (let j = 0; j < nRes; j++) {
      const e = res + (<usize>j << 3);
      const id = load<i32>(e, 4);
      store<f32>(e, dist(kind, vq, vec(base, stride, off, id), n, 1, invOf(kind, aux, id)));
    }
  }
  sortEntries(res, nRes);
  return nRes;
}

/** Runs the search described at `d` (see W_*); kind: 0 angular … 4 hamming; quantized: walk on int8 codes. */
export function search(kind: i32, quantized: i32, d: usize): i32 {
  if (quantized) {
    if (kind == ANGULAR) return walk(ANGULAR, true, d);
    if (kind == EUCLIDEAN) return walk(EUCLIDEAN, true, d);
    return walk(DOT, true, d);
  }
  if (kind == ANGULAR) return walk(ANGULAR, false, d);
  if (kind == EUCLIDEAN) return walk(EUCLIDEAN, false, d);
  if (kind == MANHATTAN) return walk(MANHATTAN, false, d);
  if (kind == DOT) return walk(DOT, false, d);
  return walk(HAMMING, false, d);
}
