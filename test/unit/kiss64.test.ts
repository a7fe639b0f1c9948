// Annoy's Kiss64Random, checked against a direct BigInt transcription of its definition: every
// output bit (through flip) and index(n) for small, large and awkward n.
import { describe, expect, it } from 'vitest';
import { Kiss64 } from '../../packages/annoy-ts/src/random/kiss64.ts';

const M = (1n << 64n) - 1n;
class Reference {
  x: bigint; y = 362436362436362436n; z = 1066149217761810n; c = 123456123456123456n;
  constructor(seed: bigint) {
    this.x = seed & M;
  }
  next(): bigint {
    this.z = (6906969069n * this.z + 1234567n) & M;
    this.y ^= (this.y << 13n) & M;
    this.y ^= this.y >> 17n;
    this.y ^= (this.y << 43n) & M;
    const t = ((this.x << 58n) + this.c) & M;
    this.c = this.x >> 6n;
    this.x = (this.x + t) & M;
    if (this.x < t) this.c += 1n;
    return (this.x + this.y + this.z) & M;
  }
}

describe('Kiss64', () => {
  it('index(n) is the 64-bit output modulo n, for every kind of n', () => {
    for (const seed of [1234567890987654321n, 42n, 0n, M]) {
      const ours = new Kiss64(seed), ref = new Reference(seed);
      const ns = [1, 2, 3, 7, 100, 65535, 65536, 65537, 331_479, 2 ** 24 + 1, 2 ** 30 + 3, 2 ** 31 - 1];
      for (let k = 0; k < 20_000; k++) {
        const n = ns[k % ns.length];
        expect(ours.index(n)).toBe(Number(ref.next() % BigInt(n)));
      }
    }
  });

  it('flip() is the lowest output bit', () => {
    const ours = new Kiss64(7n), ref = new Reference(7n);
    for (let k = 0; k < 5000; k++) expect(ours.flip()).toBe(Number(ref.next() & 1n));
  });
});
