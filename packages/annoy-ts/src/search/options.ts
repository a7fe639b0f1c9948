import { AnnoyArgumentError } from '../errors.ts';
import { describe } from '../metrics/index.ts';
import type { Metric } from '../metrics/metric.ts';
import { checkBoolean, checkSearchK } from '../validate.ts';
import { toRestriction, type Filter } from './filter.ts';
import { distanceBound } from './range.ts';
import type { Refinement } from './search.ts';

/** The options object of getNnsByVector / getNnsByItem and their batch and async forms. */
export interface QueryOptions {
  /**
   * Annoy's search_k: how many candidates the walk collects (-1, the default: n × the number of
   * trees; Infinity: every tree to its end). With a filter it counts allowed candidates.
   */
  searchK?: number;
  /** Return { ids, distances } instead of ids. */
  includeDistances?: boolean;
  /**
   * Only these items may be returned: a predicate (id) => boolean, or the allowed ids as a Set, an
   * array, a typed array or an AllowedIds (built once and reused across calls).
   */
  filter?: Filter;
  /**
   * Only items within this distance (as reported: angular √(2 − 2·cos), euclidean, manhattan,
   * hamming bits). For dot, whose reported "distance" is the inner product, larger = nearer: only
   * items whose inner product is at least this value (it may be negative).
   */
  maxDistance?: number;
}

export interface CheckedQuery {
  readonly searchK: number;
  readonly includeDistances: boolean;
  /** null: Annoy's plain search. */
  readonly refinement: Refinement | null;
}

const KEYS: ReadonlySet<string> = new Set(['searchK', 'includeDistances', 'filter', 'maxDistance']);

/**
 * Checks a query's options object and the neighbour count n against an index (`metric`, `nItems`):
 * a filter given as ids becomes a bitset here, once (batch forms check once for all their queries).
 * n may be Infinity only together with maxDistance.
 */
export function checkQueryOptions(options: unknown, n: unknown, metric: Metric, nItems: number): CheckedQuery {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new AnnoyArgumentError(`options must be an object { searchK?, includeDistances?, filter?, maxDistance? }, got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KEYS.has(key)) {
      throw new AnnoyArgumentError(`unknown option ${describe(key)}; a query takes searchK, includeDistances, filter and maxDistance`);
    }
  }
  const { searchK, includeDistances, filter, maxDistance } = given;
  const bound = maxDistance === undefined ? null : distanceBound(metric, maxDistance);
  checkNeighbourCount(n, bound !== null);
  const restriction = filter === undefined ? null : toRestriction(filter, nItems);
  return {
    searchK: searchK === undefined ? -1 : checkSearchK(searchK),
    includeDistances: includeDistances === undefined ? false : checkBoolean(includeDistances, 'includeDistances'),
    refinement: restriction || bound ? { restriction, bound } : null,
  };
}

/** n: a non-negative integer, or Infinity when a maxDistance bounds the answer. */
export function checkNeighbourCount(n: unknown, bounded: boolean): number {
  if (n === Infinity && bounded) return n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new AnnoyArgumentError(
      n === Infinity
        ? 'n (the number of neighbours) may be Infinity only with maxDistance (every item within that distance)'
        : `n (the number of neighbours) must be a non-negative integer${bounded ? ' or Infinity' : ''}, got ${describe(n)}`,
    );
  }
  return n;
}
