// The Node entry's build policy: trees built on several threads over the index's shared memory.
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { appendRootCopies, placeTree } from '../forest/forest.ts';
import { callingThreadBuild, type BuildPolicy, type ForestRequest } from '../forest/policy.ts';
import { AnnoyError } from '../errors.ts';
import { kernelModuleForWorkers } from '../kernels/kernels.ts';
import type { Records } from '../records.ts';
import { describeRecords } from '../threads/regions.ts';
import {
  abortBuild, Aborted, CONTROL, runBuilder, SCHEDULE, type BuildFaults, type BuildWorkerData, type BuildWorkerResult, type SpilledTree,
} from './build-share.ts';
import { graphWorkerThreads } from './graph-workers.ts';
import { startWorker } from './workers.ts';

/** Below this much work (items × dimension × trees), starting workers costs more than it saves. */
const WORTH_PARALLEL = 5e7;
const BATCH = 4096;

/**
 * @internal The Node entry's build policy: on nJobs threads (the calling one and nJobs − 1
 * workers) when nJobs asks for more than one and the index's memory is shared; otherwise Annoy's
 * calling-thread build.
 */
export const workerThreadBuild: BuildPolicy = workerThreadBuildWith({});

/** @internal workerThreadBuild with injected faults (tests only: node/internal/faults.ts). */
export function workerThreadBuildWith(faults: BuildFaults): BuildPolicy {
  return {
    buildForest(request) {
      const threads = buildThreads(request);
      return threads > 1 ? buildForestInParallel(request, threads, faults) : callingThreadBuild.buildForest(request);
    },
    graphThreading: graphWorkerThreads,
  };
}

/**
 * How many threads (the calling one included) a build with `nJobs` uses: explicit counts are
 * honoured, -1 means "all cores, when it pays".
 */
function buildThreads(request: ForestRequest): number {
  const { nJobs, nTrees, nItems, metric } = request;
  if (nTrees === -1 || nTrees < 2 || nJobs === 1 || !request.memory.arena.shared) return 1;
  if (nJobs === -1) return nItems * metric.f * nTrees >= WORTH_PARALLEL ? Math.min(availableParallelism(), nTrees) : 1;
  return Math.min(nJobs, nTrees);
}

/**
 * Builds the forest on `builders` threads: the calling thread and builders − 1 workers. Tree t is
 * built with its own generator, seeded with seed + t, by whichever builder claims it first (so one
 * slowed down by the machine simply builds fewer trees), and lands in the store in tree order: each
 * builder copies a finished tree to its final place as soon as the sizes of all earlier trees are
 * known (build-share.ts). The file therefore depends only on the items, the seed and the tree count
 * — the same for every nJobs > 1 — while nJobs = 1 keeps Annoy's single generator. Afterwards the
 * calling thread places trees that did not fit the store's reserved room and appends the root copies.
 */
function buildForestInParallel(request: ForestRequest, builders: number, faults: BuildFaults): number[] {
  const { memory, metric, nItems, nTrees, seed, onProgress } = request;
  const { arena, store } = memory;
  metric.prepareBuild(store, nItems);
  const rb = metric.recordBytes;
  let present = 0;
  for (let i = 0; i < nItems; i++) if (arena.i32[store.word(i)] >= 1) present++;

  const perTree = recordsPerTree(nItems, metric.leafCapacity);
  reserveForTrees(store, nItems, nTrees, perTree, faults.treeRoomScale);
  // Scratch records and batch windows for each worker, above the store's reserved room (the
  // calling thread uses the index's own).
  const scratch = Array.from({ length: builders - 1 }, () => ({
    centroids: arena.alloc(3 * rb), plane: arena.alloc(rb),
    batch: { capacity: BATCH, idsPtr: arena.alloc(4 * BATCH), outPtr: arena.alloc(4 * BATCH) },
  }));
  const schedule = new Int32Array(new SharedArrayBuffer(4 * SCHEDULE.words(nTrees)));
  schedule.fill(-1, SCHEDULE.count(0));
  const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL.words(builders)));
  const kernels = kernelModuleForWorkers();
  const ports: MessagePort[] = [];
  const threads: Worker[] = [];
  const spilled: SpilledTree[] = [];
  let reported = '';
  const report = () => {
    if (!onProgress) return;
    let trees = 0, placed = 0, building = 0;
    for (let w = 0; w < builders; w++) {
      trees += Atomics.load(control, CONTROL.trees(w));
      const p = Atomics.load(control, CONTROL.placed(w));
      placed += p;
      if (p > 0) building++;
    }
    const key = `${trees}/${placed}`;
    if (key === reported) return;
    reported = key;
    onProgress({ trees, nTrees, placed, items: Math.max(1, building) * present });
  };
  let failure: unknown = null;
  try {
    for (let w = 1; w < builders; w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const data: BuildWorkerData = {
        memory: arena.memory!, kernels, metric: metric.name, f: metric.f, nTrees,
        store: describeRecords(store), storeCapacity: store.capacity, recordsPerTree: perTree, ...scratch[w - 1],
        seed: BigInt.asUintN(64, seed).toString(), schedule, control, slot: w, port: port2, faults,
      };
      threads.push(startWorker('build-worker', data, [port2]));
    }
    spilled.push(...runBuilder({
      store, storeCapacity: store.capacity, recordsPerTree: perTree, metric, nItems, nTrees, seed: BigInt.asUintN(64, seed),
      scratch: memory, schedule, control, slot: 0, onProgress: report, failTree: typeof faults.fail === 'object' ? faults.fail.tree : null,
    }));
    for (let done = Atomics.load(control, CONTROL.done); done < threads.length; done = Atomics.load(control, CONTROL.done)) {
      report();
      Atomics.wait(control, CONTROL.done, done, 250);
    }
  } catch (e) {
    // Stop the workers and wait until they have: they write into the store, which is cleaned below.
    failure = e;
    abortBuild(schedule, nTrees);
    for (let done = Atomics.load(control, CONTROL.done); done < threads.length; done = Atomics.load(control, CONTROL.done)) {
      Atomics.wait(control, CONTROL.done, done, 250);
    }
  } finally {
    for (const t of threads) void t.terminate();
  }

  ports.forEach((port, w) => {
    const result = receiveMessageOnPort(port)?.message as BuildWorkerResult | undefined;
    port.close();
    // The first builder to fail names the cause; the others only stopped because of it.
    if (failure && !(failure instanceof Aborted)) return;
    if (!result) failure = new AnnoyError(`build worker ${w + 1} stopped without a result`);
    else if ('error' in result) {
      if (!result.aborted) failure = new AnnoyError(`build worker ${w + 1} failed: ${result.error}`);
    } else spilled.push(...result.spilled);
  });
  if (failure) {
    clearPlacedTrees(store, nItems, nTrees, schedule);
    throw failure instanceof Aborted ? new AnnoyError('the parallel build failed') : failure;
  }

  const offsets: number[] = [];
  let end = nItems;
  for (let t = 0; t < nTrees; t++) {
    offsets.push(end);
    end += schedule[SCHEDULE.count(t)];
  }
  store.reserve(end + nTrees);
  for (const tree of spilled) {
    const shift = offsets[tree.tree] - tree.firstId;
    placeTree(store, metric, nItems, tree.words, offsets[tree.tree], shift);
    schedule[SCHEDULE.root(tree.tree, nTrees)] = tree.root + shift;
  }
  store.count = end;
  const roots = Array.from({ length: nTrees }, (_, t) => schedule[SCHEDULE.root(t, nTrees)]);
  appendRootCopies(store, roots);
  onProgress?.({ trees: nTrees, nTrees, placed: present, items: present });
  return roots;
}

/**
 * After a failed build: zero-fills the records the workers already put in place (records past
 * the store's count must be zero), which is as far as the last placed tree reaches.
 */
function clearPlacedTrees(store: Records, nItems: number, nTrees: number, schedule: Int32Array): void {
  let offset = nItems, reach = nItems;
  for (let t = 0; t < nTrees; t++) {
    const count = schedule[SCHEDULE.count(t)];
    if (count < 0) break; // later trees were never placed: their offsets were unknown
    offset += count;
    if (schedule[SCHEDULE.root(t, nTrees)] >= 0) reach = offset;
  }
  if (reach > nItems) store.arena.i32.fill(0, store.word(nItems), store.word(reach));
}

/** Fractions of the estimated room for tree records to try reserving, largest first. */
const ROOM_SCALES = [1, 0.5, 0.25, 0];

/**
 * A generous estimate of one tree's records: leaves end up between half full and full and a tree
 * has about as many splits as leaves (typically 3.4·n/K records), never more than the n − 1
 * records a tree can have.
 */
function recordsPerTree(nItems: number, leafCapacity: number): number {
  return Math.min(Math.max(1, nItems - 1), Math.ceil(8 * nItems / leafCapacity) + 64);
}

/**
 * Reserves room in the store for the trees' records, so that builders can write them in place;
 * less than the estimate when the index's memory cannot hold it (trees that do not fit are placed
 * afterwards by the calling thread).
 */
function reserveForTrees(store: Records, nItems: number, nTrees: number, perTree: number, forcedScale?: number): void {
  const scales = forcedScale === undefined ? ROOM_SCALES : [forcedScale];
  for (const scale of scales) {
    try {
      store.reserve(nItems + Math.floor(nTrees * perTree * scale));
      return;
    } catch (e) {
      if (scale === scales.at(-1)) throw e;
    }
  }
}
