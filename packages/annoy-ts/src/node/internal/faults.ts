// Fault injection for tests, reached by a direct import of this source file: the package exports
// nothing from here and nothing in the package calls it. Faults come in through the same seams
// the package composes (a build policy, the query pool's worker messages), so the code under test
// is the code that ships.
import { AnnoyIndex as PortableAnnoyIndex } from '../../annoy-index.ts';
import type { MetricName } from '../../metrics/metric.ts';
import type { AnnoyIndex } from '../annoy-index.ts';
import type { BuildFaults } from '../build-share.ts';
import { workerThreadBuildWith } from '../parallel-build.ts';
import type { QueryPool } from '../pool.ts';

export type { BuildFaults };

/** An index whose parallel builds fail or spill as `faults` say (otherwise the Node entry's worker-thread build). */
export function indexWithBuildFaults(f: number, metric: MetricName, faults: BuildFaults): PortableAnnoyIndex {
  return new PortableAnnoyIndex(f, metric, workerThreadBuildWith(faults));
}

/**
 * Makes the first worker of the index's query pool crash (an uncaught error in the worker, as a bug
 * would cause) while it answers a query; resolves or rejects as that query does. The pool starts if
 * it has not yet.
 */
export async function crashPoolWorker(index: AnnoyIndex): Promise<unknown> {
  await index.getNnsByItemsAsync([0], 1); // all workers started and idle: the next call's one chunk goes to the first
  // The pool is private to the index: reached here by name, as only a test may.
  const pool = index['pool'] as QueryPool;
  pool['slots'][0].worker.postMessage(null); // not a task: the worker throws reading it, before the query behind it
  return index.getNnsByItemsAsync([0], 1);
}
