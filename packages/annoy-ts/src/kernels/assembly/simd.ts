// AssemblyScript: the SIMD distances both WebAssembly modules compute, the forest kernels
// (kernels.ts) and the neighbour graph's (../../graph/assembly/graph.ts), so the graph ranks with
// exactly the arithmetic the forest search uses. Each module compiles its own copy: @inline puts
// the body in place at every call, as if it were written there.
//
// 128-bit SIMD with four independent accumulators (16 components per step): they round
// differently from the scalar, in-order sums (by a few ulps), like Annoy's own AVX builds.
// Pointers are byte offsets into the memory; `n` counts float32 components (hamming: 64-bit words).

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** a·b. */
// @ts-ignore: decorator
@inline export function dotSimd(a: usize, b: usize, n: i32): f32 {
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

/** Squared L2 distance. */
// @ts-ignore: decorator
@inline export function euclideanSimd(a: usize, b: usize, n: i32): f32 {
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

/** L1 distance. */
// @ts-ignore: decorator
@inline export function manhattanSimd(a: usize, b: usize, n: i32): f32 {
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
// @ts-ignore: decorator
@inline export function hammingBits(a: usize, b: usize, n: i32): u64 {
  let s: u64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    s += popcnt<u64>(load<u64>(a + o) ^ load<u64>(b + o));
  }
  return s;
}
