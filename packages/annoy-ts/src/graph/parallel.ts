// The graph build on several threads sharing its build memory (graph/build.ts). Every step is
// split the same way for any number of threads, and its results do not depend on that number:
// node ranges are cut in contiguous pieces, a join step's updates are applied in node order
// whatever thread computed them, and each node's heap is written by one thread only (the one whose
// partition, id mod threads, holds it). The calling thread is thread 0; the others are started by
// the runtime's threading (the Node entry's worker threads, node/graph-workers.ts). No runtime
// built-ins here: just Atomics over a shared control block.
import type { WasmMemory } from '../kernels/wasm.ts';
import { attachBuildKernels, type BuildExports } from './kernels.ts';

/** One thread's scratch regions in the build memory (byte offsets). */
export interface ThreadRegions {
  /** Join updates (12-byte triples) this thread computes in a step. */
  buf: number;
  /** One int32 per item, zero between uses. */
  mark: number;
  set: number;
  scratch: number;
}

export const OP = { SAMPLE_FORWARD: 1, SAMPLE_REVERSE: 2, JOIN: 3, APPLY: 4, PRUNE: 5, MERGE: 6, STOP: 99 } as const;
type Op = (typeof OP)[keyof typeof OP];

/** Most threads a build uses (buildGraph caps its thread count at this). */
export const MAX_THREADS = 64;
/** Argument words of a step: APPLY takes one per thread. */
const MAX_ARGS = MAX_THREADS;
/** Words of the control block: generation, threads done, a failure flag, the step, its arguments, each thread's result. */
const C = { GEN: 0, DONE: 1, FAILED: 2, OP: 3, ARGS: 4, RESULTS: 4 + MAX_ARGS } as const;
export const controlWords = (threads: number): number => C.RESULTS + threads;

/** What a worker thread of the build needs (posted to it once). */
export interface GraphWorkerData {
  memory: WasmMemory;
  module: object;
  control: Int32Array;
  block: number;
  regions: ThreadRegions[];
  slot: number;
}

/** How a runtime starts the build's other threads (slots 1 … threads − 1); stop() ends them. */
export type GraphThreadStarter = (data: Omit<GraphWorkerData, 'slot'>, threads: number) => { stop(): void };

/** A runtime's threading for the graph build: how many threads for nJobs (-1: all cores when it pays), and how to start them. */
export interface GraphThreading {
  threads(nJobs: number, work: number): number;
  start: GraphThreadStarter;
}

/** The piece [lo, hi) of thread t of `threads`. */
function piece(lo: number, hi: number, t: number, threads: number): [number, number] {
  const n = hi - lo;
  return [lo + Math.floor((n * t) / threads), lo + Math.floor((n * (t + 1)) / threads)];
}

/** Thread `t`'s share of a step. */
function execute(k: BuildExports, block: number, regions: readonly ThreadRegions[], t: number, op: Op, args: ArrayLike<number>): number {
  const threads = regions.length;
  const r = regions[t];
  switch (op) {
    case OP.SAMPLE_FORWARD: {
      const [lo, hi] = piece(args[0], args[1], t, threads);
      k.buildSampleForward(block, lo, hi, r.scratch);
      return 0;
    }
    case OP.SAMPLE_REVERSE:
      k.buildSampleReverse(block, t, threads);
      return 0;
    case OP.JOIN: {
      const [lo, hi] = piece(args[0], args[1], t, threads);
      return k.buildJoin(block, lo, hi, r.buf, r.mark, r.set);
    }
    case OP.APPLY: {
      let updates = 0;
      for (let u = 0; u < threads; u++) updates += k.buildApply(block, regions[u].buf, args[u], t, threads);
      return updates;
    }
    case OP.PRUNE: {
      const [lo, hi] = piece(args[0], args[1], t, threads);
      k.buildPrune(block, lo, hi, r.scratch);
      return 0;
    }
    case OP.MERGE: {
      const [lo, hi] = piece(args[0], args[1], t, threads);
      k.buildMerge(block, lo, hi, args[2], args[3], args[4], args[5], args[6], r.mark, r.scratch, args[7]);
      return 0;
    }
    default:
      return 0;
  }
}

/** The build's threads, seen from the calling thread (thread 0). */
export class BuildThreads {
  private readonly control: Int32Array;
  private readonly stopper: { stop(): void } | null;

  constructor(
    private readonly k: BuildExports, private readonly block: number, readonly regions: readonly ThreadRegions[],
    memory: WasmMemory, module: object, start: GraphThreadStarter | null,
  ) {
    const threads = regions.length;
    this.control = new Int32Array(new SharedArrayBuffer(4 * controlWords(threads)));
    this.stopper = threads > 1 && start ? start({ memory, module, control: this.control, block, regions: [...regions] }, threads) : null;
  }

  get count(): number {
    return this.regions.length;
  }

  /** Runs a step on every thread and returns each thread's result. */
  run(op: Op, args: readonly number[]): number[] {
    const threads = this.regions.length;
    if (threads === 1) return [execute(this.k, this.block, this.regions, 0, op, args)];
    const c = this.control;
    if (args.length > MAX_ARGS) throw new Error('internal: too many step arguments');
    c[C.OP] = op;
    for (let i = 0; i < args.length; i++) c[C.ARGS + i] = args[i];
    Atomics.store(c, C.DONE, 0);
    Atomics.add(c, C.GEN, 1);
    Atomics.notify(c, C.GEN);
    const results = new Array<number>(threads).fill(0);
    let failure: unknown = null;
    try {
      results[0] = execute(this.k, this.block, this.regions, 0, op, args);
    } catch (e) {
      failure = e;
    }
    for (let done = Atomics.load(c, C.DONE); done < threads - 1; done = Atomics.load(c, C.DONE)) Atomics.wait(c, C.DONE, done, 1000);
    if (failure) throw failure;
    if (Atomics.load(c, C.FAILED)) throw new Error('a graph build worker failed');
    for (let t = 1; t < threads; t++) results[t] = c[C.RESULTS + t];
    return results;
  }

  /** Ends the other threads. */
  close(): void {
    if (!this.stopper) return;
    const c = this.control;
    c[C.OP] = OP.STOP;
    Atomics.add(c, C.GEN, 1);
    Atomics.notify(c, C.GEN);
    this.stopper.stop();
  }
}

/** A worker thread's loop: runs its share of each step until told to stop. */
export function graphWorkerLoop(data: GraphWorkerData): void {
  const k = attachBuildKernels(data.memory, data.module);
  const c = data.control;
  let gen = 0;
  for (;;) {
    Atomics.wait(c, C.GEN, gen);
    gen = Atomics.load(c, C.GEN);
    const op = c[C.OP] as Op;
    if (op === OP.STOP) return;
    try {
      c[C.RESULTS + data.slot] = execute(k, data.block, data.regions, data.slot, op, c.subarray(C.ARGS, C.ARGS + MAX_ARGS));
    } catch {
      Atomics.store(c, C.FAILED, 1);
    }
    Atomics.add(c, C.DONE, 1);
    Atomics.notify(c, C.DONE);
  }
}
