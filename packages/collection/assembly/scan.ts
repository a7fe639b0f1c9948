// The collection's exact scan of its newest items (the memtable), in WebAssembly SIMD: one query
// against `count` rows of `f` float32 values laid out one after the other. Results are the ranking
// values the memtable sorts by (dot product, squared L2, L1) in float32 lanes; the distances callers
// see are recomputed in TypeScript with Annoy's rounding for the few winners.
// Compiled by packages/collection/tools/build-wasm.mjs into src/core/scan-wasm.ts.

@inline function lanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** out[j] = q · row j. */
export function dots(q: usize, rows: usize, count: i32, f: i32, out: usize): void {
  const stride = (<usize>f) << 2;
  const f8 = f & ~7;
  const f4 = f & ~3;
  for (let j = 0; j < count; j++) {
    const r = rows + <usize>j * stride;
    let a = f32x4.splat(0);
    let b = f32x4.splat(0);
    let i = 0;
    for (; i < f8; i += 8) {
      const o = (<usize>i) << 2;
      a = f32x4.add(a, f32x4.mul(v128.load(q + o), v128.load(r + o)));
      b = f32x4.add(b, f32x4.mul(v128.load(q + o, 16), v128.load(r + o, 16)));
    }
    for (; i < f4; i += 4) {
      const o = (<usize>i) << 2;
      a = f32x4.add(a, f32x4.mul(v128.load(q + o), v128.load(r + o)));
    }
    let s = lanes(f32x4.add(a, b));
    for (; i < f; i++) s += load<f32>(q + ((<usize>i) << 2)) * load<f32>(r + ((<usize>i) << 2));
    store<f32>(out + ((<usize>j) << 2), s);
  }
}

/** out[j] = ‖q − row j‖². */
export function squaredL2(q: usize, rows: usize, count: i32, f: i32, out: usize): void {
  const stride = (<usize>f) << 2;
  const f8 = f & ~7;
  const f4 = f & ~3;
  for (let j = 0; j < count; j++) {
    const r = rows + <usize>j * stride;
    let a = f32x4.splat(0);
    let b = f32x4.splat(0);
    let i = 0;
    for (; i < f8; i += 8) {
      const o = (<usize>i) << 2;
      const d = f32x4.sub(v128.load(q + o), v128.load(r + o));
      const e = f32x4.sub(v128.load(q + o, 16), v128.load(r + o, 16));
      a = f32x4.add(a, f32x4.mul(d, d));
      b = f32x4.add(b, f32x4.mul(e, e));
    }
    for (; i < f4; i += 4) {
      const o = (<usize>i) << 2;
      const d = f32x4.sub(v128.load(q + o), v128.load(r + o));
      a = f32x4.add(a, f32x4.mul(d, d));
    }
    let s = lanes(f32x4.add(a, b));
    for (; i < f; i++) {
      const d = load<f32>(q + ((<usize>i) << 2)) - load<f32>(r + ((<usize>i) << 2));
      s += d * d;
    }
    store<f32>(out + ((<usize>j) << 2), s);
  }
}

/** out[j] = Σ |q − row j|. */
export function l1(q: usize, rows: usize, count: i32, f: i32, out: usize): void {
  const stride = (<usize>f) << 2;
  const f4 = f & ~3;
  for (let j = 0; j < count; j++) {
    const r = rows + <usize>j * stride;
    let a = f32x4.splat(0);
    let i = 0;
    for (; i < f4; i += 4) {
      const o = (<usize>i) << 2;
      a = f32x4.add(a, f32x4.abs(f32x4.sub(v128.load(q + o), v128.load(r + o))));
    }
    let s = lanes(a);
    for (; i < f; i++) s += Mathf.abs(load<f32>(q + ((<usize>i) << 2)) - load<f32>(r + ((<usize>i) << 2)));
    store<f32>(out + ((<usize>j) << 2), s);
  }
}
