// One builder of a parallel build: the loop that the calling thread and every worker run (see
// parallel-build.ts). Builders claim trees one at a time from a counter in a shared schedule, build
// each with that tree's own generator, reading the items in place from the index's shared memory,
// and copy each finished tree to its final place in the store as soon as the sizes of all earlier
// trees are known. No worker_threads here: importing this module starts nothing. It also holds
// what the calling thread and the workers (build-worker.ts) send each other.
import type { MessagePort } from 'node:worker_threads';
import { LocalSink, placeTree, TreeBuilder, type BuildScratch } from '../forest/forest.ts';
import type { Batch } from '../index-memory.ts';
import type { WasmMemory } from '../kernels/wasm.ts';
import type { Metric, MetricName } from '../metrics/metric.ts';
import { Kiss64 } from '../random/kiss64.ts';
import type { Records } from '../records.ts';
import type { SharedRecords } from '../threads/regions.ts';

/**
 * @internal Fault injection, for tests only (node/internal/faults.ts makes these; the package never
 * does): `fail` makes the builder that claims tree `tree` fail, or every worker fail as it starts;
 * `treeRoomScale` reserves that fraction of the usual room for tree records, so trees spill to
 * the calling thread.
 */
export interface BuildFaults {
  readonly fail?: { readonly tree: number } | 'workers';
  readonly treeRoomScale?: number;
}

/** @internal What a build worker is started with. */
export interface BuildWorkerData {
  memory: WasmMemory;
  /** The calling thread's compiled kernels (null: compile them here). */
  kernels: object | null;
  metric: MetricName;
  f: number;
  nTrees: number;
  /** The items (count = nItems); tree records go after them, up to `storeCapacity` records. */
  store: SharedRecords;
  /** Records the store has room for: trees that would end beyond it go back to the calling thread. */
  storeCapacity: number;
  recordsPerTree: number;
  /** Byte offsets of this worker's scratch records and batch window in the shared memory. */
  centroids: number;
  plane: number;
  batch: Batch;
  /** The build's seed (decimal); tree t uses seed + t. */
  seed: string;
  schedule: Int32Array;
  control: Int32Array;
  slot: number;
  port: MessagePort;
  faults: BuildFaults;
}

/** @internal A worker's spilled trees, or why it failed (`aborted`: it stopped because another builder failed). */
export type BuildWorkerResult = { spilled: SpilledTree[] } | { error: string; aborted: boolean };

/** @internal Word positions in the schedule shared by the builders of one build. */
export const SCHEDULE = {
  /** The next tree to claim. */
  next: 0,
  /** Set when a builder fails, so that the others stop instead of waiting for trees that will never come. */
  abort: 1,
  /** Records in tree t (-1 until it is built). */
  count: (t: number) => 2 + t,
  /** Final id of tree t's root, once its builder has put it in place (-1 before). */
  root: (t: number, nTrees: number) => 2 + nTrees + t,
  words: (nTrees: number) => 2 + 2 * nTrees,
};

/** @internal Progress words: [workers done, then per builder: items placed in its current tree, trees it finished]. */
export const CONTROL = {
  done: 0,
  placed: (slot: number) => 1 + 2 * slot,
  trees: (slot: number) => 2 + 2 * slot,
  words: (builders: number) => 1 + 2 * builders,
};

/** @internal A tree that did not fit the store: its records, with ids numbered from `firstId`, and its root. */
export interface SpilledTree {
  tree: number;
  words: Int32Array;
  firstId: number;
  root: number;
}

/** @internal Thrown in a builder that stops because another one failed. */
export class Aborted extends Error {
  constructor() {
    super('stopped: the build failed elsewhere');
  }
}

/** @internal */
export interface Builder {
  /** The store with the items (count = nItems); tree records go from nItems to `storeCapacity`. */
  store: Records;
  storeCapacity: number;
  /** About how many records one tree takes (the local buffer starts with room for one). */
  recordsPerTree: number;
  metric: Metric;
  nItems: number;
  nTrees: number;
  seed: bigint;
  scratch: BuildScratch;
  schedule: Int32Array;
  control: Int32Array;
  slot: number;
  /** Called with this builder's progress after its control words are updated (the calling thread reports from here). */
  onProgress?: () => void;
  /** Fault injection (BuildFaults): fail on claiming this tree. */
  failTree: number | null;
}

interface Held {
  tree: number;
  /** First record in the local sink, record count, root id (local numbering). */
  start: number;
  count: number;
  root: number;
}

/** @internal Builds trees until none is left to claim; returns the ones that did not fit the store. */
export function runBuilder(b: Builder): SpilledTree[] {
  const { store, metric, nItems, nTrees, schedule, control, slot } = b;
  const rw = store.recordWords;
  const checkAbort = () => {
    if (Atomics.load(schedule, SCHEDULE.abort)) throw new Aborted();
  };
  const sink = new LocalSink(rw, metric.childrenWord, nItems, b.recordsPerTree);
  const builder = new TreeBuilder({
    store, sink, metric, nItems, nTrees, scratch: b.scratch,
    onProgress: (p) => {
      checkAbort();
      Atomics.store(control, CONTROL.placed(slot), p.placed === p.items ? 0 : p.placed);
      Atomics.notify(control, CONTROL.done);
      b.onProgress?.();
    },
  });
  const held: Held[] = [];
  const spilled: SpilledTree[] = [];
  let built = 0;

  // Trees 0 … known−1 have known sizes and end at record `knownEnd`: a builder places its trees in
  // increasing order, so this cursor only moves forward.
  let known = 0, knownEnd = nItems;
  /** Where tree t starts in the store, or -1 while an earlier tree is unfinished (with `wait`: waits for them). */
  const offsetOf = (t: number, wait: boolean): number => {
    for (; known < t; known++) {
      let c = Atomics.load(schedule, SCHEDULE.count(known));
      while (c < 0 && wait) {
        checkAbort();
        Atomics.wait(schedule, SCHEDULE.count(known), c);
        c = Atomics.load(schedule, SCHEDULE.count(known));
      }
      if (c < 0) return -1;
      knownEnd += c;
    }
    return knownEnd;
  };

  /** Copies held trees to the store, oldest first, while their places are known. */
  const placeHeld = (wait: boolean): void => {
    while (held.length > 0) {
      checkAbort();
      const tree = held[0];
      const offset = offsetOf(tree.tree, wait);
      if (offset < 0) return;
      held.shift();
      const words = sink.words.subarray(tree.start * rw, (tree.start + tree.count) * rw);
      const shift = offset - (nItems + tree.start);
      if (offset + tree.count > b.storeCapacity) {
        spilled.push({ tree: tree.tree, words: words.slice(), firstId: nItems + tree.start, root: tree.root });
        continue;
      }
      placeTree(store, metric, nItems, words, offset, shift);
      Atomics.store(schedule, SCHEDULE.root(tree.tree, nTrees), tree.root + shift);
    }
    sink.clear();
  };

  for (;;) {
    const t = Atomics.add(schedule, SCHEDULE.next, 1);
    if (t >= nTrees) break;
    if (t === b.failTree) throw new Error(`injected failure on tree ${t}`);
    const start = sink.count;
    const root = builder.buildTree(t, new Kiss64(BigInt.asUintN(64, b.seed + BigInt(t))));
    held.push({ tree: t, start, count: sink.count - start, root });
    Atomics.store(schedule, SCHEDULE.count(t), sink.count - start);
    Atomics.notify(schedule, SCHEDULE.count(t));
    Atomics.store(control, CONTROL.trees(slot), ++built);
    Atomics.notify(control, CONTROL.done);
    b.onProgress?.();
    placeHeld(false);
  }
  placeHeld(true);
  return spilled;
}

/** @internal After a failure: tells every builder to stop (and wakes those waiting for a tree). */
export function abortBuild(schedule: Int32Array, nTrees: number): void {
  Atomics.store(schedule, SCHEDULE.abort, 1);
  for (let t = 0; t < nTrees; t++) Atomics.notify(schedule, SCHEDULE.count(t));
}
