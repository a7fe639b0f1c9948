// A worker thread of a parallel build (see parallel-build.ts). It claims trees one at a time from a
// counter shared with the other workers, builds each with that tree's own random generator, reading
// the items in place from the index's shared WebAssembly memory, and copies each finished tree to
// its final place in the store as soon as the sizes of all earlier trees are known.
import { workerData, type MessagePort } from 'node:worker_threads';
import { LocalSink, placeTree, TreeBuilder } from '../build/forest.ts';
import { adoptKernelModule, type WasmMemory } from '../kernels/kernels.ts';
import { createMetric } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { Kiss64 } from '../random/kiss64.ts';
import { Arena, Records } from '../records.ts';
import { SCHEDULE } from './build-schedule.ts';

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
  /** Byte offsets of this worker's scratch records and batch window in the shared memory. */
  centroids: number;
  plane: number;
  batch: { capacity: number; idsPtr: number; outPtr: number };
  /** The build's seed; tree t uses seed + t. */
  seed: string;
  /** The shared schedule, laid out as SCHEDULE (build-schedule.ts) describes. */
  schedule: Int32Array;
  /** [workers done, then per worker: items placed in its current tree, trees it finished] */
  control: Int32Array;
  slot: number;
  port: MessagePort;
  /** Tests: fail on claiming this tree. */
  failTree: number | null;
}

/** A tree that did not fit the store: its records, with ids numbered from `firstId`, and its root. */
export interface SpilledTree {
  tree: number;
  words: Int32Array;
  firstId: number;
  root: number;
}
/** A worker's spilled trees, or why it failed (`aborted`: it stopped because another one failed). */
export type BuildWorkerResult = { spilled: SpilledTree[] } | { error: string; aborted: boolean };

class Aborted extends Error {}

interface Held {
  tree: number;
  /** First record in the local sink, record count, root id (local numbering). */
  start: number;
  count: number;
  root: number;
}

const data = workerData as BuildWorkerData;
const { control, schedule, slot, port, nItems, nTrees } = data;
try {
  if (data.kernels) adoptKernelModule(data.kernels);
  const metric = createMetric(data.f, data.metric);
  const arena = new Arena(0, data.memory);
  const rb = metric.recordBytes;
  const store = new Records(arena, rb, data.storeCapacity, false, data.storeOffset);
  store.count = nItems;
  const sink = new LocalSink(store.recordWords, metric.childrenWord, nItems);
  const builder = new TreeBuilder({
    store, sink, metric, nItems, nTrees,
    scratch: { centroids: new Records(arena, rb, 3, false, data.centroids), plane: new Records(arena, rb, 1, false, data.plane), batch: data.batch },
    onProgress: (p) => {
      if (Atomics.load(schedule, SCHEDULE.abort)) throw new Aborted('stopped: the build failed elsewhere');
      Atomics.store(control, 1 + 2 * slot, p.placed === p.items ? 0 : p.placed);
      Atomics.notify(control, 0);
    },
  });
  const held: Held[] = [];
  const spilled: SpilledTree[] = [];
  let built = 0;

  /** Where tree t starts in the store, or -1 while an earlier tree is unfinished (or, with `wait`, after waiting for them). */
  const offsetOf = (t: number, wait: boolean): number => {
    let offset = nItems;
    for (let u = 0; u < t; u++) {
      let c = Atomics.load(schedule, SCHEDULE.count(u));
      while (c < 0 && wait) {
        if (Atomics.load(schedule, SCHEDULE.abort)) throw new Aborted('stopped: the build failed elsewhere');
        Atomics.wait(schedule, SCHEDULE.count(u), c);
        c = Atomics.load(schedule, SCHEDULE.count(u));
      }
      if (c < 0) return -1;
      offset += c;
    }
    return offset;
  };

  /** Copies held trees to the store, oldest first, while their places are known. */
  const placeHeld = (wait: boolean): void => {
    while (held.length > 0) {
      if (Atomics.load(schedule, SCHEDULE.abort)) throw new Aborted('stopped: the build failed elsewhere');
      const tree = held[0];
      const offset = offsetOf(tree.tree, wait);
      if (offset < 0) return;
      held.shift();
      const shift = offset - (nItems + tree.start);
      if (offset + tree.count > data.storeCapacity) {
        const words = sink.words.slice(tree.start * store.recordWords, (tree.start + tree.count) * store.recordWords);
        spilled.push({ tree: tree.tree, words, firstId: nItems + tree.start, root: tree.root });
        continue;
      }
      placeTree(store, metric, nItems, sink.words.subarray(tree.start * store.recordWords, (tree.start + tree.count) * store.recordWords), offset, shift);
      Atomics.store(schedule, SCHEDULE.root(tree.tree, nTrees), tree.root + shift);
    }
    sink.clear();
  };

  for (;;) {
    const t = Atomics.add(schedule, SCHEDULE.next, 1);
    if (t >= nTrees) break;
    if (t === data.failTree) throw new Error(`test failure on tree ${t}`);
    const start = sink.count;
    const root = builder.buildTree(t, new Kiss64(BigInt.asUintN(64, BigInt(data.seed) + BigInt(t))));
    held.push({ tree: t, start, count: sink.count - start, root });
    Atomics.store(schedule, SCHEDULE.count(t), sink.count - start);
    Atomics.notify(schedule, SCHEDULE.count(t));
    Atomics.store(control, 2 + 2 * slot, ++built);
    Atomics.notify(control, 0);
    placeHeld(false);
  }
  placeHeld(true);
  port.postMessage({ spilled } satisfies BuildWorkerResult, spilled.map((s) => s.words.buffer as ArrayBuffer));
} catch (e) {
  Atomics.store(schedule, SCHEDULE.abort, 1);
  for (let t = 0; t < nTrees; t++) Atomics.notify(schedule, SCHEDULE.count(t));
  port.postMessage({ error: e instanceof Error ? e.message : String(e), aborted: e instanceof Aborted } satisfies BuildWorkerResult);
} finally {
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
}
