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

import { dotSimd, euclideanSimd, hammingBits, manhattanSimd } from '../../kernels/assembly/simd';

const ANGULAR = 0, EUCLIDEAN = 1, MANHATTAN = 2, DOT = 3, HAMMING = 4;

/** Field i (a 32-bit word) of a description block at d. */
// @ts-ignore: decorator
@inline function field(d: usize, i: i32): i32 {
  return load<i32>(d + (<usize>i << 2));
}

// ---------------------------------------------------------------- distances (SIMD: ../../kernels/assembly/simd.ts)

/** Ranking distance between the vectors at a and b; ia/ib: their 1/|x| (angular only). */
// @ts-ignore: decorator
@inline function dist(kind: i32, a: usize, b: usize, n: i32, ia: f32, ib: f32): f32 {
  if (kind == ANGULAR) return 1 - dotSimd(a, b, n) * ia * ib;
  if (kind == EUCLIDEAN) return euclideanSimd(a, b, n);
  if (kind == MANHATTAN) return manhattanSimd(a, b, n);
  if (kind == DOT) return -dotSimd(a, b, n);
  return <f32>hammingBits(a, b, n);
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
//
// The graph is built in a memory of its own (the build memory): a compact copy of the compared
// vectors (angular: normalised, so 1 − x·y is the distance; dot: with the extra component), the
// k-nearest-neighbour heaps NN-descent refines, its candidate samples and the pruned lists. Work is
// split into steps whose results do not depend on how many threads run them: a step computes
// candidate updates from a fixed state of the heaps into per-thread buffers (12-byte triples a,
// b, d), then each thread applies the updates of the nodes in its partition (id mod parts), in
// buffer order. Random choices come from a hash of (seed, round, ids), never from a sequence.
//
// The layout is described by 32-bit fields at `d` (see B_*).

const B_KIND = 0, B_N = 1, B_VECS = 2, B_VSTRIDE = 3, B_ITEMS = 4, B_K = 5, B_HIDS = 6, B_HDIST = 7, B_HNEW = 8,
  B_CAP = 9, B_NEWF = 10, B_NEWFN = 11, B_OLDF = 12, B_OLDFN = 13, B_RCAP = 14, B_NEWR = 15, B_NEWRP = 16, B_NEWRN = 17,
  B_OLDR = 18, B_OLDRP = 19, B_OLDRN = 20, B_SEED = 21, B_ROUND = 22, B_DEGREE = 23, B_KEPT = 24, B_KEPTD = 25,
  B_KEPTN = 26, B_ALPHA = 27, B_MINDEG = 28;

// @ts-ignore: decorator
@inline function bvec(d: usize, id: i32): usize {
  return <usize>field(d, B_VECS) + <usize>id * <usize>field(d, B_VSTRIDE);
}

/** The build's distance between items a and b (vectors in the build memory; angular ones normalised). */
// @ts-ignore: decorator
@inline function bdist(kind: i32, d: usize, a: i32, b: i32): f32 {
  return dist(kind, bvec(d, a), bvec(d, b), field(d, B_N), 1, 1);
}

// @ts-ignore: decorator
@inline function mix(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x7feb352d;
  x ^= x >> 15;
  x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/** The random priority of pair (a, b) in the current round. */
// @ts-ignore: decorator
@inline function priority(d: usize, a: i32, b: i32): u32 {
  return mix(mix(mix(<u32>field(d, B_SEED) ^ (<u32>field(d, B_ROUND) * 0x9e3779b9)) ^ <u32>a) ^ <u32>b);
}

/** Offers v at distance dd to u's k-NN heap (max-heap, worst at the root); 1 when it went in (as new). */
// @ts-ignore: decorator
@inline function heapPush(d: usize, u: i32, v: i32, dd: f32): i32 {
  const K = field(d, B_K);
  const b = <usize>u * <usize>K;
  const ids = <usize>field(d, B_HIDS) + (b << 2), ds = <usize>field(d, B_HDIST) + (b << 2), fl = <usize>field(d, B_HNEW) + b;
  if (!(dd < load<f32>(ds))) return 0;
  for (let j = 0; j < K; j++) if (load<i32>(ids + (<usize>j << 2)) == v) return 0;
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= K) break;
    if (c + 1 < K && load<f32>(ds + (<usize>(c + 1) << 2)) > load<f32>(ds + (<usize>c << 2))) c++;
    const dc = load<f32>(ds + (<usize>c << 2));
    if (dc <= dd) break;
    store<i32>(ids + (<usize>i << 2), load<i32>(ids + (<usize>c << 2)));
    store<f32>(ds + (<usize>i << 2), dc);
    store<u8>(fl + <usize>i, load<u8>(fl + <usize>c));
    i = c;
  }
  store<i32>(ids + (<usize>i << 2), v);
  store<f32>(ds + (<usize>i << 2), dd);
  store<u8>(fl + <usize>i, 1);
  return 1;
}

// @ts-ignore: decorator
@inline function worst(d: usize, u: i32): f32 {
  return load<f32>(<usize>field(d, B_HDIST) + ((<usize>u * <usize>field(d, B_K)) << 2));
}

// @ts-ignore: decorator
@inline function emit(buf: usize, count: i32, a: i32, b: i32, dd: f32): void {
  const o = buf + <usize>count * 12;
  store<i32>(o, a);
  store<i32>(o, b, 4);
  store<f32>(o, dd, 8);
}

/** Empties the k-NN heaps (ids −1 at distance +∞). */
export function buildInit(d: usize): void {
  const total = field(d, B_ITEMS) * field(d, B_K);
  const ids = <usize>field(d, B_HIDS), ds = <usize>field(d, B_HDIST);
  for (let i = 0; i < total; i++) {
    store<i32>(ids + (<usize>i << 2), -1);
    store<f32>(ds + (<usize>i << 2), Infinity);
  }
  memory.fill(<usize>field(d, B_HNEW), 0, <usize>total);
}

function groupPairs(kind: i32, d: usize, ids: usize, m: i32, buf: usize): i32 {
  let count = 0;
  for (let i = 0; i < m; i++) {
    const a = load<i32>(ids + (<usize>i << 2));
    const wa = worst(d, a);
    for (let j = i + 1; j < m; j++) {
      const b = load<i32>(ids + (<usize>j << 2));
      const dd = bdist(kind, d, a, b);
      if (dd < wa || dd < worst(d, b)) emit(buf, count++, a, b, dd);
    }
  }
  return count;
}

/** Every pair of the m items at `ids` that could enter either heap, as triples at `buf` (room for m(m − 1)/2); returns how many. */
export function buildGroupPairs(d: usize, ids: usize, m: i32, buf: usize): i32 {
  const kind = field(d, B_KIND);
  if (kind == ANGULAR) return groupPairs(ANGULAR, d, ids, m, buf);
  if (kind == EUCLIDEAN) return groupPairs(EUCLIDEAN, d, ids, m, buf);
  if (kind == MANHATTAN) return groupPairs(MANHATTAN, d, ids, m, buf);
  if (kind == DOT) return groupPairs(DOT, d, ids, m, buf);
  return groupPairs(HAMMING, d, ids, m, buf);
}

/** Applies the triples at buf to the heaps of the nodes in partition `part` of `parts` (both directions); returns the updates. */
export function buildApply(d: usize, buf: usize, count: i32, part: i32, parts: i32): i32 {
  let updates = 0;
  for (let t = 0; t < count; t++) {
    const o = buf + <usize>t * 12;
    const a = load<i32>(o), b = load<i32>(o, 4), dd = load<f32>(o, 8);
    if (a % parts == part) updates += heapPush(d, a, b, dd);
    if (b % parts == part) updates += heapPush(d, b, a, dd);
  }
  return updates;
}

function fromOneB(kind: i32, d: usize, a: i32, ids: usize, count: i32, out: usize): void {
  for (let j = 0; j < count; j++) store<f32>(out + (<usize>j << 2), bdist(kind, d, a, load<i32>(ids + (<usize>j << 2))));
}

/** out[j] = the build's distance from item a to item ids[j]. */
export function buildDistancesFrom(d: usize, a: i32, ids: usize, count: i32, out: usize): void {
  const kind = field(d, B_KIND);
  if (kind == ANGULAR) fromOneB(ANGULAR, d, a, ids, count, out);
  else if (kind == EUCLIDEAN) fromOneB(EUCLIDEAN, d, a, ids, count, out);
  else if (kind == MANHATTAN) fromOneB(MANHATTAN, d, a, ids, count, out);
  else if (kind == DOT) fromOneB(DOT, d, a, ids, count, out);
  else fromOneB(HAMMING, d, a, ids, count, out);
}

/**
 * Keeps the `cap` entries of smallest priority: a sorted list (ids, prios) of `n` entries; returns the new length.
 */
// @ts-ignore: decorator
@inline function keepSmallest(ids: usize, prios: usize, n: i32, cap: i32, id: i32, p: u32): i32 {
  if (n == cap && p >= load<u32>(prios + (<usize>(n - 1) << 2))) return n;
  let i = n < cap ? n : n - 1;
  while (i > 0 && load<u32>(prios + (<usize>(i - 1) << 2)) > p) {
    store<u32>(prios + (<usize>i << 2), load<u32>(prios + (<usize>(i - 1) << 2)));
    store<i32>(ids + (<usize>i << 2), load<i32>(ids + (<usize>(i - 1) << 2)));
    i--;
  }
  store<u32>(prios + (<usize>i << 2), p);
  store<i32>(ids + (<usize>i << 2), id);
  return n < cap ? n + 1 : n;
}

/**
 * NN-descent's forward sample for nodes lo … hi − 1: up to CAP new and CAP old neighbours each,
 * by random priority; the new ones taken are marked old in the heap. `scratch`: 4·CAP bytes.
 */
export function buildSampleForward(d: usize, lo: i32, hi: i32, scratch: usize): void {
  const K = field(d, B_K), cap = field(d, B_CAP);
  const hids = <usize>field(d, B_HIDS), hnew = <usize>field(d, B_HNEW);
  const newF = <usize>field(d, B_NEWF), newFN = <usize>field(d, B_NEWFN), oldF = <usize>field(d, B_OLDF), oldFN = <usize>field(d, B_OLDFN);
  for (let v = lo; v < hi; v++) {
    const b = <usize>v * <usize>K;
    const nf = newF + ((<usize>v * <usize>cap) << 2), oldList = oldF + ((<usize>v * <usize>cap) << 2);
    let nn = 0, no = 0;
    for (let j = 0; j < K; j++) {
      const u = load<i32>(hids + ((b + <usize>j) << 2));
      if (u < 0) continue;
      const p = priority(d, v, u);
      if (load<u8>(hnew + b + <usize>j)) nn = keepSmallest(nf, scratch, nn, cap, u, p);
      else no = keepSmallest(oldList, scratch + (<usize>cap << 2), no, cap, u, p);
    }
    store<i32>(newFN + (<usize>v << 2), nn);
    store<i32>(oldFN + (<usize>v << 2), no);
    // The new neighbours taken are old from now on.
    for (let j = 0; j < K; j++) {
      if (!load<u8>(hnew + b + <usize>j)) continue;
      const u = load<i32>(hids + ((b + <usize>j) << 2));
      for (let t = 0; t < nn; t++) {
        if (load<i32>(nf + (<usize>t << 2)) == u) { store<u8>(hnew + b + <usize>j, 0); break; }
      }
    }
  }
}

/** Adds v to u's reverse sample (a max-heap on priority of at most rcap entries) unless a smaller-priority set is full. */
// @ts-ignore: decorator
@inline function reverseAdd(ids: usize, prios: usize, counts: usize, rcap: i32, u: i32, v: i32, p: u32): void {
  const n = load<i32>(counts + (<usize>u << 2));
  const ib = ids + ((<usize>u * <usize>rcap) << 2), pb = prios + ((<usize>u * <usize>rcap) << 2);
  if (n < rcap) {
    let i = n;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pp = load<u32>(pb + (<usize>parent << 2));
      if (pp > p || (pp == p && load<i32>(ib + (<usize>parent << 2)) > v)) {
        // parent is larger: it stays above
        break;
      }
      store<u32>(pb + (<usize>i << 2), pp);
      store<i32>(ib + (<usize>i << 2), load<i32>(ib + (<usize>parent << 2)));
      i = parent;
    }
    // Max-heap: entries only move up past smaller ones.
    store<u32>(pb + (<usize>i << 2), p);
    store<i32>(ib + (<usize>i << 2), v);
    store<i32>(counts + (<usize>u << 2), n + 1);
    return;
  }
  const tp = load<u32>(pb);
  if (p > tp || (p == tp && v >= load<i32>(ib))) return;
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= rcap) break;
    if (c + 1 < rcap) {
      const pc = load<u32>(pb + (<usize>c << 2)), pr = load<u32>(pb + (<usize>(c + 1) << 2));
      if (pr > pc || (pr == pc && load<i32>(ib + (<usize>(c + 1) << 2)) > load<i32>(ib + (<usize>c << 2)))) c++;
    }
    const pc = load<u32>(pb + (<usize>c << 2)), ic = load<i32>(ib + (<usize>c << 2));
    if (pc < p || (pc == p && ic < v)) break;
    store<u32>(pb + (<usize>i << 2), pc);
    store<i32>(ib + (<usize>i << 2), ic);
    i = c;
  }
  store<u32>(pb + (<usize>i << 2), p);
  store<i32>(ib + (<usize>i << 2), v);
}

/**
 * NN-descent's reverse sample for the nodes u of partition `part` of `parts`: of the nodes v that
 * took u in their forward sample, the RCAP of smallest priority (new and old apart). Independent of
 * the order of the nodes v, so of the number of threads.
 */
export function buildSampleReverse(d: usize, part: i32, parts: i32): void {
  const n = field(d, B_ITEMS), cap = field(d, B_CAP), rcap = field(d, B_RCAP);
  const newF = <usize>field(d, B_NEWF), newFN = <usize>field(d, B_NEWFN), oldF = <usize>field(d, B_OLDF), oldFN = <usize>field(d, B_OLDFN);
  const newR = <usize>field(d, B_NEWR), newRP = <usize>field(d, B_NEWRP), newRN = <usize>field(d, B_NEWRN);
  const oldR = <usize>field(d, B_OLDR), oldRP = <usize>field(d, B_OLDRP), oldRN = <usize>field(d, B_OLDRN);
  for (let u = part; u < n; u += parts) {
    store<i32>(newRN + (<usize>u << 2), 0);
    store<i32>(oldRN + (<usize>u << 2), 0);
  }
  for (let v = 0; v < n; v++) {
    const nf = newF + ((<usize>v * <usize>cap) << 2), oldList = oldF + ((<usize>v * <usize>cap) << 2);
    for (let t = 0, nn = load<i32>(newFN + (<usize>v << 2)); t < nn; t++) {
      const u = load<i32>(nf + (<usize>t << 2));
      if (u % parts == part) reverseAdd(newR, newRP, newRN, rcap, u, v, priority(d, u, v));
    }
    for (let t = 0, no = load<i32>(oldFN + (<usize>v << 2)); t < no; t++) {
      const u = load<i32>(oldList + (<usize>t << 2));
      if (u % parts == part) reverseAdd(oldR, oldRP, oldRN, rcap, u, v, priority(d, u, v));
    }
  }
}

/** Appends the ids at src[0 … count) to set[n …] unless marked in `mark` (marking them); returns the new length. */
// @ts-ignore: decorator
@inline function addUnique(set: usize, n: i32, src: usize, count: i32, mark: usize, stamp: i32): i32 {
  for (let t = 0; t < count; t++) {
    const u = load<i32>(src + (<usize>t << 2));
    const mp = mark + (<usize>u << 2);
    if (load<i32>(mp) == stamp) continue;
    store<i32>(mp, stamp);
    store<i32>(set + (<usize>n << 2), u);
    n++;
  }
  return n;
}

function localJoin(kind: i32, d: usize, lo: i32, hi: i32, buf: usize, mark: usize, set: usize): i32 {
  const cap = field(d, B_CAP), rcap = field(d, B_RCAP);
  const newF = <usize>field(d, B_NEWF), newFN = <usize>field(d, B_NEWFN), oldF = <usize>field(d, B_OLDF), oldFN = <usize>field(d, B_OLDFN);
  const newR = <usize>field(d, B_NEWR), newRN = <usize>field(d, B_NEWRN), oldR = <usize>field(d, B_OLDR), oldRN = <usize>field(d, B_OLDRN);
  let count = 0;
  for (let v = lo; v < hi; v++) {
    const stamp = v + 1;
    let nNew = addUnique(set, 0, newF + ((<usize>v * <usize>cap) << 2), load<i32>(newFN + (<usize>v << 2)), mark, stamp);
    nNew = addUnique(set, nNew, newR + ((<usize>v * <usize>rcap) << 2), load<i32>(newRN + (<usize>v << 2)), mark, stamp);
    if (nNew == 0) continue;
    let nAll = addUnique(set, nNew, oldF + ((<usize>v * <usize>cap) << 2), load<i32>(oldFN + (<usize>v << 2)), mark, stamp);
    nAll = addUnique(set, nAll, oldR + ((<usize>v * <usize>rcap) << 2), load<i32>(oldRN + (<usize>v << 2)), mark, stamp);
    for (let i = 0; i < nNew; i++) {
      const a = load<i32>(set + (<usize>i << 2));
      const wa = worst(d, a);
      for (let j = i + 1; j < nAll; j++) {
        const b = load<i32>(set + (<usize>j << 2));
        const dd = bdist(kind, d, a, b);
        if (dd < wa || dd < worst(d, b)) emit(buf, count++, a, b, dd);
      }
    }
    // Leave the marks clear for the next node.
    for (let t = 0; t < nAll; t++) store<i32>(mark + (<usize>load<i32>(set + (<usize>t << 2)) << 2), 0);
  }
  return count;
}

/**
 * Local joins of nodes lo … hi − 1: their sampled neighbours compared new against new and new
 * against old; the pairs that could enter either heap go to `buf` as triples (room for
 * (hi − lo)·m(m − 1)/2, m = 2·(CAP + RCAP)). `mark`: one int32 per item, zero; `set`: 4·m bytes.
 */
export function buildJoin(d: usize, lo: i32, hi: i32, buf: usize, mark: usize, set: usize): i32 {
  const kind = field(d, B_KIND);
  if (kind == ANGULAR) return localJoin(ANGULAR, d, lo, hi, buf, mark, set);
  if (kind == EUCLIDEAN) return localJoin(EUCLIDEAN, d, lo, hi, buf, mark, set);
  if (kind == MANHATTAN) return localJoin(MANHATTAN, d, lo, hi, buf, mark, set);
  if (kind == DOT) return localJoin(DOT, d, lo, hi, buf, mark, set);
  return localJoin(HAMMING, d, lo, hi, buf, mark, set);
}

/** Sorts m (f32 distance, i32 id) pairs at ds/ids by distance, then id (insertion sort: m is a node's degree). */
function sortPairs(ds: usize, ids: usize, m: i32): void {
  for (let i = 1; i < m; i++) {
    const dv = load<f32>(ds + (<usize>i << 2)), iv = load<i32>(ids + (<usize>i << 2));
    let j = i;
    while (j > 0) {
      const dp = load<f32>(ds + (<usize>(j - 1) << 2)), ip = load<i32>(ids + (<usize>(j - 1) << 2));
      if (dp < dv || (dp == dv && ip < iv)) break;
      store<f32>(ds + (<usize>j << 2), dp);
      store<i32>(ids + (<usize>j << 2), ip);
      j--;
    }
    store<f32>(ds + (<usize>j << 2), dv);
    store<i32>(ids + (<usize>j << 2), iv);
  }
}

/**
 * Diversity pruning of m candidates (ids/ds sorted nearest first): candidate c is dropped when a
 * kept one k has α·d(k, c) ≤ d(v, c). Writes up to `degree` kept ids and distances to outIds/outDs;
 * returns how many.
 */
// @ts-ignore: decorator
@inline function diversify(kind: i32, d: usize, ids: usize, ds: usize, m: i32, outIds: usize, outDs: usize): i32 {
  const degree = field(d, B_DEGREE), alpha = load<f32>(d, B_ALPHA << 2), minDegree = field(d, B_MINDEG);
  let kept = 0;
  for (let i = 0; i < m && kept < degree; i++) {
    const c = load<i32>(ids + (<usize>i << 2)), dc = load<f32>(ds + (<usize>i << 2));
    let good = true;
    for (let j = 0; j < kept; j++) {
      if (alpha * bdist(kind, d, load<i32>(outIds + (<usize>j << 2)), c) <= dc) { good = false; break; }
    }
    if (good) {
      store<i32>(outIds + (<usize>kept << 2), c);
      store<f32>(outDs + (<usize>kept << 2), dc);
      kept++;
    }
  }
  // A node the rule left with few neighbours is hard to leave: top it up with the nearest pruned ones.
  if (kept < minDegree) {
    const diverse = kept;
    for (let i = 0; i < m && kept < minDegree; i++) {
      const c = load<i32>(ids + (<usize>i << 2));
      let taken = false;
      for (let j = 0; j < diverse; j++) if (load<i32>(outIds + (<usize>j << 2)) == c) { taken = true; break; }
      if (taken) continue;
      store<i32>(outIds + (<usize>kept << 2), c);
      store<f32>(outDs + (<usize>kept << 2), load<f32>(ds + (<usize>i << 2)));
      kept++;
    }
  }
  return kept;
}

function pruneForward(kind: i32, d: usize, lo: i32, hi: i32, scratch: usize): void {
  const K = field(d, B_K), degree = field(d, B_DEGREE);
  const hids = <usize>field(d, B_HIDS), hdist = <usize>field(d, B_HDIST);
  const kept = <usize>field(d, B_KEPT), keptD = <usize>field(d, B_KEPTD), keptN = <usize>field(d, B_KEPTN);
  const ids = scratch, ds = scratch + (<usize>K << 2);
  for (let v = lo; v < hi; v++) {
    const b = <usize>v * <usize>K;
    let m = 0;
    for (let j = 0; j < K; j++) {
      const u = load<i32>(hids + ((b + <usize>j) << 2));
      if (u < 0) continue;
      store<i32>(ids + (<usize>m << 2), u);
      store<f32>(ds + (<usize>m << 2), load<f32>(hdist + ((b + <usize>j) << 2)));
      m++;
    }
    sortPairs(ds, ids, m);
    const o = (<usize>v * <usize>degree) << 2;
    store<i32>(keptN + (<usize>v << 2), diversify(kind, d, ids, ds, m, kept + o, keptD + o));
  }
}

/** Forward pruning of nodes lo … hi − 1: their k-NN lists, diversified, into KEPT/KEPTD/KEPTN. `scratch`: 8·K bytes. */
export function buildPrune(d: usize, lo: i32, hi: i32, scratch: usize): void {
  const kind = field(d, B_KIND);
  if (kind == ANGULAR) pruneForward(ANGULAR, d, lo, hi, scratch);
  else if (kind == EUCLIDEAN) pruneForward(EUCLIDEAN, d, lo, hi, scratch);
  else if (kind == MANHATTAN) pruneForward(MANHATTAN, d, lo, hi, scratch);
  else if (kind == DOT) pruneForward(DOT, d, lo, hi, scratch);
  else pruneForward(HAMMING, d, lo, hi, scratch);
}

function mergeReverse(kind: i32, d: usize, lo: i32, hi: i32, revOff: usize, revIds: usize, revDs: usize, outIds: usize, outN: usize, mark: usize, scratch: usize, scratchCap: i32): void {
  const degree = field(d, B_DEGREE);
  const kept = <usize>field(d, B_KEPT), keptD = <usize>field(d, B_KEPTD), keptN = <usize>field(d, B_KEPTN);
  const ids = scratch, ds = scratch + (<usize>scratchCap << 2);
  const pIds = ds + (<usize>scratchCap << 2), pDs = pIds + (<usize>degree << 2);
  for (let v = lo; v < hi; v++) {
    const stamp = v + 1;
    let m = 0;
    const o = (<usize>v * <usize>degree) << 2;
    for (let t = 0, nk = load<i32>(keptN + (<usize>v << 2)); t < nk; t++) {
      const u = load<i32>(kept + o + (<usize>t << 2));
      store<i32>(mark + (<usize>u << 2), stamp);
      store<i32>(ids + (<usize>m << 2), u);
      store<f32>(ds + (<usize>m << 2), load<f32>(keptD + o + (<usize>t << 2)));
      m++;
    }
    for (let e = load<u32>(revOff + (<usize>v << 2)), end = load<u32>(revOff + (<usize>v << 2), 4); e < end && m < scratchCap; e++) {
      const u = load<i32>(revIds + (<usize>e << 2));
      if (load<i32>(mark + (<usize>u << 2)) == stamp) continue;
      store<i32>(mark + (<usize>u << 2), stamp);
      store<i32>(ids + (<usize>m << 2), u);
      store<f32>(ds + (<usize>m << 2), load<f32>(revDs + (<usize>e << 2)));
      m++;
    }
    for (let t = 0; t < m; t++) store<i32>(mark + (<usize>load<i32>(ids + (<usize>t << 2)) << 2), 0);
    sortPairs(ds, ids, m);
    let n = m;
    const out = outIds + o;
    if (m <= degree) {
      memory.copy(out, ids, <usize>m << 2);
    } else {
      n = diversify(kind, d, ids, ds, m, pIds, pDs);
      memory.copy(out, pIds, <usize>n << 2);
    }
    store<i32>(outN + (<usize>v << 2), n);
  }
}

/**
 * The final lists of nodes lo … hi − 1: kept (forward) ∪ reverse edges (CSR at revOff/revIds/revDs,
 * the reverse lists cut to scratchCap − degree), nearest first, diversified again when more than
 * `degree`. Writes degree-strided ids to outIds and counts to outN. `mark`: one zero int32 per item;
 * `scratch`: 8·scratchCap + 8·degree bytes.
 */
export function buildMerge(d: usize, lo: i32, hi: i32, revOff: usize, revIds: usize, revDs: usize, outIds: usize, outN: usize, mark: usize, scratch: usize, scratchCap: i32): void {
  const kind = field(d, B_KIND);
  if (kind == ANGULAR) mergeReverse(ANGULAR, d, lo, hi, revOff, revIds, revDs, outIds, outN, mark, scratch, scratchCap);
  else if (kind == EUCLIDEAN) mergeReverse(EUCLIDEAN, d, lo, hi, revOff, revIds, revDs, outIds, outN, mark, scratch, scratchCap);
  else if (kind == MANHATTAN) mergeReverse(MANHATTAN, d, lo, hi, revOff, revIds, revDs, outIds, outN, mark, scratch, scratchCap);
  else if (kind == DOT) mergeReverse(DOT, d, lo, hi, revOff, revIds, revDs, outIds, outN, mark, scratch, scratchCap);
  else mergeReverse(HAMMING, d, lo, hi, revOff, revIds, revDs, outIds, outN, mark, scratch, scratchCap);
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
// candidate heap has room for candCap of them (when full, new candidates are not kept: the walk
// ends sooner, never outside its room). Returns the number of results, left in `res` sorted
// nearest first (by the float distance).
//
// The caller describes the search in a block of 32-bit fields at `d` (see W_* below).

const W_QUERY = 0, W_F = 1, W_N = 2, W_BASE = 3, W_STRIDE = 4, W_OFF = 5, W_AUX = 6, W_ITEMS = 7, W_K = 8,
  W_ROOTS = 9, W_NROOTS = 10, W_SEEDS = 11, W_OFFSETS = 12, W_NBRS = 13, W_EF = 14, W_BUDGET = 15, W_VISITED = 16,
  W_TRAIL = 17, W_TRAILCAP = 18, W_BATCH = 19, W_CAND = 20, W_CANDCAP = 21, W_RES = 22, W_ALLOWED = 23,
  W_CODES = 24, W_NPAD = 25, W_WEIGHTS = 26, W_A = 27, W_WSTEP = 28, W_EVALUATED = 29, W_TOUCH = 30,
  W_QAUX = 31, W_QAUX2 = 32;

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
  if (kind == ANGULAR) return dotSimd(rec + 12, q + 12, f) > 0 ? 1 : 0;
  if (kind == EUCLIDEAN || kind == MANHATTAN) return load<f32>(rec, 4) + dotSimd(rec + 16, q + 16, f) > 0 ? 1 : 0;
  if (kind == DOT) { const df = load<f32>(rec, 12); return dotSimd(rec + 16, q + 16, f) + df * df > 0 ? 1 : 0; }
  // hamming: the query's bit 63 − (b mod 64) of 64-bit word ⌊b/64⌋
  const b = load<u32>(rec, 16);
  return <i32>((load<u64>(q + 16 + (<usize>(b >> 6) << 3)) >> (63 - <u64>(b & 63))) & 1);
}

/** The walk's distance to item id: from its int8 code (quantized) or its float vector. */
// @ts-ignore: decorator
@inline function walkDistance(
  kind: i32, quantized: bool, vq: usize, id: i32, base: usize, stride: i32, off: i32, n: i32, aux: usize,
  codes: usize, nPad: i32, weights: usize, a: f32, wstep: f32, qq: f32, norms2: usize,
): f32 {
  if (quantized) {
    const ip = a + wstep * <f32>codeDot(weights, codes + <usize>id * <usize>nPad, nPad);
    // Angular codes are of the normalised vectors: −q·x̂ ranks like the angular distance.
    if (kind == EUCLIDEAN) return qq + load<f32>(norms2 + (<usize>id << 2)) - 2 * ip;
    return -ip;
  }
  return dist(kind, vq, vec(base, stride, off, id), n, 1, invOf(kind, aux, id));
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
  const codes = <usize>field(d, W_CODES), nPad = field(d, W_NPAD), weights = <usize>field(d, W_WEIGHTS);
  const qa = load<f32>(d, W_A << 2), wstep = load<f32>(d, W_WSTEP << 2), qq = load<f32>(d, W_QAUX << 2), norms2 = <usize>field(d, W_QAUX2);
  const cw: usize = kind == EUCLIDEAN || kind == MANHATTAN ? 8 : 4;
  const vq = q + <usize>off;
  // What one item's walk distance reads: its code, or its float vector.
  const touchBytes: usize = quantized ? <usize>nPad : kind == HAMMING ? <usize>n << 3 : <usize>n << 2;
  let nCand = 0, nRes = 0, nTrail = 0, evals = 0;
  let sink: u32 = 0;

  // Seeds: a leaf of each of the first nRoots trees.
  for (let r = 0; r < nRoots; r++) {
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
      const dd = walkDistance(kind, quantized, vq, id, base, stride, off, n, aux, codes, nPad, weights, qa, wstep, qq, norms2);
      evals++;
      // A full candidate heap (a walk far longer than its room was sized for) only stops growing.
      if (nCand < candCap) heapUp(cand, nCand++, dd, id, false);
      if (isAllowed(allowed, id)) {
        if (nRes < ef) heapUp(res, nRes++, dd, id, true);
        else if (dd < load<f32>(res)) heapDown(res, nRes, dd, id, true);
      }
    }
  }

  while (nCand > 0) {
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
      const dd = walkDistance(kind, quantized, vq, id, base, stride, off, n, aux, codes, nPad, weights, qa, wstep, qq, norms2);
      evals++;
      if (nRes < ef || dd < load<f32>(res)) {
        if (nCand < candCap) heapUp(cand, nCand++, dd, id, false);
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
