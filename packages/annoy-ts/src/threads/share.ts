// Sharing an index with other threads: one thread describes its index (shareIndex), another
// attaches to the description (attachIndex) and searches the same WebAssembly memory in place —
// nothing is copied per thread. The query pool, the parallel build's workers and the server's
// loading thread all share this way. No Node built-ins: browsers with cross-origin isolation
// (SharedArrayBuffer) can share an index with Web Workers too.
import { AnnoyIndex, type AttachedGraph } from '../annoy-index.ts';
import { AnnoyArgumentError, AnnoyStateError } from '../errors.ts';
import type { Batch, SearchMemory, WalkWorkspace } from '../index-memory.ts';
import type { WasmMemory } from '../kernels/wasm.ts';
import { createMetric, describe, isMetricName } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { Arena, Records } from '../records.ts';
import { describeRecords, recordsIn, type SharedRecords } from './regions.ts';
import { allocateWalkWorkspace, maxQueue } from '../search/search.ts';

/** Marks a SharedIndex (and its layout's version) among whatever else a thread may receive. */
const KIND = 'annoy-ts/shared-index@1';

const BATCH = 4096;

/**
 * An index described for another thread, to pass in postMessage or workerData: that thread's
 * attachIndex() searches the same memory in place. Only the fields below are meant to be read;
 * the rest of the description is private to annoy-ts.
 */
export interface SharedIndex {
  readonly kind: typeof KIND;
  readonly f: number;
  readonly metric: MetricName;
  readonly nItems: number;
  /** @internal The index's WebAssembly memory (its buffer is a SharedArrayBuffer). */
  readonly memory: WasmMemory;
  /** @internal Where the records are, and how many. */
  readonly store: SharedRecords;
  /** @internal */
  readonly roots: readonly number[];
  /** @internal The attaching thread's own scratch space in the memory: query record, batch window, walk state. */
  readonly query: number;
  /** @internal */
  readonly batch: Batch;
  /** @internal */
  readonly walk: WalkWorkspace;
  /** @internal The index's neighbour graph in the memory, with the attaching thread's workspace for it (null: none). */
  readonly graph: AttachedGraph | null;
}

/**
 * Describes a built or loaded index for one other thread, and reserves that thread's scratch space
 * (query record, batch window, walk state) in the index's memory: call it once per thread. The
 * index's memory must be shareable (kernelInfo().sharedMemory: WebAssembly SIMD and
 * SharedArrayBuffer). The index must not be unbuilt, reloaded or unloaded while other threads
 * search it: their view would be stale.
 *
 * ```ts
 * // main thread
 * new Worker(url, { workerData: shareIndex(index) });
 * // worker
 * const index = attachIndex(workerData);
 * index.getNnsByVector(v, 10);
 * ```
 */
export function shareIndex(index: AnnoyIndex): SharedIndex {
  if (!(index instanceof AnnoyIndex)) throw new AnnoyArgumentError(`shareIndex needs an AnnoyIndex, got ${describe(index)}`);
  const { metric, memory, roots, nItems, graph } = index.searchState();
  const { arena, store } = memory;
  if (!arena.shared || !arena.memory) {
    throw new AnnoyStateError('this index\'s memory cannot be shared with other threads (no SharedArrayBuffer or WebAssembly SIMD here)');
  }
  return {
    kind: KIND, f: index.f, metric: index.metric, nItems,
    memory: arena.memory, store: describeRecords(store), roots: [...roots],
    query: arena.alloc(metric.recordBytes),
    batch: { capacity: BATCH, idsPtr: arena.alloc(4 * BATCH), outPtr: arena.alloc(4 * BATCH) },
    walk: allocateWalkWorkspace(store, roots, nItems, maxQueue(roots, store)),
    graph: graph && { placed: graph.placed, ...graph.reserve(roots.length) },
  };
}

/**
 * The index another thread shared (shareIndex): read-only, searching that thread's memory in
 * place. Saving it (toBuffer, save under Node) works; building, adding and loading into it do not.
 */
export function attachIndex(shared: SharedIndex): AnnoyIndex {
  return attachIndexAs(AnnoyIndex, shared);
}

/** @internal attachIndex giving an instance of `Index` (the Node entry's AnnoyIndex). */
export function attachIndexAs<T extends AnnoyIndex>(Index: new (f: number, metric: MetricName) => T, shared: SharedIndex): T {
  checkShared(shared);
  const index = new Index(shared.f, shared.metric);
  const arena = new Arena(0, shared.memory);
  const rb = createMetric(shared.f, shared.metric).recordBytes;
  const store = recordsIn(arena, rb, shared.store);
  if (store.byteOffset + store.count * rb > arena.buffer.byteLength) {
    throw new AnnoyArgumentError(`the shared index's ${store.count} records of ${rb} bytes do not fit its memory: this is not a SharedIndex of this f and metric`);
  }
  const memory: SearchMemory = { arena, store, query: new Records(arena, rb, 1, false, shared.query), batch: shared.batch, walk: shared.walk };
  index.attach(memory, shared.roots, shared.nItems, shared.graph ?? null);
  return index;
}

/** Refuses anything that is not a SharedIndex, so attaching never reads outside the memory. */
function checkShared(shared: SharedIndex): void {
  const bad = (what: string): never => {
    throw new AnnoyArgumentError(`not a shared index (from shareIndex): ${what}`);
  };
  if (shared === null || typeof shared !== 'object') bad(`got ${describe(shared)}`);
  if (shared.kind !== KIND) bad(`kind is ${describe(shared.kind)}, expected "${KIND}"`);
  if (!isMetricName(shared.metric)) bad(`unknown metric ${describe(shared.metric)}`);
  const Memory = (globalThis as { WebAssembly?: { Memory: abstract new (...args: never[]) => unknown } }).WebAssembly?.Memory;
  if (!Memory || !(shared.memory instanceof Memory)) bad(`memory must be a WebAssembly.Memory, got ${describe(shared.memory)}`);
  const size = shared.memory.buffer.byteLength;
  const offset = (value: unknown, what: string): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= size) bad(`${what} is ${describe(value)}, outside the memory`);
  };
  const count = (value: unknown, what: string): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) bad(`${what} must be a positive integer, got ${describe(value)}`);
  };
  count(shared.f, 'f');
  count(shared.nItems, 'nItems');
  if (shared.store === null || typeof shared.store !== 'object') bad(`store is ${describe(shared.store)}`);
  offset(shared.store.byteOffset, 'the store');
  count(shared.store.count, 'the store\'s record count');
  if (shared.nItems > shared.store.count) bad(`${shared.nItems} items but only ${shared.store.count} records`);
  offset(shared.query, 'the query record');
  if (shared.batch === null || typeof shared.batch !== 'object') bad(`batch is ${describe(shared.batch)}`);
  offset(shared.batch.idsPtr, 'the batch window');
  offset(shared.batch.outPtr, 'the batch window');
  if (shared.walk === null || typeof shared.walk !== 'object') bad(`walk is ${describe(shared.walk)}`);
  if (!Array.isArray(shared.roots) || shared.roots.length === 0) bad(`roots must be a non-empty array, got ${describe(shared.roots)}`);
  for (const root of shared.roots) {
    if (!Number.isInteger(root) || root < 0 || root >= shared.store.count) bad(`root ${describe(root)} is not a record of the store`);
  }
  if (shared.graph != null) {
    const g = shared.graph;
    if (typeof g !== 'object' || g.placed === null || typeof g.placed !== 'object' || g.workspace === null || typeof g.workspace !== 'object') bad(`graph is ${describe(g)}`);
    if (g.placed.nItems !== shared.nItems) bad(`the graph covers ${describe(g.placed.nItems)} items, the index ${shared.nItems}`);
    offset(g.placed.offsets, 'the graph');
    offset(g.placed.neighbours, 'the graph');
    offset(g.rootsAt, 'the graph\'s roots');
    for (const [name, at] of Object.entries(g.workspace)) offset(at, `the graph workspace's ${name}`);
  }
}
