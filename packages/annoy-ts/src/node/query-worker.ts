// A worker thread of the query pool: it searches the index's shared memory in place (nothing is
// copied per worker) and answers batches of queries posted by pool.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { AllowedIds } from '../search/filter.ts';
import type { QueryOptions } from '../search/options.ts';
import { attachIndex, type SharedIndex } from '../threads/share.ts';

/** @internal How the queries of one pool call are asked (the same for all its chunks). */
export interface WorkerQuery {
  searchK: number;
  includeDistances: boolean;
  /** The allowed-set bitset of a filter (a predicate filter is asked on the main thread first). */
  allowed: { bits: Uint32Array; size: number } | null;
  maxDistance: number | null;
}

/** @internal A chunk of queries for one worker. */
export interface QueryTask {
  id: number;
  kind: 'vectors' | 'items';
  /** Vectors as rows of f values (Float64Array keeps every value exactly as given), or item ids. */
  data: Float64Array;
  n: number;
  query: WorkerQuery;
}

/** @internal A worker's answers to a chunk, or the first failing query's error. */
export type QueryReply =
  | { id: number; results: (number[] | { ids: number[]; distances: number[] })[] }
  | { id: number; error: { name: string; message: string }; position: number };

const index = attachIndex(workerData as SharedIndex);
const f = index.f;

parentPort!.on('message', (task: QueryTask) => {
  const count = task.kind === 'vectors' ? task.data.length / f : task.data.length;
  const { searchK, includeDistances, allowed, maxDistance } = task.query;
  const options: QueryOptions = { searchK, includeDistances };
  if (allowed) options.filter = AllowedIds.fromBits(allowed.bits, allowed.size);
  if (maxDistance !== null) options.maxDistance = maxDistance;
  const results: QueryReply & { results: unknown[] } = { id: task.id, results: [] };
  for (let k = 0; k < count; k++) {
    try {
      results.results.push(task.kind === 'vectors'
        ? index.getNnsByVector(task.data.subarray(k * f, (k + 1) * f), task.n, options)
        : index.getNnsByItem(task.data[k], task.n, options));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      parentPort!.postMessage({ id: task.id, error: { name: err.name, message: err.message }, position: k } satisfies QueryReply);
      return;
    }
  }
  parentPort!.postMessage(results);
});
