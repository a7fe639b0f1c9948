import { AnnoyArgumentError } from './errors.ts';
import { describe } from './metrics/index.ts';

/** @internal Annoy's ids are int32; n_items = largest id + 1 must fit too. */
export const MAX_ITEM_ID = 0x7fffffff - 1;

/** @internal */
export function checkItemId(i: unknown, what = 'item id'): number {
  if (typeof i !== 'number' || !Number.isInteger(i)) {
    throw new AnnoyArgumentError(`${what} must be an integer, got ${describe(i)}`);
  }
  if (i < 0) throw new AnnoyArgumentError(`${what} must not be negative, got ${i}`);
  if (i > MAX_ITEM_ID) throw new AnnoyArgumentError(`${what} ${i} is too large: Annoy ids are int32, at most ${MAX_ITEM_ID}`);
  return i;
}

/** @internal */
export function checkVector(vector: unknown, f: number, what = 'vector'): ArrayLike<number> {
  if (vector === null || typeof vector !== 'object' || typeof (vector as { length?: unknown }).length !== 'number') {
    throw new AnnoyArgumentError(`${what} must be an array or typed array of ${f} numbers, got ${describe(vector)}`);
  }
  const v = vector as ArrayLike<unknown>;
  if (v.length !== f) throw new AnnoyArgumentError(`${what} has the wrong length: expected ${f}, got ${v.length}`);
  for (let k = 0; k < f; k++) {
    const x = v[k];
    if (typeof x !== 'number') throw new AnnoyArgumentError(`${what}[${k}] must be a number, got ${describe(x)}`);
    if (!Number.isFinite(x)) throw new AnnoyArgumentError(`${what}[${k}] is ${x}; only finite numbers can be indexed`);
    if (Math.abs(x) > 3.4028234663852886e38) {
      throw new AnnoyArgumentError(`${what}[${k}] = ${x} overflows float32 (largest finite value ≈ 3.4e38)`);
    }
  }
  return v as ArrayLike<number>;
}

/** @internal */
export function checkCount(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new AnnoyArgumentError(`${what} must be a non-negative integer, got ${describe(n)}`);
  }
  return n;
}

/** @internal search_k: -1 (Annoy's default, n × trees), a positive integer, or Infinity (search every tree completely). */
export function checkSearchK(searchK: unknown): number {
  if (searchK === -1 || searchK === Infinity) return searchK;
  if (typeof searchK !== 'number' || !Number.isInteger(searchK) || searchK < 1) {
    throw new AnnoyArgumentError(
      `searchK must be -1 (the default: n × number of trees), a positive integer, or Infinity, got ${describe(searchK)}`,
    );
  }
  return searchK;
}

/** @internal */
export function checkBoolean(b: unknown, what: string): boolean {
  if (typeof b !== 'boolean') throw new AnnoyArgumentError(`${what} must be true or false, got ${describe(b)}`);
  return b;
}
