// hnswlib-node for the benchmarks: a native addon, so loaded with require(); typed by the package's
// own declarations (one place, instead of a hand-written interface per benchmark).
import { createRequire } from 'node:module';
import type * as Hnswlib from 'hnswlib-node';

export type HnswIndex = Hnswlib.HierarchicalNSW;

/** hnswlib-node's HierarchicalNSW class (M and efConstruction go to initIndex). */
export function hierarchicalNSW(): typeof Hnswlib.HierarchicalNSW {
  return (createRequire(import.meta.url)('hnswlib-node') as typeof Hnswlib).HierarchicalNSW;
}
