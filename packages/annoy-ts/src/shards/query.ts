// One sharded query, checked once (for a whole batch): what each shard is asked. A filter over
// the user's global ids becomes each shard's filter over its local ids, built when the shard is
// first asked and then reused by every query of the batch.
import type { CheckedQuery } from '../search/options.ts';
import { AllowedIds, callPredicate, type IdPredicate } from '../search/filter.ts';
import type { QueryOptions } from '../search/options.ts';
import type { ShardIdDirectory } from './ids.ts';

export type ShardOptions = QueryOptions & { includeDistances: true };

/** Carries an error of the user's filter (naming the global id) out through a shard's search. */
class FilterFailure extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

export class ShardQuery {
  readonly n: number;
  readonly includeDistances: boolean;
  readonly #checked: CheckedQuery;
  readonly #maxDistance: number | undefined;
  readonly #ids: ShardIdDirectory;
  readonly #nLocal: readonly number[];
  readonly #onThreads: boolean;
  readonly #perShard = new Map<number, ShardOptions | null>();

  /**
   * `maxDistance` as the caller gave it; `nLocal[k]`: items of shard k; `onThreads`: the shards
   * search on worker threads, where a predicate cannot go (it is asked about every item here).
   */
  constructor(n: number, checked: CheckedQuery, maxDistance: number | undefined, ids: ShardIdDirectory, nLocal: readonly number[], onThreads: boolean) {
    this.n = n;
    this.includeDistances = checked.includeDistances;
    this.#checked = checked;
    this.#maxDistance = maxDistance;
    this.#ids = ids;
    this.#nLocal = nLocal;
    this.#onThreads = onThreads;
  }

  /** What shard `shard` is asked (distances always: the merge needs them); null when no item of it may be returned. */
  forShard(shard: number): ShardOptions | null {
    if (this.#perShard.has(shard)) return this.#perShard.get(shard)!;
    const options: ShardOptions = { searchK: this.#checked.searchK, includeDistances: true };
    if (this.#maxDistance !== undefined) options.maxDistance = this.#maxDistance;
    const restriction = this.#checked.refinement?.restriction ?? null;
    let result: ShardOptions | null = options;
    if (restriction?.kind === 'ids') {
      const allowed = AllowedIds.fromBits(this.#ids.localBits(shard, restriction.allowed.bits, restriction.allowed.count), this.#nLocal[shard]);
      result = allowed.count === 0 ? null : { ...options, filter: allowed };
    } else if (restriction?.kind === 'predicate') {
      const toGlobal = (local: number) => this.#ids.toGlobal(shard, local);
      const predicate = restriction.predicate;
      if (this.#onThreads) {
        let allowed: AllowedIds;
        try {
          allowed = AllowedIds.fromPredicate(globalPredicate(predicate, toGlobal), this.#nLocal[shard]);
        } catch (e) {
          throw filterError(e);
        }
        result = allowed.count === 0 ? null : { ...options, filter: allowed };
      } else {
        result = { ...options, filter: globalPredicate(predicate, toGlobal) };
      }
    }
    this.#perShard.set(shard, result);
    return result;
  }
}

/** The user's predicate over global ids, asked by a shard about its local ids. */
function globalPredicate(predicate: IdPredicate, toGlobal: (local: number) => number): IdPredicate {
  return (local) => {
    try {
      return callPredicate(predicate, toGlobal(local));
    } catch (e) {
      throw new FilterFailure(e as Error);
    }
  };
}

/** A shard's error that came from the user's filter: the filter's own error, naming the global id. */
export function filterError(e: unknown): unknown {
  for (let c: unknown = e; c instanceof Error; c = c.cause) if (c instanceof FilterFailure) return c.error;
  return e;
}
