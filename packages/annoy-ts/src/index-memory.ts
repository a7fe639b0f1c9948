import { Arena, Records } from './records.ts';
import type { WalkWorkspace } from './search/search.ts';

/**
 * Everything one index keeps in its arena: scratch records for the query and the builder, then
 * the record store (the Annoy file's bytes), last so it can grow in place.
 */
export interface IndexMemory {
  readonly arena: Arena;
  /** The query vector, prepared as a record (angular norm, dot's zero extra component, packed bits…). */
  readonly query: Records;
  /** Two-means centroids (2 records, and a third as kernel scratch) and the split plane being computed (1 record). */
  readonly centroids: Records;
  readonly plane: Records;
  /** Room for batched kernel calls: record ids in, float32 results out. */
  readonly batch: Batch;
  readonly store: Records;
  /** The WebAssembly walk's workspace, kept for the next searcher (dropped when the store may grow over it). */
  walk: WalkWorkspace | null;
}

/** A window in the arena for one batched kernel call of up to `capacity` records. */
export interface Batch {
  readonly capacity: number;
  /** Byte offsets of the int32 ids and the float32 results. */
  readonly idsPtr: number;
  readonly outPtr: number;
}

const BATCH = 4096;

export function createIndexMemory(recordBytes: number, storeRecords: number): IndexMemory {
  const arena = new Arena(5 * recordBytes + 8 * BATCH + storeRecords * recordBytes + 64);
  const query = new Records(arena, recordBytes, 1);
  const centroids = new Records(arena, recordBytes, 3);
  const plane = new Records(arena, recordBytes, 1);
  const batch = { capacity: BATCH, idsPtr: arena.alloc(4 * BATCH), outPtr: arena.alloc(4 * BATCH) };
  const store = new Records(arena, recordBytes, storeRecords, true);
  return { arena, query, centroids, plane, batch, store, walk: null };
}
