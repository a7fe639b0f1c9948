/**
 * Annoy's Kiss64Random (Marsaglia's KISS: LCG + xorshift + multiply-with-carry), bit for bit.
 * The 64-bit state is kept as pairs of unsigned 32-bit halves because BigInt arithmetic is
 * an order of magnitude slower and a build draws millions of numbers.
 */
export const KISS64_DEFAULT_SEED = 1234567890987654321n;

const U64 = (1n << 64n) - 1n;

export class Kiss64 {
  private xh = 0; private xl = 0;
  private yh = 0; private yl = 0;
  private zh = 0; private zl = 0;
  private ch = 0; private cl = 0;
  // The last 64-bit output, as halves.
  private oh = 0; private ol = 0;

  constructor(seed: bigint = KISS64_DEFAULT_SEED) {
    this.reset(seed);
  }

  reset(seed: bigint): void {
    const s = BigInt.asUintN(64, seed);
    this.xh = Number(s >> 32n); this.xl = Number(s & 0xffffffffn);
    const set = (v: bigint): [number, number] => [Number((v & U64) >> 32n), Number(v & 0xffffffffn)];
    [this.yh, this.yl] = set(362436362436362436n);
    [this.zh, this.zl] = set(1066149217761810n);
    [this.ch, this.cl] = set(123456123456123456n);
  }

  /** Advances the generator one step; the output is left in (oh, ol). */
  private step(): void {
    // z = 6906969069 * z + 1234567  (mod 2^64); 6906969069 = 1 * 2^32 + 2612001773
    const bl = 2612001773, bh = 1;
    const al = this.zl, ah = this.zh;
    const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
    const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    let lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    let hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536)) >>> 0;
    hi = (hi + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
    let sum = lo + 1234567;
    this.zl = sum >>> 0;
    this.zh = (hi + (sum > 0xffffffff ? 1 : 0)) >>> 0;

    // xorshift: y ^= y << 13; y ^= y >> 17; y ^= y << 43
    let yh = this.yh, yl = this.yl;
    yh = (yh ^ ((yh << 13) | (yl >>> 19))) >>> 0; yl = (yl ^ (yl << 13)) >>> 0;
    yl = (yl ^ ((yl >>> 17) | (yh << 15))) >>> 0; yh = (yh ^ (yh >>> 17)) >>> 0;
    yh = (yh ^ (yl << 11)) >>> 0;
    this.yh = yh; this.yl = yl;

    // multiply-with-carry: t = (x << 58) + c; c = x >> 6; x += t; c += (x < t)
    const th = ((this.xl << 26) + this.ch) >>> 0, tl = this.cl;
    this.cl = ((this.xl >>> 6) | (this.xh << 26)) >>> 0;
    this.ch = this.xh >>> 6;
    sum = this.xl + tl;
    const xl = sum >>> 0;
    const xh = (this.xh + th + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    this.xl = xl; this.xh = xh;
    if (xh < th || (xh === th && xl < tl)) {
      const c = this.cl + 1;
      this.cl = c >>> 0;
      this.ch = (this.ch + (c > 0xffffffff ? 1 : 0)) >>> 0;
    }

    // output x + y + z
    sum = xl + yl;
    lo = sum >>> 0;
    hi = (xh + yh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    sum = lo + this.zl;
    this.ol = sum >>> 0;
    this.oh = (hi + this.zh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
  }

  /** The next raw 64-bit output (slow path, for tests). */
  next(): bigint {
    this.step();
    return (BigInt(this.oh) << 32n) | BigInt(this.ol);
  }

  /** Annoy's flip(): the lowest bit of one output. */
  flip(): number {
    this.step();
    return this.ol & 1;
  }

  /** Annoy's index(n): one output modulo n (unsigned 64-bit modulo), for 1 ≤ n < 2^31. */
  index(n: number): number {
    this.step();
    // (oh·2^32 + ol) mod n, keeping every intermediate below 2^53.
    let r = mod(this.oh, n);
    r = mod(r * 65536, n);
    r = mod(r * 65536, n);
    return mod(r + this.ol, n);
  }
}

/**
 * a mod n for integers 0 ≤ a < 2^53, 1 ≤ n < 2^31. V8 computes `%` on values outside the int32
 * range with a slow runtime call; a floating division is faster. The rounded quotient is the true
 * one or one more (never less: the true one is representable), so one correction suffices.
 */
function mod(a: number, n: number): number {
  const r = a - Math.floor(a / n) * n;
  return r < 0 ? r + n : r;
}
