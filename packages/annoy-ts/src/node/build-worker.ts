// A worker thread of a parallel build: one builder (build-share.ts) over the index's shared memory.
import { workerData } from 'node:worker_threads';
import { adoptKernelModule } from '../kernels/kernels.ts';
import { createMetric } from '../metrics/index.ts';
import { Arena, Records } from '../records.ts';
import { recordsIn } from '../threads/regions.ts';
import { abortBuild, Aborted, CONTROL, runBuilder, type BuildWorkerData, type BuildWorkerResult } from './build-share.ts';

const data = workerData as BuildWorkerData;
const { control, schedule, port, faults } = data;
try {
  if (faults.fail === 'workers') throw new Error('injected failure in a worker');
  if (data.kernels) adoptKernelModule(data.kernels);
  const metric = createMetric(data.f, data.metric);
  const arena = new Arena(0, data.memory);
  const rb = metric.recordBytes;
  const store = recordsIn(arena, rb, data.store, data.storeCapacity);
  const spilled = runBuilder({
    store, storeCapacity: data.storeCapacity, recordsPerTree: data.recordsPerTree, metric, nItems: data.store.count, nTrees: data.nTrees,
    seed: BigInt(data.seed),
    scratch: { centroids: new Records(arena, rb, 3, false, data.centroids), plane: new Records(arena, rb, 1, false, data.plane), batch: data.batch },
    schedule, control, slot: data.slot, failTree: typeof faults.fail === 'object' ? faults.fail.tree : null,
  });
  port.postMessage({ spilled } satisfies BuildWorkerResult, spilled.map((s) => s.words.buffer as ArrayBuffer));
} catch (e) {
  abortBuild(schedule, data.nTrees);
  port.postMessage({ error: e instanceof Error ? e.message : String(e), aborted: e instanceof Aborted } satisfies BuildWorkerResult);
} finally {
  Atomics.add(control, CONTROL.done, 1);
  Atomics.notify(control, CONTROL.done);
}
