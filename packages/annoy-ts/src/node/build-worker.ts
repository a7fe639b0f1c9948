// A worker thread of a parallel build: one builder (build-share.ts) over the index's shared memory.
import { workerData, type MessagePort } from 'node:worker_threads';
import { adoptKernelModule, type WasmMemory } from '../kernels/kernels.ts';
import { createMetric } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { Arena, Records } from '../records.ts';
import { abortBuild, Aborted, CONTROL, runBuilder, type SpilledTree } from './build-share.ts';
import type { BuildFault } from './parallel-build.ts';

export interface BuildWorkerData {
  memory: WasmMemory;
  /** The calling thread's compiled kernels (null: compile them here). */
  kernels: object | null;
  metric: MetricName;
  f: number;
  nItems: number;
  nTrees: number;
  storeOffset: number;
  /** Records the store has room for: trees that would end beyond it go back to the calling thread. */
  storeCapacity: number;
  recordsPerTree: number;
  /** Byte offsets of this worker's scratch records and batch window in the shared memory. */
  centroids: number;
  plane: number;
  batch: { capacity: number; idsPtr: number; outPtr: number };
  /** The build's seed; tree t uses seed + t. */
  seed: string;
  schedule: Int32Array;
  control: Int32Array;
  slot: number;
  port: MessagePort;
  /** Tests: see failBuildForTest. */
  fault: BuildFault | null;
}

/** A worker's spilled trees, or why it failed (`aborted`: it stopped because another builder failed). */
export type BuildWorkerResult = { spilled: SpilledTree[] } | { error: string; aborted: boolean };

const data = workerData as BuildWorkerData;
const { control, schedule, port, fault } = data;
try {
  if (fault === 'workers') throw new Error('test failure in a worker');
  if (data.kernels) adoptKernelModule(data.kernels);
  const metric = createMetric(data.f, data.metric);
  const arena = new Arena(0, data.memory);
  const rb = metric.recordBytes;
  const store = new Records(arena, rb, data.storeCapacity, false, data.storeOffset);
  store.count = data.nItems;
  const spilled = runBuilder({
    store, storeCapacity: data.storeCapacity, recordsPerTree: data.recordsPerTree, metric, nItems: data.nItems, nTrees: data.nTrees, seed: BigInt(data.seed),
    scratch: { centroids: new Records(arena, rb, 3, false, data.centroids), plane: new Records(arena, rb, 1, false, data.plane), batch: data.batch },
    schedule, control, slot: data.slot, failTree: fault?.tree ?? null,
  });
  port.postMessage({ spilled } satisfies BuildWorkerResult, spilled.map((s) => s.words.buffer as ArrayBuffer));
} catch (e) {
  abortBuild(schedule, data.nTrees);
  port.postMessage({ error: e instanceof Error ? e.message : String(e), aborted: e instanceof Aborted } satisfies BuildWorkerResult);
} finally {
  Atomics.add(control, CONTROL.done, 1);
  Atomics.notify(control, CONTROL.done);
}
