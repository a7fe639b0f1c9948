import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { ForestRequest } from '../annoy-index.ts';
import { appendRootCopies } from '../build/forest.ts';
import { AnnoyError } from '../errors.ts';
import { kernelModuleForWorkers } from '../kernels/kernels.ts';
import type { Records } from '../records.ts';
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
 * shared memory and writes its tree records into its own region of the store, reserved from an
 * estimate of its record count; the calling thread waits (synchronously, as build() is
 * synchronous), then slides the regions together — worker 0's records, worker 1's, … — shifting
 * the ids they hold, and appends the root copies. The result depends only on the items, the seed,
 * the tree count and the number of workers, never on how well the estimates guessed.
 */
export function buildForestInParallel(request: ForestRequest, workers: number): number[] {
  const { memory, metric, nItems, nTrees, seed, onProgress } = request;
  const { arena, store } = memory;
  metric.prepareBuild(store, nItems);
  const rb = metric.recordBytes;
  let present = 0;
  for (let i = 0; i < nItems; i++) if (arena.i32[store.word(i)] >= 1) present++;

  const treesOf = (w: number) => Math.floor((nTrees + w) / workers);
  const regions = reserveRegions(store, nItems, Array.from({ length: workers }, (_, w) => treesOf(w)), metric.leafCapacity);
  // Scratch records and batch windows for each worker, above the store's regions.
  const scratch = Array.from({ length: workers }, () => ({
    centroids: arena.alloc(3 * rb), plane: arena.alloc(rb),
    batch: { capacity: BATCH, idsPtr: arena.alloc(4 * BATCH), outPtr: arena.alloc(4 * BATCH) },
  }));
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * workers)));
  const kernels = kernelModuleForWorkers();
  const ports: MessagePort[] = [];
  const threads: Worker[] = [];
  try {
    for (let w = 0; w < workers; w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const data: BuildWorkerData = {
        memory: arena.memory!, kernels, metric: metric.name, f: metric.f, nItems, storeOffset: store.byteOffset,
        region: regions[w], ...scratch[w],
        seed: BigInt.asUintN(64, seed + BigInt(w)).toString(), trees: treesOf(w), control, slot: w, port: port2,
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

  const results = ports.map((port, w) => {
    const result = receiveMessageOnPort(port)?.message as BuildWorkerResult | undefined;
    port.close();
    if (!result) throw new AnnoyError(`build worker ${w} stopped without a result`);
    if ('error' in result) throw new AnnoyError(`build worker ${w} failed: ${result.error}`);
    return result;
  });
  const roots = mergeRegions(store, nItems, metric, regions, results);
  appendRootCopies(store, roots);
  onProgress?.({ trees: nTrees, nTrees, placed: present, items: present });
  return roots;
}

let estimateScales = [1, 0.5, 0];

/** Tests: shrinks the regions to `scale` × the estimate, so workers' records spill out of them. */
export function scaleRegionsForTest(scale: number | null): void {
  estimateScales = scale === null ? [1, 0.5, 0] : [scale];
}

interface Region {
  start: number;
  capacity: number;
}

/**
 * Reserves one region of the store per worker, after the items, each sized from how many records
 * trees usually take (leaves end up between half full and full, and a tree has about as many
 * splits as leaves), with room to spare. Never more than the n − 1 records a tree can have; less
 * when the index's memory cannot hold the estimate (the rest then spills into worker buffers).
 */
function reserveRegions(store: Records, nItems: number, trees: number[], leafCapacity: number): Region[] {
  const perTree = Math.min(Math.max(1, nItems - 1), Math.ceil(5 * nItems / leafCapacity) + 16);
  for (const scale of estimateScales) {
    const capacities = trees.map((t) => Math.floor(t * perTree * scale));
    try {
      store.reserve(nItems + capacities.reduce((a, b) => a + b, 0) + trees.reduce((a, b) => a + b, 0));
    } catch (e) {
      if (scale === estimateScales.at(-1)) throw e;
      continue;
    }
    let start = nItems;
    return capacities.map((capacity) => {
      const region = { start, capacity };
      start += capacity;
      return region;
    });
  }
  throw new Error('unreachable');
}

/**
 * Moves every worker's records to their final place — right after the previous worker's — adding
 * the move's distance to the record ids they hold, sets the store's count and returns the roots.
 */
function mergeRegions(
  store: Records, nItems: number, metric: { leafCapacity: number; childrenWord: number },
  regions: Region[], results: Extract<BuildWorkerResult, { count: number }>[],
): number[] {
  const rw = store.recordWords;
  const total = results.reduce((sum, r) => sum + r.count, 0);
  const spilled = results.some((r) => r.spilled > 0);
  // Without spills every region moves down (or stays), in worker order, so no move overwrites
  // records still waiting to move. A spill can push later regions up: copy the regions out first.
  const parts = results.map((r, w) => {
    const inRegion = Math.min(r.count, regions[w].capacity);
    const from = store.word(regions[w].start);
    return spilled ? store.arena.i32.slice(from, from + inRegion * rw) : null;
  });
  let highWater = nItems;
  for (let w = 0; w < regions.length; w++) highWater = Math.max(highWater, regions[w].start + Math.min(results[w].count, regions[w].capacity));
  store.reserve(nItems + total + results.reduce((n, r) => n + r.roots.length, 0));
  const i32 = store.arena.i32;
  const roots: number[] = [];
  let at = nItems;
  results.forEach((result, w) => {
    const { start, capacity } = regions[w];
    const inRegion = Math.min(result.count, capacity);
    const part = parts[w];
    if (part) i32.set(part, store.word(at));
    else if (at !== start) i32.copyWithin(store.word(at), store.word(start), store.word(start + inRegion));
    i32.set(result.spill, store.word(at + inRegion));
    const shift = at - start;
    if (shift !== 0) {
      const K = metric.leafCapacity, cw = metric.childrenWord;
      for (let k = 0; k < result.count; k++) {
        const base = store.word(at + k);
        if (i32[base] <= K) continue; // leaves list items, whose ids do not move
        for (let c = 0; c < 2; c++) if (i32[base + cw + c] >= nItems) i32[base + cw + c] += shift;
      }
    }
    for (const root of result.roots) roots.push(root >= nItems ? root + shift : root);
    at += result.count;
  });
  // Records past the count must be zero (appends rely on it): clear what the moves left behind.
  if (highWater > at) i32.fill(0, store.word(at), store.word(highWater));
  store.count = at;
  return roots;
}
