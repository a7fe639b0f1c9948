import type { DistanceKind } from '../kernels/kernels.ts';
import type { Batch } from '../index-memory.ts';
import type { Records } from '../records.ts';
import type { Kiss64 } from '../random/kiss64.ts';
import type { RecordFields } from './record-fields.ts';

export type MetricName = 'angular' | 'euclidean' | 'manhattan' | 'dot' | 'hamming';

/**
 * A metric is the policy that the tree builder and the search are written against: it owns its
 * records' fields (declared once, in record-fields.ts; the sizes and word offsets below come from
 * them) and every piece of arithmetic. Nothing outside `metrics/` looks at a metric's name.
 *
 * Records live in one arena per index; `Records.word(i)` / `Records.ptr(i)` locate record i.
 * Methods named `exact…` (and everything the builder calls) round exactly like Annoy's scalar C++
 * build; `distance` and `margin` are the search's fast versions (SIMD where available).
 */
export interface Metric {
  readonly name: MetricName;
  /** The dimension as the caller sees it (bits for hamming). */
  readonly f: number;
  /** Where each field of a record sits: the table recordBytes, childrenWord, leafCapacity and vectorWord(s) derive from. */
  readonly fields: RecordFields;
  readonly recordBytes: number;
  /** Word offset of children[0] within a record; a leaf's item ids start here. */
  readonly childrenWord: number;
  /** The most item ids a leaf record holds (Annoy's K). */
  readonly leafCapacity: number;
  /** Word offset and length of the stored vector (for hamming: the packed 64-bit words as 32-bit halves). */
  readonly vectorWord: number;
  readonly vectorWords: number;
  /** Which distance (and margin) the kernels compute for this metric, and over how many units (floats; hamming: 64-bit words). */
  readonly distanceKind: DistanceKind;
  readonly kernelLength: number;
  /** The priority every root enters the search queue with. */
  readonly pqInitial: number;

  /** Writes an item record: n_descendants = 1, the vector, derived fields. The vector is already validated. */
  writeItem(store: Records, id: number, vector: ArrayLike<number>): void;
  /** The vector as the caller gave it (float32-rounded; hamming: 0/1 per bit). */
  readItem(store: Records, id: number): number[];
  /** Recomputes fields derived from the vector (angular's squared norm) after the vector was copied in. */
  initRecord(store: Records, id: number): void;
  /** Work done once over all item records before the trees are built (dot's extra component). */
  prepareBuild(store: Records, nItems: number): void;

  /** The search's distances (Annoy's internal distance; fast rounding) from the query to the records batch.ids[0 … count). */
  distances(query: Records, store: Records, batch: Batch, count: number): void;
  /** The same distance, rounded exactly like Annoy (get_distance, the builder, returned distances). */
  exactDistance(a: Records, ai: number, b: Records, bi: number): number;
  /** The distance callers see (get_distance, include_distances). */
  normalizedDistance(d: number): number;
  /** How far the query lies on the positive side of a split record's plane (search; fast rounding). */
  margin(node: Records, ni: number, query: Records, qi: number): number;
  /** The queue priority of a split's child, given the parent's priority and the query's margin. */
  pqDistance(parent: number, margin: number, child: number): number;

  /** Computes a split plane for the items ids[lo..hi) into record `oi` of `out`, using two scratch records. */
  createSplit(store: Records, ids: Int32Array, lo: number, hi: number, rng: Kiss64, out: Records, oi: number, centroids: Records, batch: Batch): void;
  /**
   * Puts each item of ids[lo..hi) on side 0 or 1 of the plane in record 0 of `plane` (sides[i]),
   * breaking exact ties with rng.flip() in item order as Annoy does; returns how many went to side 0.
   */
  assignSides(plane: Records, store: Records, ids: Int32Array, lo: number, hi: number, sides: Uint8Array, rng: Kiss64, batch: Batch): number;
  /** Zeroes the plane's vector (the build's last resort when no plane splits the items). */
  clearPlane(out: Records, oi: number): void;
  /** For loading: a reason why split record `id` cannot be searched safely, or null. */
  checkSplit(store: Records, id: number): string | null;
}
