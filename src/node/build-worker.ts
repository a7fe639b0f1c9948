// A worker thread that builds some of an index's trees. The item records are read in place from
// the index's shared WebAssembly memory; the tree records go to a local buffer that the calling
// thread appends to the index once every worker is done (see parallel-build.ts).
import { workerData, type MessagePort } from 'node:worker_threads';
import { buildTrees, LocalSink } from '../build/forest.ts';
import { createMetric } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { Kiss64 } from '../random/kiss64.ts';
import { Arena, Records } from '../records.ts';
import type { WasmMemory } from '../kernels/kernels.ts';

export interface BuildWorkerData {
  memory: WasmMemory;
  metric: MetricName;
  f: number;
  nItems: number;
  storeOffset: number;
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

export type BuildWorkerResult = { words: Int32Array; count: number; roots: number[] } | { error: string };

const data = workerData as BuildWorkerData;
const { control, slot, port } = data;
try {
  const metric = createMetric(data.f, data.metric);
  const arena = new Arena(0, data.memory);
  const rb = metric.recordBytes;
  const store = new Records(arena, rb, data.nItems, false, data.storeOffset);
  store.count = data.nItems;
  const sink = new LocalSink(rb >>> 2, metric.childrenWord, data.nItems);
  const roots = buildTrees({
    store, sink, metric, nItems: data.nItems, rng: new Kiss64(BigInt(data.seed)),
    scratch: { centroids: new Records(arena, rb, 3, false, data.centroids), plane: new Records(arena, rb, 1, false, data.plane), batch: data.batch },
    onProgress: (p) => {
      Atomics.store(control, 1 + 2 * slot, p.placed === p.items ? 0 : p.placed);
      Atomics.store(control, 2 + 2 * slot, p.trees);
      Atomics.notify(control, 0);
    },
  }, data.trees);
  const words = sink.words.slice(0, sink.count * (rb >>> 2));
  port.postMessage({ words, count: sink.count, roots } satisfies BuildWorkerResult, [words.buffer]);
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies BuildWorkerResult);
} finally {
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
}
