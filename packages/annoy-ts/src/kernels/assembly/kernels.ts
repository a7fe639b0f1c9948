// AssemblyScript: distance kernels over records in the index's WebAssembly memory.
// Pointers are byte offsets into that memory; `n` counts float32 components (hamming: 64-bit words).
//
// Two families:
// - `*Exact`: scalar float32, summed from component 0 upward — bit for bit what Annoy's scalar C++
//   build computes. The tree builder uses these, so seeded builds stay byte-identical to Annoy's.
// - the others: 128-bit SIMD with four independent accumulators (16 components per step); the
//   search uses these. They round differently (by a few ulps), like Annoy's own AVX builds.
//
// Record field offsets come from record-fields.ts, which tools/build-wasm.mjs generates from the
// metrics' tables (src/metrics/record-fields.ts): the kernels read fields where the metrics write them.

import {
  ANGULAR_CHILDREN, ANGULAR_NORM, ANGULAR_VECTOR, DOT_CHILDREN, DOT_DOT_FACTOR, DOT_VECTOR, HAMMING_CHILDREN, HAMMING_VECTOR,
  MINKOWSKI_A, MINKOWSKI_CHILDREN, MINKOWSKI_VECTOR,
} from './record-fields';
import { dotSimd, euclideanSimd, hammingBits, hsum, manhattanSimd } from './simd';

/** Bytes from an angular record's stored ‖v‖² to its vector (the kernels below get vector pointers). */
// @ts-ignore: decorator
@inline const NORM_BEFORE_VECTOR: usize = ANGULAR_VECTOR - ANGULAR_NORM;

// ---------------------------------------------------------------- exact (scalar)

export function dotExact(a: usize, b: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

export function euclideanExact(a: usize, b: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const t = load<f32>(a + o) - load<f32>(b + o);
    s += t * t;
  }
  return s;
}

export function manhattanExact(a: usize, b: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    s += Mathf.abs(load<f32>(a + o) - load<f32>(b + o));
  }
  return s;
}

// ---------------------------------------------------------------- SIMD

// The search's distances: the SIMD sums of simd.ts (the graph ranks with the same ones).

export function dot(a: usize, b: usize, n: i32): f32 {
  return dotSimd(a, b, n);
}

export function euclidean(a: usize, b: usize, n: i32): f32 {
  return euclideanSimd(a, b, n);
}

export function manhattan(a: usize, b: usize, n: i32): f32 {
  return manhattanSimd(a, b, n);
}

/** Differing bits between two runs of `n` 64-bit words. */
export function hamming(a: usize, b: usize, n: i32): u32 {
  return <u32>hammingBits(a, b, n);
}

// ---------------------------------------------------------------- batches
//
// One call for many records saves a JS→WebAssembly crossing per record. Records are found at
// base + ids[j] * stride (+ `off` bytes to the vector); results go to out[j] (float32).

/** out[j] = exact dot(a, record j's vector): eight independent scalar chains at a time, each summed in order. */
/**
 * Adds x·a over dims i..i+3 to each lane of `s`, for the four vectors at r0..r3 (lane k: r_k):
 * a 4×4 transpose turns four rows into four columns, so every lane still sums its own item's
 * products in dimension order, exactly like the scalar chain.
 */
// @ts-ignore: decorator
@inline function columnStep(s: v128, r0: usize, r1: usize, r2: usize, r3: usize, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const v0 = v128.load(r0), v1 = v128.load(r1), v2 = v128.load(r2), v3 = v128.load(r3);
  const t0 = f32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = f32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const t2 = f32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = f32x4.shuffle(v2, v3, 2, 6, 3, 7);
  s = f32x4.add(s, f32x4.mul(f32x4.shuffle(t0, t1, 0, 1, 4, 5), a0));
  s = f32x4.add(s, f32x4.mul(f32x4.shuffle(t0, t1, 2, 3, 6, 7), a1));
  s = f32x4.add(s, f32x4.mul(f32x4.shuffle(t2, t3, 0, 1, 4, 5), a2));
  return f32x4.add(s, f32x4.mul(f32x4.shuffle(t2, t3, 2, 3, 6, 7), a3));
}

/** The leftover dimension i (n not a multiple of 4) of columnStep: one product per lane. */
// @ts-ignore: decorator
@inline function columnTail(s: v128, r0: usize, r1: usize, r2: usize, r3: usize, a: v128): v128 {
  let c = f32x4.splat(load<f32>(r0));
  c = f32x4.replace_lane(c, 1, load<f32>(r1));
  c = f32x4.replace_lane(c, 2, load<f32>(r2));
  c = f32x4.replace_lane(c, 3, load<f32>(r3));
  return f32x4.add(s, f32x4.mul(c, a));
}

// @ts-ignore: decorator
@inline function rec(base: usize, stride: i32, off: i32, ids: usize, j: i32): usize {
  return base + <usize>(load<i32>(ids + (<usize>j << 2)) * stride + off);
}

export function dotExactMany(a: usize, base: usize, stride: i32, off: i32, ids: usize, count: i32, out: usize, n: i32): void {
  let j = 0;
  const n4 = n & ~3;
  // 16 items at a time, as four groups of four SIMD lanes (four independent chains per lane).
  for (; j + 16 <= count; j += 16) {
    const x0 = rec(base, stride, off, ids, j), x1 = rec(base, stride, off, ids, j + 1), x2 = rec(base, stride, off, ids, j + 2), x3 = rec(base, stride, off, ids, j + 3);
    const y0 = rec(base, stride, off, ids, j + 4), y1 = rec(base, stride, off, ids, j + 5), y2 = rec(base, stride, off, ids, j + 6), y3 = rec(base, stride, off, ids, j + 7);
    const z0 = rec(base, stride, off, ids, j + 8), z1 = rec(base, stride, off, ids, j + 9), z2 = rec(base, stride, off, ids, j + 10), z3 = rec(base, stride, off, ids, j + 11);
    const w0 = rec(base, stride, off, ids, j + 12), w1 = rec(base, stride, off, ids, j + 13), w2 = rec(base, stride, off, ids, j + 14), w3 = rec(base, stride, off, ids, j + 15);
    let sx = f32x4.splat(0), sy = f32x4.splat(0), sz = f32x4.splat(0), sw = f32x4.splat(0);
    let i = 0;
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const a0 = v128.load32_splat(a + o), a1 = v128.load32_splat(a + o + 4), a2 = v128.load32_splat(a + o + 8), a3 = v128.load32_splat(a + o + 12);
      sx = columnStep(sx, x0 + o, x1 + o, x2 + o, x3 + o, a0, a1, a2, a3);
      sy = columnStep(sy, y0 + o, y1 + o, y2 + o, y3 + o, a0, a1, a2, a3);
      sz = columnStep(sz, z0 + o, z1 + o, z2 + o, z3 + o, a0, a1, a2, a3);
      sw = columnStep(sw, w0 + o, w1 + o, w2 + o, w3 + o, a0, a1, a2, a3);
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const ai = v128.load32_splat(a + o);
      sx = columnTail(sx, x0 + o, x1 + o, x2 + o, x3 + o, ai);
      sy = columnTail(sy, y0 + o, y1 + o, y2 + o, y3 + o, ai);
      sz = columnTail(sz, z0 + o, z1 + o, z2 + o, z3 + o, ai);
      sw = columnTail(sw, w0 + o, w1 + o, w2 + o, w3 + o, ai);
    }
    const p = out + (<usize>j << 2);
    v128.store(p, sx);
    v128.store(p, sy, 16);
    v128.store(p, sz, 32);
    v128.store(p, sw, 48);
  }
  for (; j + 8 <= count; j += 8) {
    const p = <usize>j << 2;
    const x0 = base + <usize>(load<i32>(ids + p) * stride + off);
    const x1 = base + <usize>(load<i32>(ids + p, 4) * stride + off);
    const x2 = base + <usize>(load<i32>(ids + p, 8) * stride + off);
    const x3 = base + <usize>(load<i32>(ids + p, 12) * stride + off);
    const x4 = base + <usize>(load<i32>(ids + p, 16) * stride + off);
    const x5 = base + <usize>(load<i32>(ids + p, 20) * stride + off);
    const x6 = base + <usize>(load<i32>(ids + p, 24) * stride + off);
    const x7 = base + <usize>(load<i32>(ids + p, 28) * stride + off);
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(a + o);
      s0 += v * load<f32>(x0 + o);
      s1 += v * load<f32>(x1 + o);
      s2 += v * load<f32>(x2 + o);
      s3 += v * load<f32>(x3 + o);
      s4 += v * load<f32>(x4 + o);
      s5 += v * load<f32>(x5 + o);
      s6 += v * load<f32>(x6 + o);
      s7 += v * load<f32>(x7 + o);
    }
    store<f32>(out + p, s0);
    store<f32>(out + p, s1, 4);
    store<f32>(out + p, s2, 8);
    store<f32>(out + p, s3, 12);
    store<f32>(out + p, s4, 16);
    store<f32>(out + p, s5, 20);
    store<f32>(out + p, s6, 24);
    store<f32>(out + p, s7, 28);
  }
  for (; j < count; j++) {
    const p = <usize>j << 2;
    store<f32>(out + p, dotExact(a, base + <usize>(load<i32>(ids + p) * stride + off), n));
  }
}

// Two-means needs the same item's distance to both centroids: two exact chains side by side.
// kind 0: dot products (angular, dot), 1: squared euclidean, 2: manhattan; results in out[0], out[1].
// @ts-ignore: decorator
@inline function exactPair(kind: i32, a: usize, b: usize, x: usize, n: i32, out: usize): void {
  let s0: f32 = 0, s1: f32 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    if (kind == 0) {
      s0 += load<f32>(a + o) * v;
      s1 += load<f32>(b + o) * v;
    } else if (kind == 1) {
      const t0 = load<f32>(a + o) - v, t1 = load<f32>(b + o) - v;
      s0 += t0 * t0;
      s1 += t1 * t1;
    } else {
      s0 += Mathf.abs(load<f32>(a + o) - v);
      s1 += Mathf.abs(load<f32>(b + o) - v);
    }
  }
  store<f32>(out, s0);
  store<f32>(out, s1, 4);
}

/** Annoy's two-means centroid update, element-wise (so SIMD lanes round exactly like scalar code): p = (p·c + x/norm) / (c + 1). */
export function centroidUpdate(p: usize, x: usize, n: i32, c: f32, norm: f32): void {
  const vc = f32x4.splat(c), vn = f32x4.splat(norm), vc1 = f32x4.splat(c + 1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(p + o, f32x4.div(f32x4.add(f32x4.mul(v128.load(p + o), vc), f32x4.div(v128.load(x + o), vn)), vc1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(p + o, (load<f32>(p + o) * c + load<f32>(x + o) / norm) / (c + 1));
  }
}

/** 2 − 2·cos from squared norms and the dot product, rounded as Annoy's angular distance rounds it. */
// @ts-ignore: decorator
@inline function angularFromDot(pp: f32, qq: f32, pq: f32): f32 {
  const ppqq = <f32>(<f64>pp * <f64>qq);
  return ppqq > 0 ? <f32>(2.0 - (2.0 * <f64>pq) / <f64><f32>Math.sqrt(<f64>ppqq)) : 2;
}

/** An angular record's cached squared norm (stored before its vector), recomputed when absent (0 or NaN). */
// @ts-ignore: decorator
@inline function cachedNorm(v: usize, n: i32): f32 {
  const s = load<f32>(v - NORM_BEFORE_VECTOR);
  return s != 0 && s == s ? s : dotExact(v, v, n);
}

/**
 * Annoy's two-means refinement: `count` single-item updates of the centroids whose vectors start
 * at p and q, with the items (records at base + id·stride, vectors at +off) drawn beforehand into
 * `ids` — the draws never depend on the distances. Rounds exactly as Annoy's loop does.
 * kind 0 angular (cached norms kept up to date), 1 euclidean, 2 manhattan, 3 dot; `out` is scratch.
 */
export function twoMeansRefine(kind: i32, p: usize, q: usize, base: usize, stride: i32, off: i32, ids: usize, count: i32, n: i32, out: usize): void {
  let ic: f64 = 1, jc: f64 = 1;
  // Angular: the centroid just moved (if any) has a stale cached norm. Its exact sum is computed
  // together with the next item's two dot products, as a third chain: same sums, one pass.
  let stale: usize = 0;
  for (let l = 0; l < count; l++) {
    const x = base + <usize>(load<i32>(ids + (<usize>l << 2)) * stride + off);
    let d0: f32, d1: f32, norm: f32 = 1;
    if (kind == 1 || kind == 2) {
      if (kind == 1) exactPair(1, p, q, x, n, out);
      else exactPair(2, p, q, x, n, out);
      d0 = load<f32>(out);
      d1 = load<f32>(out, 4);
    } else {
      if (stale != 0) {
        dotsWithNorm(p, q, x, stale, n, out);
        store<f32>(stale - NORM_BEFORE_VECTOR, load<f32>(out, 8));
        stale = 0;
      } else {
        exactPair(0, p, q, x, n, out);
      }
      const pq0 = load<f32>(out), pq1 = load<f32>(out, 4);
      if (kind == 0) {
        const xx = cachedNorm(x, n);
        d0 = angularFromDot(cachedNorm(p, n), xx, pq0);
        d1 = angularFromDot(cachedNorm(q, n), xx, pq1);
        norm = <f32>Math.sqrt(<f64>xx);
      } else {
        d0 = -pq0;
        d1 = -pq1;
        norm = <f32>Math.sqrt(<f64>dotExact(x, x, n));
      }
    }
    const di = <f32>(ic * <f64>d0), dj = <f32>(jc * <f64>d1);
    if (!(norm > 0)) continue;
    if (di < dj) {
      centroidUpdate(p, x, n, <f32>ic, norm);
      if (kind == 0) stale = p;
      ic++;
    } else if (dj < di) {
      centroidUpdate(q, x, n, <f32>jc, norm);
      if (kind == 0) stale = q;
      jc++;
    }
  }
  if (stale != 0) store<f32>(stale - NORM_BEFORE_VECTOR, dotExact(stale, stale, n));
}

/** out[0] = p·x, out[1] = q·x, out[2] = c·c, each summed exactly as dotExact sums it. */
function dotsWithNorm(p: usize, q: usize, x: usize, c: usize, n: i32, out: usize): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), w = load<f32>(c + o);
    s0 += load<f32>(p + o) * v;
    s1 += load<f32>(q + o) * v;
    s2 += w * w;
  }
  store<f32>(out, s0);
  store<f32>(out, s1, 4);
  store<f32>(out, s2, 8);
}

/** Search distances for candidate records: kind 0 angular, 1 euclidean, 2 manhattan, 3 dot, 4 hamming (n = 64-bit words). */
export function distancesMany(kind: i32, q: usize, base: usize, stride: i32, off: i32, ids: usize, count: i32, out: usize, n: i32): void {
  let qq: f32 = 0;
  if (kind == 0) qq = load<f32>(q - NORM_BEFORE_VECTOR); // the query record's stored squared norm
  for (let j = 0; j < count; j++) {
    const p = <usize>j << 2;
    const x = base + <usize>(load<i32>(ids + p) * stride + off);
    let d: f32;
    if (kind == 0) {
      let pp = load<f32>(x - NORM_BEFORE_VECTOR);
      if (pp == 0) pp = dotExact(x, x, n);
      const ppqq = pp * qq;
      d = ppqq > 0 ? <f32>(2.0 - 2.0 * <f64>dot(q, x, n) / <f64>Mathf.sqrt(ppqq)) : 2.0;
    } else if (kind == 1) d = euclidean(q, x, n);
    else if (kind == 2) d = manhattan(q, x, n);
    else if (kind == 3) d = -dot(q, x, n);
    else d = <f32>hamming(q, x, n);
    store<f32>(out + p, d);
  }
}

// ---------------------------------------------------------------- the search
//
// Annoy's query, whole, in one call: the best-first walk over all trees (a max-heap of
// (priority, record) pairs, higher priority first, then the higher record id), the collection of
// distinct leaf items until `limit` candidates (duplicates counted) are in hand, and the distance
// of each distinct candidate. The metric enters as a constant `kind`: each exported entry point
// inlines the walk for one metric, so the metric's margin, priority rule and distance are resolved
// at compile time — Annoy's policy templates, in AssemblyScript.
//
// Workspace (byte offsets, prepared by the caller): roots[nRoots] i32; seen[nItems] u32 (an item
// is seen when seen[i] == stamp); cand[nItems] i32 and dist[nItems] f32 receive the candidates;
// the queue holds queueCap 8-byte entries (f32 priority, i32 record). Returns the number of
// candidates, or -1 when the queue was too small (the caller retries with a larger one).

const ANGULAR = 0, EUCLIDEAN = 1, MANHATTAN = 2, DOT = 3, HAMMING = 4;

let queueCap: i32 = 0;

// @ts-ignore: decorator
@inline function before(pa: f32, ia: i32, pb: f32, ib: i32): bool {
  return pa > pb || (pa == pb && ia > ib);
}

// @ts-ignore: decorator
@inline function qPush(queue: usize, size: i32, prio: f32, id: i32): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pe = queue + (<usize>parent << 3);
    const pp = load<f32>(pe), pi = load<i32>(pe, 4);
    if (!before(prio, id, pp, pi)) break;
    const e = queue + (<usize>i << 3);
    store<f32>(e, pp);
    store<i32>(e, pi, 4);
    i = parent;
  }
  const e = queue + (<usize>i << 3);
  store<f32>(e, prio);
  store<i32>(e, id, 4);
}

// @ts-ignore: decorator
@inline function qPopInto(queue: usize, n: i32): void {
  // Moves the last entry (index n, already excluded from the heap) down from the root.
  const last = queue + (<usize>n << 3);
  heapReplaceTop(queue, n, load<f32>(last), load<i32>(last, 4));
}

// @ts-ignore: decorator
@inline function margin(kind: i32, node: usize, q: usize, n: i32): f32 {
  if (kind == ANGULAR) return dot(node + ANGULAR_VECTOR, q + ANGULAR_VECTOR, n);
  if (kind == EUCLIDEAN || kind == MANHATTAN) return load<f32>(node, MINKOWSKI_A) + dot(node + MINKOWSKI_VECTOR, q + MINKOWSKI_VECTOR, n);
  if (kind == DOT) { const df = load<f32>(node, DOT_DOT_FACTOR); return dot(node + DOT_VECTOR, q + DOT_VECTOR, n) + df * df; }
  // hamming: the query's value of the bit the split tests (v[0]), bit 63 − (b mod 64) of word ⌊b/64⌋
  const b = load<u32>(node, HAMMING_VECTOR);
  return <f32>((load<u64>(q + HAMMING_VECTOR + (<usize>(b >> 6) << 3)) >> (63 - <u64>(b & 63))) & 1);
}

// @ts-ignore: decorator
@inline function distance(kind: i32, q: usize, x: usize, n: i32): f32 {
  if (kind == ANGULAR) {
    let pp = load<f32>(x, ANGULAR_NORM);
    if (pp == 0) pp = dotExact(x + ANGULAR_VECTOR, x + ANGULAR_VECTOR, n);
    const ppqq = pp * load<f32>(q, ANGULAR_NORM);
    return ppqq > 0 ? <f32>(2.0 - 2.0 * <f64>dot(q + ANGULAR_VECTOR, x + ANGULAR_VECTOR, n) / <f64>Mathf.sqrt(ppqq)) : 2.0;
  }
  if (kind == EUCLIDEAN) return euclidean(q + MINKOWSKI_VECTOR, x + MINKOWSKI_VECTOR, n);
  if (kind == MANHATTAN) return manhattan(q + MINKOWSKI_VECTOR, x + MINKOWSKI_VECTOR, n);
  if (kind == DOT) return -dot(q + DOT_VECTOR, x + DOT_VECTOR, n);
  return <f32>hamming(q + HAMMING_VECTOR, x + HAMMING_VECTOR, n);
}

// @ts-ignore: decorator
@inline function walk(
  kind: i32, q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32,
  roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize,
): i32 {
  const cw: usize = kind == EUCLIDEAN || kind == MANHATTAN ? MINKOWSKI_CHILDREN : kind == DOT ? DOT_CHILDREN : kind == HAMMING ? HAMMING_CHILDREN : ANGULAR_CHILDREN;
  const initial: f32 = kind == HAMMING ? 0 : Infinity;
  if (nRoots + 2 > queueCap) return -1;
  let size = 0;
  for (let r = 0; r < nRoots; r++) qPush(queue, size++, initial, load<i32>(roots + (<usize>r << 2)));
  let collected: f64 = 0;
  let found = 0;
  while (collected < limit && size > 0) {
    const d = load<f32>(queue), node = load<i32>(queue, 4);
    size--;
    if (size > 0) qPopInto(queue, size);
    const rec = base + <usize>node * <usize>stride;
    const nd = load<i32>(rec);
    if (nd == 1 && node < nItems) {
      const s = seen + (<usize>node << 2);
      if (load<u32>(s) != stamp) {
        store<u32>(s, stamp);
        store<i32>(cand + (<usize>found << 2), node);
        found++;
      }
      collected += 1;
    } else if (nd <= K) {
      for (let j = 0; j < nd; j++) {
        const item = load<i32>(rec + cw + (<usize>j << 2));
        const s = seen + (<usize>item << 2);
        if (load<u32>(s) == stamp) continue;
        store<u32>(s, stamp);
        // Holes (n_descendants 0) reach here through a root leaf's zero padding: skip them.
        if (load<i32>(base + <usize>item * <usize>stride) != 1) continue;
        store<i32>(cand + (<usize>found << 2), item);
        found++;
      }
      collected += <f64>nd;
    } else {
      // The caller sized the queue; if it is too small, give up and let it retry with a larger one.
      if (size + 2 > queueCap) return -1;
      const m = margin(kind, rec, q, n);
      const c0 = load<i32>(rec + cw), c1 = load<i32>(rec + cw, 4);
      if (kind == HAMMING) {
        qPush(queue, size++, m == 1 ? d : d - 1, c1);
        qPush(queue, size++, m == 0 ? d : d - 1, c0);
      } else {
        qPush(queue, size++, Mathf.min(d, m), c1);
        qPush(queue, size++, Mathf.min(d, -m), c0);
      }
    }
  }
  for (let j = 0; j < found; j++) {
    const item = load<i32>(cand + (<usize>j << 2));
    store<f32>(dist + (<usize>j << 2), distance(kind, q, base + <usize>item * <usize>stride, n));
  }
  return found;
}

/** Sets the queue's capacity (entries) before a search. */
export function setQueueCapacity(entries: i32): void { queueCap = entries; }

export function searchAngular(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize): i32 {
  return walk(ANGULAR, q, n, base, stride, nItems, K, roots, nRoots, limit, seen, stamp, cand, dist, queue);
}
export function searchEuclidean(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize): i32 {
  return walk(EUCLIDEAN, q, n, base, stride, nItems, K, roots, nRoots, limit, seen, stamp, cand, dist, queue);
}
export function searchManhattan(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize): i32 {
  return walk(MANHATTAN, q, n, base, stride, nItems, K, roots, nRoots, limit, seen, stamp, cand, dist, queue);
}
export function searchDot(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize): i32 {
  return walk(DOT, q, n, base, stride, nItems, K, roots, nRoots, limit, seen, stamp, cand, dist, queue);
}
export function searchHamming(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize): i32 {
  return walk(HAMMING, q, n, base, stride, nItems, K, roots, nRoots, limit, seen, stamp, cand, dist, queue);
}

// ---------------------------------------------------------------- filtered search
//
// The walk above, restricted to the items allowed by the bitset at `allowed` (bit i & 31 of the
// u32 word at allowed + 4·(i >> 5): item i; the allowed-set bitset of search/filter.ts copied into
// this memory, or all ones): a leaf item counts toward `limit` only when it is allowed, and only
// allowed items become candidates — disallowed ones cost a bit test, not a distance. The walk also
// stops once `budget` leaf items (allowed or not, duplicates counted) were met, and it can be
// resumed: resume = 1 continues from the queue, counters and candidates that the previous call on
// the same workspace left (a radius search widens its walk round by round; a predicate filter is
// asked in JavaScript about each round's candidates). Returns the number of distinct allowed
// candidates in cand[0 … found); this call computed dist[j] for the ones it added, unless dist = 0.
// -1: the queue was too small (the caller starts again with room).

/** The state a resumed walk continues from (one walk per instance: one per thread). */
let fSize: i32 = 0;
let fFound: i32 = 0;
let fCollected: f64 = 0;
let fVisited: f64 = 0;

/** Allowed leaf items the current filtered walk has met (duplicates counted). */
export function filteredCollected(): f64 { return fCollected; }
/** Leaf items the current filtered walk has met (allowed or not, duplicates counted). */
export function filteredVisited(): f64 { return fVisited; }
/** Entries left in its queue (0: every tree was walked to the end). */
export function filteredQueueSize(): i32 { return fSize; }

// @ts-ignore: decorator
@inline function inBitset(allowed: usize, item: i32): bool {
  return ((load<u32>(allowed + (<usize>(item >>> 5) << 2)) >>> (<u32>item & 31)) & 1) != 0;
}

// @ts-ignore: decorator
@inline function walkFiltered(
  kind: i32, q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32,
  limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32,
): i32 {
  const cw: usize = kind == ANGULAR ? ANGULAR_CHILDREN : kind == EUCLIDEAN || kind == MANHATTAN ? MINKOWSKI_CHILDREN : kind == DOT ? DOT_CHILDREN : HAMMING_CHILDREN;
  const initial: f32 = kind == HAMMING ? 0 : Infinity;
  let size: i32 = 0, found: i32 = 0;
  let collected: f64 = 0, visited: f64 = 0;
  if (resume != 0) {
    size = fSize; found = fFound; collected = fCollected; visited = fVisited;
  } else {
    if (nRoots + 2 > queueCap) return -1;
    for (let r = 0; r < nRoots; r++) qPush(queue, size++, initial, load<i32>(roots + (<usize>r << 2)));
  }
  const from = found;
  while (collected < limit && visited < budget && size > 0) {
    const d = load<f32>(queue), node = load<i32>(queue, 4);
    size--;
    if (size > 0) qPopInto(queue, size);
    const rec = base + <usize>node * <usize>stride;
    const nd = load<i32>(rec);
    if (nd <= K) {
      // An item reached as its own root (nd = 1), or a leaf of nd item ids.
      const single = nd == 1 && node < nItems;
      const count = single ? 1 : nd;
      visited += <f64>count;
      for (let j = 0; j < count; j++) {
        const item = single ? node : load<i32>(rec + cw + (<usize>j << 2));
        if (!inBitset(allowed, item)) continue;
        collected += 1;
        const s = seen + (<usize>item << 2);
        if (load<u32>(s) == stamp) continue;
        store<u32>(s, stamp);
        // Holes (n_descendants 0) reach here through a root leaf's zero padding: skip them.
        if (!single && load<i32>(base + <usize>item * <usize>stride) != 1) continue;
        store<i32>(cand + (<usize>found << 2), item);
        found++;
      }
    } else {
      if (size + 2 > queueCap) return -1;
      const m = margin(kind, rec, q, n);
      const c0 = load<i32>(rec + cw), c1 = load<i32>(rec + cw, 4);
      if (kind == HAMMING) {
        qPush(queue, size++, m == 1 ? d : d - 1, c1);
        qPush(queue, size++, m == 0 ? d : d - 1, c0);
      } else {
        qPush(queue, size++, Mathf.min(d, m), c1);
        qPush(queue, size++, Mathf.min(d, -m), c0);
      }
    }
  }
  fSize = size; fFound = found; fCollected = collected; fVisited = visited;
  if (dist != 0) {
    for (let j = from; j < found; j++) {
      const item = load<i32>(cand + (<usize>j << 2));
      store<f32>(dist + (<usize>j << 2), distance(kind, q, base + <usize>item * <usize>stride, n));
    }
  }
  return found;
}

export function filteredAngular(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32): i32 {
  return walkFiltered(ANGULAR, q, n, base, stride, nItems, K, roots, nRoots, limit, budget, seen, stamp, cand, dist, queue, allowed, resume);
}
export function filteredEuclidean(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32): i32 {
  return walkFiltered(EUCLIDEAN, q, n, base, stride, nItems, K, roots, nRoots, limit, budget, seen, stamp, cand, dist, queue, allowed, resume);
}
export function filteredManhattan(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32): i32 {
  return walkFiltered(MANHATTAN, q, n, base, stride, nItems, K, roots, nRoots, limit, budget, seen, stamp, cand, dist, queue, allowed, resume);
}
export function filteredDot(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32): i32 {
  return walkFiltered(DOT, q, n, base, stride, nItems, K, roots, nRoots, limit, budget, seen, stamp, cand, dist, queue, allowed, resume);
}
export function filteredHamming(q: usize, n: i32, base: usize, stride: i32, nItems: i32, K: i32, roots: usize, nRoots: i32, limit: f64, budget: f64, seen: usize, stamp: u32, cand: usize, dist: usize, queue: usize, allowed: usize, resume: i32): i32 {
  return walkFiltered(HAMMING, q, n, base, stride, nItems, K, roots, nRoots, limit, budget, seen, stamp, cand, dist, queue, allowed, resume);
}

// ---------------------------------------------------------------- the exact scan of a filtered search
//
// When few items are allowed, computing the distance of every allowed item beats any walk. The
// allowed set is the bitset at `allowed` (as above; all ones when only a radius restricts the
// search). Holes are skipped; distances above `keep` are dropped. With k > 0 the k nearest are
// kept in a max-heap at `heap` (k entries: f32 distance, i32 id; the worst on top); with k = 0
// every kept item goes to cand/dist. Returns how many were kept.

// @ts-ignore: decorator
@inline function heapReplaceTop(heap: usize, size: i32, d: f32, id: i32): void {
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= size) break;
    let ce = heap + (<usize>c << 3);
    if (c + 1 < size) {
      const re = ce + 8;
      if (before(load<f32>(re), load<i32>(re, 4), load<f32>(ce), load<i32>(ce, 4))) { c++; ce = re; }
    }
    const cd = load<f32>(ce), ci = load<i32>(ce, 4);
    if (!before(cd, ci, d, id)) break;
    const e = heap + (<usize>i << 3);
    store<f32>(e, cd);
    store<i32>(e, ci, 4);
    i = c;
  }
  const e = heap + (<usize>i << 3);
  store<f32>(e, d);
  store<i32>(e, id, 4);
}

/** The four distances distance4 computes (globals: an inlined function cannot return four values). */
let d4a: f32 = 0, d4b: f32 = 0, d4c: f32 = 0, d4d: f32 = 0;

/**
 * distance() for the four records at x0 … x3 at once: four independent sums, so four records are
 * read from memory at the same time (an allowed set's records lie scattered: reading them one
 * after the other waits on memory for each). Rounds like distance() up to a few ulps.
 */
// @ts-ignore: decorator
@inline function distance4(kind: i32, q: usize, x0: usize, x1: usize, x2: usize, x3: usize, n: i32): void {
  if (kind == HAMMING) {
    d4a = distance(kind, q, x0, n); d4b = distance(kind, q, x1, n); d4c = distance(kind, q, x2, n); d4d = distance(kind, q, x3, n);
    return;
  }
  const off: usize = kind == ANGULAR ? ANGULAR_VECTOR : kind == DOT ? DOT_VECTOR : MINKOWSKI_VECTOR;
  const qv = q + off, p0 = x0 + off, p1 = x1 + off, p2 = x2 + off, p3 = x3 + off;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(qv + o);
    if (kind == ANGULAR || kind == DOT) {
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(p0 + o)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(p1 + o)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(p2 + o)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(p3 + o)));
    } else if (kind == EUCLIDEAN) {
      const e0 = f32x4.sub(v, v128.load(p0 + o)), e1 = f32x4.sub(v, v128.load(p1 + o));
      const e2 = f32x4.sub(v, v128.load(p2 + o)), e3 = f32x4.sub(v, v128.load(p3 + o));
      a0 = f32x4.add(a0, f32x4.mul(e0, e0));
      a1 = f32x4.add(a1, f32x4.mul(e1, e1));
      a2 = f32x4.add(a2, f32x4.mul(e2, e2));
      a3 = f32x4.add(a3, f32x4.mul(e3, e3));
    } else {
      a0 = f32x4.add(a0, f32x4.abs(f32x4.sub(v, v128.load(p0 + o))));
      a1 = f32x4.add(a1, f32x4.abs(f32x4.sub(v, v128.load(p1 + o))));
      a2 = f32x4.add(a2, f32x4.abs(f32x4.sub(v, v128.load(p2 + o))));
      a3 = f32x4.add(a3, f32x4.abs(f32x4.sub(v, v128.load(p3 + o))));
    }
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(qv + o);
    if (kind == ANGULAR || kind == DOT) {
      s0 += v * load<f32>(p0 + o); s1 += v * load<f32>(p1 + o); s2 += v * load<f32>(p2 + o); s3 += v * load<f32>(p3 + o);
    } else if (kind == EUCLIDEAN) {
      const e0 = v - load<f32>(p0 + o), e1 = v - load<f32>(p1 + o), e2 = v - load<f32>(p2 + o), e3 = v - load<f32>(p3 + o);
      s0 += e0 * e0; s1 += e1 * e1; s2 += e2 * e2; s3 += e3 * e3;
    } else {
      s0 += Mathf.abs(v - load<f32>(p0 + o)); s1 += Mathf.abs(v - load<f32>(p1 + o));
      s2 += Mathf.abs(v - load<f32>(p2 + o)); s3 += Mathf.abs(v - load<f32>(p3 + o));
    }
  }
  if (kind == ANGULAR) {
    const qq = load<f32>(q, ANGULAR_NORM);
    d4a = angularFromSums(x0, qq, s0, n); d4b = angularFromSums(x1, qq, s1, n); d4c = angularFromSums(x2, qq, s2, n); d4d = angularFromSums(x3, qq, s3, n);
  } else if (kind == DOT) {
    d4a = -s0; d4b = -s1; d4c = -s2; d4d = -s3;
  } else {
    d4a = s0; d4b = s1; d4c = s2; d4d = s3;
  }
}

/** The search's angular distance of record x from the query's squared norm qq and their dot product pq (as distance() computes it). */
// @ts-ignore: decorator
@inline function angularFromSums(x: usize, qq: f32, pq: f32, n: i32): f32 {
  let pp = load<f32>(x, ANGULAR_NORM);
  if (pp == 0) pp = dotExact(x + ANGULAR_VECTOR, x + ANGULAR_VECTOR, n);
  const ppqq = pp * qq;
  return ppqq > 0 ? <f32>(2.0 - 2.0 * <f64>pq / <f64>Mathf.sqrt(ppqq)) : 2.0;
}

/** Keeps item (d, id) if it is within `keep`: the k nearest in the heap (k > 0), or every one in cand/dist. Returns the new count. */
function keepItem(d: f32, item: i32, keep: f32, k: i32, kept: i32, heap: usize, cand: usize, dist: usize): i32 {
  if (!(d <= keep)) return kept;
  if (k == 0) {
    store<i32>(cand + (<usize>kept << 2), item);
    store<f32>(dist + (<usize>kept << 2), d);
    return kept + 1;
  }
  if (kept < k) {
    // The same ordering as the search queue: the heap's top is its worst entry (larger distance, then larger id).
    qPush(heap, kept, d, item);
    return kept + 1;
  }
  // Items come in increasing id order: an equal distance never beats the top.
  if (d < load<f32>(heap)) heapReplaceTop(heap, k, d, item);
  return kept;
}

// @ts-ignore: decorator
@inline function scanAllowed(
  kind: i32, q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize,
): i32 {
  let kept = 0;
  // Up to four allowed items wait here, to be measured together.
  let i0 = 0, i1 = 0, i2 = 0, waiting = 0;
  const words = (nItems + 31) >>> 5;
  for (let w = 0; w < words; w++) {
    let word = load<u32>(allowed + (<usize>w << 2));
    while (word != 0) {
      const item = (w << 5) | <i32>ctz(word);
      word &= word - 1;
      if (item >= nItems) break;
      const rec = base + <usize>item * <usize>stride;
      if (load<i32>(rec) != 1) continue;
      if (waiting < 3) {
        if (waiting == 0) i0 = item;
        else if (waiting == 1) i1 = item;
        else i2 = item;
        waiting++;
        continue;
      }
      distance4(kind, q, base + <usize>i0 * <usize>stride, base + <usize>i1 * <usize>stride, base + <usize>i2 * <usize>stride, rec, n);
      kept = keepItem(d4a, i0, keep, k, kept, heap, cand, dist);
      kept = keepItem(d4b, i1, keep, k, kept, heap, cand, dist);
      kept = keepItem(d4c, i2, keep, k, kept, heap, cand, dist);
      kept = keepItem(d4d, item, keep, k, kept, heap, cand, dist);
      waiting = 0;
    }
  }
  if (waiting > 0) kept = keepItem(distance(kind, q, base + <usize>i0 * <usize>stride, n), i0, keep, k, kept, heap, cand, dist);
  if (waiting > 1) kept = keepItem(distance(kind, q, base + <usize>i1 * <usize>stride, n), i1, keep, k, kept, heap, cand, dist);
  if (waiting > 2) kept = keepItem(distance(kind, q, base + <usize>i2 * <usize>stride, n), i2, keep, k, kept, heap, cand, dist);
  return kept;
}

export function scanAngular(q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize): i32 {
  return scanAllowed(ANGULAR, q, n, base, stride, nItems, allowed, keep, k, heap, cand, dist);
}
export function scanEuclidean(q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize): i32 {
  return scanAllowed(EUCLIDEAN, q, n, base, stride, nItems, allowed, keep, k, heap, cand, dist);
}
export function scanManhattan(q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize): i32 {
  return scanAllowed(MANHATTAN, q, n, base, stride, nItems, allowed, keep, k, heap, cand, dist);
}
export function scanDot(q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize): i32 {
  return scanAllowed(DOT, q, n, base, stride, nItems, allowed, keep, k, heap, cand, dist);
}
export function scanHamming(q: usize, n: i32, base: usize, stride: i32, nItems: i32, allowed: usize, keep: f32, k: i32, heap: usize, cand: usize, dist: usize): i32 {
  return scanAllowed(HAMMING, q, n, base, stride, nItems, allowed, keep, k, heap, cand, dist);
}
