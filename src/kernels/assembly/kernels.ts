// AssemblyScript: distance kernels over records in the index's WebAssembly memory.
// Pointers are byte offsets into that memory; `n` counts float32 components (hamming: 64-bit words).
//
// Two families:
// - `*Exact`: scalar float32, summed from component 0 upward — bit for bit what Annoy's scalar C++
//   build computes. The tree builder uses these, so seeded builds stay byte-identical to Annoy's.
// - the others: 128-bit SIMD with four independent accumulators (16 components per step); the
//   search uses these. They round differently (by a few ulps), like Annoy's own AVX builds.

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

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

export function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const pa = a + (<usize>i << 2), pb = b + (<usize>i << 2);
    s0 = f32x4.add(s0, f32x4.mul(v128.load(pa), v128.load(pb)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(pa, 16), v128.load(pb, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(pa, 32), v128.load(pb, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(pa, 48), v128.load(pb, 48)));
  }
  for (; i + 4 <= n; i += 4) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

export function euclidean(a: usize, b: usize, n: i32): f32 {
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

export function manhattan(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const pa = a + (<usize>i << 2), pb = b + (<usize>i << 2);
    s0 = f32x4.add(s0, f32x4.abs(f32x4.sub(v128.load(pa), v128.load(pb))));
    s1 = f32x4.add(s1, f32x4.abs(f32x4.sub(v128.load(pa, 16), v128.load(pb, 16))));
    s2 = f32x4.add(s2, f32x4.abs(f32x4.sub(v128.load(pa, 32), v128.load(pb, 32))));
    s3 = f32x4.add(s3, f32x4.abs(f32x4.sub(v128.load(pa, 48), v128.load(pb, 48))));
  }
  for (; i + 4 <= n; i += 4) {
    s0 = f32x4.add(s0, f32x4.abs(f32x4.sub(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)))));
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += Mathf.abs(load<f32>(a + (<usize>i << 2)) - load<f32>(b + (<usize>i << 2)));
  return s;
}

/** Differing bits between two runs of `n` 64-bit words. */
export function hamming(a: usize, b: usize, n: i32): u32 {
  let s: u64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    s += popcnt<u64>(load<u64>(a + o) ^ load<u64>(b + o));
  }
  return <u32>s;
}

// ---------------------------------------------------------------- batches
//
// One call for many records saves a JS→WebAssembly crossing per record. Records are found at
// base + ids[j] * stride (+ `off` bytes to the vector); results go to out[j] (float32).

/** out[j] = exact dot(a, record j's vector): four independent scalar chains at a time, each summed in order. */
export function dotExactMany(a: usize, base: usize, stride: i32, off: i32, ids: usize, count: i32, out: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= count; j += 4) {
    const p = <usize>j << 2;
    const x0 = base + <usize>(load<i32>(ids + p) * stride + off);
    const x1 = base + <usize>(load<i32>(ids + p, 4) * stride + off);
    const x2 = base + <usize>(load<i32>(ids + p, 8) * stride + off);
    const x3 = base + <usize>(load<i32>(ids + p, 12) * stride + off);
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(a + o);
      s0 += v * load<f32>(x0 + o);
      s1 += v * load<f32>(x1 + o);
      s2 += v * load<f32>(x2 + o);
      s3 += v * load<f32>(x3 + o);
    }
    store<f32>(out + p, s0);
    store<f32>(out + p, s1, 4);
    store<f32>(out + p, s2, 8);
    store<f32>(out + p, s3, 12);
  }
  for (; j < count; j++) {
    const p = <usize>j << 2;
    store<f32>(out + p, dotExact(a, base + <usize>(load<i32>(ids + p) * stride + off), n));
  }
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

/** Search distances for candidate records: kind 0 angular, 1 euclidean, 2 manhattan, 3 dot, 4 hamming (n = 64-bit words). */
export function distancesMany(kind: i32, q: usize, base: usize, stride: i32, off: i32, ids: usize, count: i32, out: usize, n: i32): void {
  let qq: f32 = 0;
  if (kind == 0) qq = load<f32>(q - 8); // the query record's stored squared norm sits 8 bytes before its vector
  for (let j = 0; j < count; j++) {
    const p = <usize>j << 2;
    const x = base + <usize>(load<i32>(ids + p) * stride + off);
    let d: f32;
    if (kind == 0) {
      let pp = load<f32>(x - 8);
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
