import { AnnoyArgumentError } from '../errors.ts';
import { describe } from '../metrics/index.ts';

/** A filter given as a function: true for the item ids a query may return. */
export type IdPredicate = (id: number) => boolean;

/** Typed arrays that can list item ids. */
export type IdArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/**
 * What a query's `filter` option takes: a predicate, or the allowed ids as a Set, an array, a typed
 * array, or an AllowedIds bitset built beforehand (the way to reuse one set across many calls).
 */
export type Filter = IdPredicate | ReadonlySet<number> | readonly number[] | IdArray | AllowedIds;

/**
 * The allowed set of a filtered search: one bit per item id (1 = allowed), and how many bits are
 * set. Built once from a filter's ids (or from a predicate asked about every item), then read by
 * every search path — the forest walk and the exact scan copy the words into the index's memory
 * and test them there; a graph search can test `has()` or read the words.
 */
export class AllowedIds {
  /** Bit (id & 31) of word id >>> 5 is set when item `id` is allowed. Treat as read-only. */
  readonly bits: Uint32Array;
  /** Ids this set covers: 0 … size − 1 (the item count of the index it was built for). */
  readonly size: number;
  /** Allowed ids. */
  readonly count: number;

  private constructor(bits: Uint32Array, size: number, count: number) {
    this.bits = bits;
    this.size = size;
    this.count = count;
  }

  /**
   * The set of `ids` among 0 … size − 1 (`size`: the index's getNItems()). Ids must be integers in
   * that range; repeats are fine. Throws AnnoyArgumentError naming the first bad id.
   */
  static from(ids: ReadonlySet<number> | readonly number[] | IdArray, size: number): AllowedIds {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
      throw new AnnoyArgumentError(`the size of an allowed-id set must be a non-negative integer, got ${describe(size)}`);
    }
    const bits = new Uint32Array(wordsFor(size));
    let count = 0;
    const add = (id: unknown, position: number | null): void => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= size) throw badId(id, position, size);
      const w = id >>> 5, bit = 1 << (id & 31);
      if ((bits[w] & bit) === 0) {
        bits[w] |= bit;
        count++;
      }
    };
    if (isSet(ids)) {
      for (const id of ids) add(id, null);
    } else if (Array.isArray(ids) || isIdArray(ids)) {
      const list = ids as ArrayLike<unknown>;
      for (let k = 0; k < list.length; k++) add(list[k], k);
    } else {
      throw notAFilter(ids);
    }
    return new AllowedIds(bits, size, count);
  }

  /**
   * The ids among 0 … size − 1 that `predicate` allows, asking it once about each id in ascending
   * order — only about the ids set in `ask` (a bitset like `bits`) when given. A predicate must
   * answer true or false; anything else, or an exception, becomes an AnnoyArgumentError naming the
   * item (the original error is its cause).
   */
  static fromPredicate(predicate: IdPredicate, size: number, ask?: Uint32Array): AllowedIds {
    if (typeof predicate !== 'function') throw notAFilter(predicate);
    const bits = new Uint32Array(wordsFor(size));
    let count = 0;
    for (let w = 0; w < bits.length; w++) {
      const candidates = ask ? ask[w] : 0xffffffff;
      if (candidates === 0) continue;
      let word = 0;
      for (let b = 0, id = w << 5; b < 32 && id < size; b++, id++) {
        if ((candidates & (1 << b)) !== 0 && callPredicate(predicate, id)) word |= 1 << b;
      }
      bits[w] = word;
      count += popcount(word);
    }
    return new AllowedIds(bits, size, count);
  }

  /**
   * The set whose bits are `bits` (bit (id & 31) of word id >>> 5 for id < size; bits beyond size are
   * ignored). The words are taken as they are, not copied.
   */
  static fromBits(bits: Uint32Array, size: number): AllowedIds {
    if (!(bits instanceof Uint32Array)) throw new AnnoyArgumentError(`allowed-id bits must be a Uint32Array, got ${describe(bits)}`);
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || bits.length !== wordsFor(size)) {
      throw new AnnoyArgumentError(`allowed-id bits for ${describe(size)} ids must be ${wordsFor(Number(size) || 0)} words long, got ${bits.length}`);
    }
    let count = 0;
    for (let w = 0; w < bits.length; w++) count += popcount(w === bits.length - 1 && size % 32 !== 0 ? bits[w] & ((1 << (size % 32)) - 1) : bits[w]);
    return new AllowedIds(bits, size, count);
  }

  /** Whether item `id` is allowed. */
  has(id: number): boolean {
    return id >= 0 && id < this.size && (this.bits[id >>> 5] & (1 << (id & 31))) !== 0;
  }
}

/** A query's filter, checked and put in the form the search uses. */
export type Restriction =
  | { readonly kind: 'ids'; readonly allowed: AllowedIds }
  | { readonly kind: 'predicate'; readonly predicate: IdPredicate };

/**
 * Checks a `filter` option against an index of `nItems` items: a predicate stays a predicate (asked
 * during the search); ids become an AllowedIds bitset, once. Throws AnnoyArgumentError for anything
 * else, for a non-integer or out-of-range id, and for an AllowedIds built for a larger index.
 */
export function toRestriction(filter: unknown, nItems: number): Restriction {
  if (typeof filter === 'function') return { kind: 'predicate', predicate: filter as IdPredicate };
  if (filter instanceof AllowedIds) {
    if (filter.size > nItems) {
      // Ids beyond this index's last one can only be allowed by mistake.
      for (let id = nItems; id < filter.size; id++) {
        if (filter.has(id)) throw badId(id, null, nItems);
      }
    } else if (filter.size < nItems && filter.size % 32 !== 0) {
      // Bits of the last word beyond the set's size allow nothing, but the searches copy whole words.
      const last = filter.bits.length - 1, mask = (1 << (filter.size % 32)) - 1;
      if ((filter.bits[last] & ~mask) !== 0) {
        const bits = filter.bits.slice();
        bits[last] &= mask;
        return { kind: 'ids', allowed: AllowedIds.fromBits(bits, filter.size) };
      }
    }
    return { kind: 'ids', allowed: filter };
  }
  return { kind: 'ids', allowed: AllowedIds.from(filter as ReadonlySet<number> | readonly number[] | IdArray, nItems) };
}

/**
 * Asks a filter predicate about item `id`. A predicate must answer true or false; anything else,
 * or an exception, becomes an AnnoyArgumentError naming the item (the original error is its cause).
 */
export function callPredicate(predicate: IdPredicate, id: number): boolean {
  let verdict: unknown;
  try {
    verdict = predicate(id);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new AnnoyArgumentError(`the filter function threw for item ${id}: ${message}`, { cause });
  }
  if (verdict === true) return true;
  if (verdict === false) return false;
  throw new AnnoyArgumentError(`the filter function must return true or false, but returned ${describe(verdict)} for item ${id}`);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

function wordsFor(size: number): number {
  return Math.ceil(size / 32);
}

function isSet(value: unknown): value is ReadonlySet<number> {
  return value instanceof Set;
}

function isIdArray(value: unknown): value is IdArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
}

function badId(id: unknown, position: number | null, size: number): AnnoyArgumentError {
  const where = position === null ? '' : ` (at position ${position})`;
  if (typeof id !== 'number' || !Number.isInteger(id)) {
    return new AnnoyArgumentError(`filter ids must be integers, got ${describe(id)}${where}`);
  }
  return new AnnoyArgumentError(
    size === 0
      ? `filter id ${id}${where} does not exist: the index is empty`
      : `filter id ${id}${where} does not exist: ids run from 0 to ${size - 1}`,
  );
}

function notAFilter(value: unknown): AnnoyArgumentError {
  return new AnnoyArgumentError(
    `filter must be a function (id) => boolean, or the allowed ids as a Set, an array or a typed array, got ${describe(value)}`,
  );
}
