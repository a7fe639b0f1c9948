import { AnnoyFormatError } from '../errors.ts';
import type { Metric } from '../metrics/metric.ts';
import { createIndexMemory, type IndexMemory } from '../index-memory.ts';
import type { Records } from '../records.ts';

/** Ids and counts are int32 in Annoy's files. */
const MAX_RECORDS = 0x7fffffff;

/** @internal Checks that `byteLength` bytes can be an index of this metric and dimension; returns the record count. */
export function recordCount(metric: Metric, byteLength: number): number {
  const s = metric.recordBytes;
  if (byteLength === 0) throw new AnnoyFormatError('the index is empty (0 bytes)');
  if (byteLength % s !== 0) {
    throw new AnnoyFormatError(
      `${byteLength} bytes is not a whole number of ${s}-byte records (metric '${metric.name}', f = ${metric.f}); ` +
        'the file is truncated, not an Annoy index, or was built with another f or metric',
    );
  }
  const n = byteLength / s;
  if (n > MAX_RECORDS) throw new AnnoyFormatError(`${n} records exceed Annoy's int32 record ids`);
  return n;
}

/**
 * @internal
 * Makes the records of an Annoy file searchable: finds the roots exactly like Annoy's loader, so
 * n_items, n_trees and the default search_k agree with Annoy; then walks every tree once to prove
 * that a query can never read outside the records or loop: every child and leaf id in range, no
 * node reachable twice.
 */
export function openRecords(metric: Metric, store: Records): { roots: number[]; nItems: number } {
  const nNodes = store.count;
  const what = `metric '${metric.name}', f = ${metric.f}`;
  const i32 = store.arena.i32, cw = metric.childrenWord;
  // Annoy's root scan: from the last record backwards, every record with the last record's n_descendants.
  const roots: number[] = [];
  const m = i32[store.word(nNodes - 1)];
  for (let i = nNodes - 1; i >= 0 && i32[store.word(i)] === m; i--) roots.push(i);
  // The last tree's own root sits just before the block of root copies: drop it, as Annoy does.
  if (roots.length > 1 && i32[store.word(roots[0]) + cw] === i32[store.word(roots[roots.length - 1]) + cw]) roots.pop();
  const nItems = m;
  if (nItems < 1 || nItems > nNodes) {
    throw new AnnoyFormatError(
      `no valid roots: the last record claims ${nItems} items but the file holds ${nNodes} records of ${metric.recordBytes} bytes (${what}); ` +
        'the file is not an Annoy index for this f and metric, or it was built with 0 trees',
    );
  }
  checkTrees(metric, store, roots, nItems, what);
  return { roots, nItems };
}

function checkTrees(metric: Metric, store: Records, roots: number[], nItems: number, what: string): void {
  const i32 = store.arena.i32, cw = metric.childrenWord, K = metric.leafCapacity;
  const nNodes = store.count;
  const visited = new Uint8Array(nNodes);
  let stack = new Int32Array(Math.max(64, 2 * roots.length));
  let size = 0;
  const fail = (msg: string): never => {
    throw new AnnoyFormatError(`inconsistent index (${what}): ${msg}; the file is damaged or was built with another f or metric`);
  };
  const push = (id: number): void => {
    if (size === stack.length) {
      const grown = new Int32Array(stack.length * 2);
      grown.set(stack);
      stack = grown;
    }
    stack[size++] = id;
  };
  for (const root of roots) push(root);
  while (size > 0) {
    const id = stack[--size];
    const base = store.word(id);
    const nd = i32[base];
    if (id < nItems) {
      if (nd !== 0 && nd !== 1) fail(`item record ${id} has n_descendants = ${nd} (expected 0 or 1)`);
      continue;
    }
    if (visited[id]) fail(`record ${id} is reachable twice`);
    visited[id] = 1;
    if (nd < 0) fail(`record ${id} has n_descendants = ${nd}`);
    if (nd <= K) {
      for (let j = 0; j < nd; j++) {
        const item = i32[base + cw + j];
        if (item < 0 || item >= nItems) fail(`leaf record ${id} lists item ${item}, outside 0 … ${nItems - 1}`);
      }
    } else {
      for (let c = 0; c < 2; c++) {
        const child = i32[base + cw + c];
        if (child < 0 || child >= nNodes) fail(`split record ${id} points to record ${child}, outside 0 … ${nNodes - 1}`);
        push(child);
      }
      const problem = metric.checkSplit(store, id);
      if (problem) fail(problem);
    }
  }
}

/** @internal Copies index bytes into a fresh index memory and opens them (see openRecords). */
export function openIndexBytes(
  metric: Metric, buffer: ArrayBufferLike, byteOffset: number, byteLength: number,
): { memory: IndexMemory; store: Records; roots: number[]; nItems: number } {
  const n = recordCount(metric, byteLength);
  const memory = createIndexMemory(metric.recordBytes, n);
  memory.arena.u8.set(new Uint8Array(buffer, byteOffset, byteLength), memory.store.byteOffset);
  memory.store.count = n;
  return { memory, store: memory.store, ...openRecords(metric, memory.store) };
}
