// A worker thread of a parallel graph build (graph/parallel.ts): its share of every step, over the
// build's shared memory, until told to stop.
import { workerData } from 'node:worker_threads';
import { graphWorkerLoop, type GraphWorkerData } from '../graph/parallel.ts';

graphWorkerLoop(workerData as GraphWorkerData);
