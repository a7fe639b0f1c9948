/** Seeded base/query splits and row gathering. */
import { Rng } from '../packages/cli/src/cli/prng.ts';

export interface BaseQuerySplit {
  /** Ids of the rows that form the base set, in ascending order. */
  baseIds: Uint32Array;
  /**
   * Ids of the held-out query rows, in the (random) order they were drawn, so
   * that any prefix `queryIds.subarray(0, m)` is itself a seeded random sample
   * (used for the smaller "quick" query sets).
   */
  queryIds: Uint32Array;
}

/**
 * Deterministically split ids `0 .. count-1` into `nQueries` query ids and
 * `count - nQueries` base ids: a partial Fisher–Yates shuffle driven by
 * {@link Rng} (xoshiro128** seeded with `seed`). Same arguments, same split,
 * on every machine.
 */
export function splitBaseQueries(count: number, nQueries: number, seed: number): BaseQuerySplit {
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new RangeError(`bad count ${count}`);
  if (!Number.isInteger(nQueries) || nQueries < 0 || nQueries > count) {
    throw new RangeError(`nQueries must be an integer in [0, ${count}], got ${nQueries}`);
  }
  const rng = new Rng(seed);
  const perm = new Uint32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  for (let i = 0; i < nQueries; i++) {
    const j = i + rng.nextInt(count - i);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  const queryIds = perm.slice(0, nQueries);
  const isQuery = new Uint8Array(count);
  for (let i = 0; i < nQueries; i++) isQuery[queryIds[i]!] = 1;
  const baseIds = new Uint32Array(count - nQueries);
  for (let id = 0, b = 0; id < count; id++) if (isQuery[id] === 0) baseIds[b++] = id;
  return { baseIds, queryIds };
}

/**
 * Copy rows `ids` (each `dim` wide) of the row-major matrix `data` into a new
 * Float32Array (or into `out`, which must hold `ids.length * dim` values).
 */
export function gatherRows(
  data: Float32Array,
  dim: number,
  ids: ArrayLike<number>,
  out: Float32Array = new Float32Array(ids.length * dim),
): Float32Array {
  if (out.length !== ids.length * dim) throw new RangeError(`gatherRows: out has ${out.length} values, need ${ids.length * dim}`);
  const rows = data.length / dim;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < rows)) throw new RangeError(`gatherRows: row id ${id} out of range [0, ${rows})`);
    out.set(data.subarray(id * dim, id * dim + dim), i * dim);
  }
  return out;
}

/**
 * Move rows `ids` (ascending, each `dim` wide) of `data` to the front of
 * `data`, in place, and return the view of those rows
 * (`data.subarray(0, ids.length * dim)`). Avoids allocating (and, on VMs
 * where first touching memory is slow, paying for) a second large array when
 * the source is no longer needed. Rows not in `ids` are overwritten.
 */
export function compactRowsInPlace(data: Float32Array, dim: number, ids: ArrayLike<number>): Float32Array {
  const rows = data.length / dim;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= i && id < rows) || (i > 0 && id <= ids[i - 1]!)) {
      throw new RangeError('compactRowsInPlace: ids must be strictly ascending and in range');
    }
    if (id !== i) data.copyWithin(i * dim, id * dim, id * dim + dim);
  }
  return data.subarray(0, ids.length * dim);
}
