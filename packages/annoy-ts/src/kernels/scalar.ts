/**
 * Float32 arithmetic kernels that round exactly like Annoy's scalar C++ build (-O2, no FMA, no
 * vector lanes): every product and partial sum is rounded to binary32, summing from component 0
 * upward. Double rounding through a JS double is harmless for + − × ÷ √ of binary32 values,
 * so Math.fround after each operation gives the binary32 result bit for bit.
 */
const fround = Math.fround;

export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = fround(s + fround(a[ao + i] * b[bo + i]));
  return s;
}

export function squaredEuclidean(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = fround(a[ao + i] - b[bo + i]);
    s = fround(s + fround(t * t));
  }
  return s;
}

export function manhattan(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = fround(s + Math.abs(fround(a[ao + i] - b[bo + i])));
  return s;
}

/** Number of set bits in a 32-bit word. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between two runs of `n` 32-bit words. */
export function hamming(a: Uint32Array, ao: number, b: Uint32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += popcount32(a[ao + i] ^ b[bo + i]);
  return s;
}
