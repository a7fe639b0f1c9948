import { AnnoyFormatError } from '../errors.ts';
import type { Metric } from '../metrics/metric.ts';
import { Records } from '../records.ts';

export interface OpenedIndex {
  store: Records;
  roots: number[];
  nItems: number;
}

/** Ids and counts are int32 in Annoy's files. */
const MAX_RECORDS = 0x7fffffff;

/**
 * Turns the bytes of an Annoy file into a searchable index without copying them (when they are
 * 4-byte aligned). Finds the roots exactly like Annoy's loader, so n_items, n_trees and the
 * default search_k agree with Annoy; then walks every tree once to prove that a query can never
 * read outside the buffer or loop: every child and leaf id in range, no node reachable twice.
 */
export function openIndexBytes(metric: Metric, buffer: ArrayBufferLike, byteOffset: number, byteLength: number): OpenedIndex {
  const s = metric.recordBytes;
  const what = `metric '${metric.name}', f = ${metric.f}`;
  if (byteLength === 0) throw new AnnoyFormatError('the index is empty (0 bytes)');
  if (byteLength % s !== 0) {
    throw new AnnoyFormatError(
      `${byteLength} bytes is not a whole number of ${s}-byte records (${what}); ` +
        'the file is truncated, not an Annoy index, or was built with another f or metric',
    );
  }
  const nNodes = byteLength / s;
  if (nNodes > MAX_RECORDS) throw new AnnoyFormatError(`${nNodes} records exceed Annoy's int32 record ids`);

  let store: Records;
  if (byteOffset % 4 === 0) {
    store = Records.wrap(s, buffer as ArrayBuffer, byteOffset, byteLength);
  } else {
    const copy = new ArrayBuffer(byteLength);
    new Uint8Array(copy).set(new Uint8Array(buffer, byteOffset, byteLength));
    store = Records.wrap(s, copy, 0, byteLength);
  }

  const i32 = store.i32, rw = store.recordWords, cw = metric.childrenWord;
  // Annoy's root scan: from the last record backwards, every record with the last record's n_descendants.
  const roots: number[] = [];
  const m = i32[(nNodes - 1) * rw];
  for (let i = nNodes - 1; i >= 0 && i32[i * rw] === m; i--) roots.push(i);
  // The last tree's own root sits just before the block of root copies: drop it, as Annoy does.
  if (roots.length > 1 && i32[roots[0] * rw + cw] === i32[roots[roots.length - 1] * rw + cw]) roots.pop();
  const nItems = m;
  if (nItems < 1 || nItems > nNodes) {
    throw new AnnoyFormatError(
      `no valid roots: the last record claims ${nItems} items but the file holds ${nNodes} records of ${s} bytes (${what}); ` +
        'the file is not an Annoy index for this f and metric, or it was built with 0 trees',
    );
  }
  checkTrees(metric, store, roots, nItems, what);
  return { store, roots, nItems };
}

function checkTrees(metric: Metric, store: Records, roots: number[], nItems: number, what: string): void {
  const i32 = store.i32, rw = store.recordWords, cw = metric.childrenWord, K = metric.leafCapacity;
  const nNodes = store.count;
  const visited = new Uint8Array(nNodes);
  const stack = new Int32Array(Math.max(16, 2 * roots.length + 64));
  let stackSize = 0;
  let stackBuf = stack;
  const fail = (msg: string): never => {
    throw new AnnoyFormatError(`inconsistent index (${what}): ${msg}; the file is damaged or was built with another f or metric`);
  };
  const push = (id: number): void => {
    if (stackSize === stackBuf.length) {
      const next = new Int32Array(stackBuf.length * 2);
      next.set(stackBuf);
      stackBuf = next;
    }
    stackBuf[stackSize++] = id;
  };
  for (const root of roots) push(root);
  while (stackSize > 0) {
    const id = stackBuf[--stackSize];
    const base = id * rw;
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
