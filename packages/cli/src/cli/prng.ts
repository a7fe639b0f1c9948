/**
 * The project's one seeded pseudo-random generator: xoshiro128** (Blackman & Vigna), seeded
 * through splitmix32 so that nearby seeds give unrelated streams. Pure 32-bit integer arithmetic,
 * so a seed gives the same sequence on every runtime (Node, Bun, Deno, a browser).
 *
 * It lives in the command line because `annoy-ts eval` is the only shipped code that draws at
 * random (its query sample), and the library is not the place for a general-purpose generator.
 * Everything in the repository that wants reproducible randomness imports it from here: the
 * tests, the fuzz corpus, the datasets' query split, and the compatibility smoke suite (which
 * compat/run.sh transpiles beside it, since it runs as plain JavaScript).
 */

/** splitmix32 step: returns a generator of well-mixed uint32 values. */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any safe integer (values beyond 32 bits are folded in). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    const mix = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Next uniformly distributed uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Uniform float in [lo, hi). */
  nextRange(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextFloat();
  }

  /** A standard normal deviate (Box–Muller; one per call, the pair's second half is dropped). */
  nextGaussian(): number {
    const u = 1 - this.nextFloat(); // (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /** Uniform integer in [0, n), without modulo bias; 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RangeError(`nextInt: bad bound ${n}`);
    const limit = 0x100000000 - (0x100000000 % n); // largest multiple of n that fits
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
