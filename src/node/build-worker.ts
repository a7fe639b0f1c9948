// A worker thread that builds some of an index's trees. It reads the item records in place from
// the index's shared WebAssembly memory and writes its tree records into a region of that memory
// reserved for it; the calling thread then slides each region into its final place (see
// parallel-build.ts).
import { workerData, type MessagePort } from 'node:worker_threads';
import { buildTrees, RegionSink } from '../build/forest.ts';
import { adoptKernelModule, type WasmMemory } from '../kernels/kernels.ts';
import { createMetric } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { Kiss64 } from '../random/kiss64.ts';
import { Arena, Records } from '../records.ts';

export interface BuildWorkerData {
  memory: WasmMemory;
  /** The calling thread's compiled kernels (null: compile them here). */
  kernels: object | null;
  metric: MetricName;
  f: number;
  nItems: number;
  storeOffset: number;
  /** This worker's region of the store: first record and how many records it can hold. */
  region: { start: number; capacity: number };
  /** Byte offsets of this worker's scratch records and batch window in the shared memory. */
  centroids: number;
  plane: number;
  batch: { capacity: number; idsPtr: number; outPtr: number };
  seed: string;
  trees: number;
  /** [workers done, then per worker: items placed, trees done] */
  control: Int32Array;
  slot: number;
  port: MessagePort;
}

/** Record counts and the roots (ids as numbered in the region), plus the records that did not fit it. */
export type BuildWorkerResult = { count: number; roots: number[]; spill: Int32Array; spilled: number } | { error: string };

const data = workerData as BuildWorkerData;
const { control, slot, port } = data;
try {
  if (data.kernels) adoptKernelModule(data.kernels);
  const metric = createMetric(data.f, data.metric);
  const arena = new Arena(0, data.memory);
  const rb = metric.recordBytes;
  const store = new Records(arena, rb, data.region.start + data.region.capacity, false, data.storeOffset);
  store.count = data.nItems;
  const sink = new RegionSink(store, metric.childrenWord, data.region.start, data.region.capacity);
  const roots = buildTrees({
    store, sink, metric, nItems: data.nItems, rng: new Kiss64(BigInt(data.seed)),
    scratch: { centroids: new Records(arena, rb, 3, false, data.centroids), plane: new Records(arena, rb, 1, false, data.plane), batch: data.batch },
    onProgress: (p) => {
      Atomics.store(control, 1 + 2 * slot, p.placed === p.items ? 0 : p.placed);
      Atomics.store(control, 2 + 2 * slot, p.trees);
      Atomics.notify(control, 0);
    },
  }, data.trees);
  const spill = sink.spill.subarray(0, sink.spilled * store.recordWords);
  port.postMessage({ count: sink.count, roots, spill, spilled: sink.spilled } satisfies BuildWorkerResult, [sink.spill.buffer]);
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies BuildWorkerResult);
} finally {
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
}
