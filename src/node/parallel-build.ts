import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { ForestRequest } from '../annoy-index.ts';
import { appendRootCopies } from '../build/forest.ts';
import { AnnoyError } from '../errors.ts';
import type { BuildWorkerData, BuildWorkerResult } from './build-worker.ts';
import { startWorker } from './workers.ts';

/** Below this much work (items × dimension × trees), starting workers costs more than it saves. */
const WORTH_PARALLEL = 5e7;
const BATCH = 4096;

/** How many workers a build with `nJobs` uses: explicit counts are honoured, -1 means "all cores, when it pays". */
export function buildWorkers(request: ForestRequest): number {
  const { nJobs, nTrees, nItems, metric } = request;
  if (nTrees === -1 || nTrees < 2 || nJobs === 1 || !request.memory.arena.shared) return 1;
  if (nJobs === -1) return nItems * metric.f * nTrees >= WORTH_PARALLEL ? Math.min(availableParallelism(), nTrees) : 1;
  return Math.min(nJobs, nTrees);
}

/**
 * Builds the forest on `workers` threads, Annoy's way: worker w takes ⌊(q + w) / workers⌋ of the q
 * trees and seeds its generator with seed + w. Every worker reads the items in place from the
 * shared memory and builds its trees into a local buffer; the calling thread waits (synchronously,
 * as build() is synchronous), then appends worker 0's trees, worker 1's, … shifting their record
 * ids, and finally the root copies. The result depends only on the items, the seed, the tree
 * count and the number of workers.
 */
export function buildForestInParallel(request: ForestRequest, workers: number): number[] {
  const { memory, metric, nItems, nTrees, seed, onProgress } = request;
  const { arena, store } = memory;
  metric.prepareBuild(store, nItems);
  const rb = metric.recordBytes;
  let present = 0;
  for (let i = 0; i < nItems; i++) if (arena.i32[store.word(i)] >= 1) present++;

  // Scratch records and batch windows for each worker, in the shared memory (allocated before any starts).
  const scratch = Array.from({ length: workers }, () => ({
    centroids: arena.alloc(3 * rb), plane: arena.alloc(rb),
    batch: { capacity: BATCH, idsPtr: arena.alloc(4 * BATCH), outPtr: arena.alloc(4 * BATCH) },
  }));
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * workers)));
  const ports: MessagePort[] = [];
  const threads: Worker[] = [];
  try {
    for (let w = 0; w < workers; w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const data: BuildWorkerData = {
        memory: arena.memory!, metric: metric.name, f: metric.f, nItems, storeOffset: store.byteOffset, ...scratch[w],
        seed: BigInt.asUintN(64, seed + BigInt(w)).toString(), trees: Math.floor((nTrees + w) / workers), control, slot: w, port: port2,
      };
      threads.push(startWorker('build-worker', data, [port2]));
    }
    let reported = '';
    for (;;) {
      const done = Atomics.load(control, 0);
      if (onProgress) {
        let trees = 0, placed = 0, building = 0;
        for (let w = 0; w < workers; w++) {
          trees += Atomics.load(control, 2 + 2 * w);
          const p = Atomics.load(control, 1 + 2 * w);
          placed += p;
          if (p > 0) building++;
        }
        const key = `${trees}/${placed}`;
        if (key !== reported) {
          reported = key;
          onProgress({ trees, nTrees, placed, items: Math.max(1, building) * present });
        }
      }
      if (done === workers) break;
      Atomics.wait(control, 0, done, 250);
    }
  } finally {
    for (const t of threads) void t.terminate();
  }

  const results = ports.map((port) => receiveMessageOnPort(port)?.message as BuildWorkerResult | undefined);
  for (const port of ports) port.close();
  const roots: number[] = [];
  const K = metric.leafCapacity, cw = metric.childrenWord;
  results.forEach((result, w) => {
    if (!result) throw new AnnoyError(`build worker ${w} stopped without a result`);
    if ('error' in result) throw new AnnoyError(`build worker ${w} failed: ${result.error}`);
    const shift = store.count - nItems;
    const start = store.count;
    store.reserve(start + result.count);
    const i32 = arena.i32;
    i32.set(result.words, store.word(start));
    store.count = start + result.count;
    if (shift !== 0) {
      for (let k = 0; k < result.count; k++) {
        const base = store.word(start + k);
        if (i32[base] <= K) continue; // leaves list items, whose ids do not move
        for (let c = 0; c < 2; c++) if (i32[base + cw + c] >= nItems) i32[base + cw + c] += shift;
      }
    }
    for (const root of result.roots) roots.push(root + shift);
  });
  appendRootCopies(store, roots);
  onProgress?.({ trees: nTrees, nTrees, placed: present, items: present });
  return roots;
}
