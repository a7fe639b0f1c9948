// How build() builds the trees, passed to the index when it is made (as Annoy passes its
// single- or multi-threaded build policy as a template parameter). The portable index builds in
// the calling thread; the Node entry passes the worker-thread policy (node/parallel-build.ts).
import type { GraphThreading } from '../graph/parallel.ts';
import type { IndexMemory } from '../index-memory.ts';
import type { Metric } from '../metrics/metric.ts';
import { Kiss64 } from '../random/kiss64.ts';
import { buildForest, type ProgressListener } from './forest.ts';

/** @internal What a forest build needs. */
export interface ForestRequest {
  readonly memory: IndexMemory;
  readonly metric: Metric;
  readonly nItems: number;
  /** Trees to build, or -1 for Annoy's automatic count. */
  readonly nTrees: number;
  /** -1: all cores; 1: the calling thread. */
  readonly nJobs: number;
  /** The index's seed (setSeed): the only source of the build's random numbers. */
  readonly seed: bigint;
  readonly onProgress?: ProgressListener;
}

/** @internal Builds the trees into `request.memory.store` (after the items) and returns their roots. */
export interface BuildPolicy {
  buildForest(request: ForestRequest): number[];
  /** How a graph build (graph/parallel.ts) runs on several threads; absent: the calling thread alone. */
  readonly graphThreading?: GraphThreading;
}

/**
 * @internal Annoy's single-threaded build: every tree in the calling thread, one generator
 * seeded with the index's seed (byte-identical to Annoy). nJobs is not used.
 */
export const callingThreadBuild: BuildPolicy = {
  buildForest({ memory, metric, nItems, nTrees, seed, onProgress }) {
    return buildForest(memory.store, memory, metric, nItems, nTrees, new Kiss64(seed), onProgress);
  },
};
