// The Node entry's threading for graph builds: worker threads (graph-worker.ts) that take their
// share of every build step over the build's shared WebAssembly memory.
import { availableParallelism } from 'node:os';
import type { GraphThreading } from '../graph/parallel.ts';
import { startWorker } from './workers.ts';

/** Below this much work (items × dimension), starting workers costs more than it saves. */
const WORTH_PARALLEL = 2e6;

export const graphWorkerThreads: GraphThreading = {
  threads(nJobs, work) {
    if (typeof SharedArrayBuffer !== 'function') return 1;
    if (nJobs === -1) return work >= WORTH_PARALLEL ? availableParallelism() : 1;
    return Math.max(1, nJobs);
  },
  start(data, threads) {
    const workers = Array.from({ length: threads - 1 }, (_, i) => startWorker('graph-worker', { ...data, slot: i + 1 }));
    // The workers block on the control block between steps: they must not keep the process alive.
    for (const w of workers) w.unref();
    return {
      stop() {
        for (const w of workers) void w.terminate();
      },
    };
  },
};
