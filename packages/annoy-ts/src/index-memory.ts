import { Arena, Records } from './records.ts';

/**
 * What searching an index reads and writes: the record store (the Annoy file's bytes), a query
 * record, a batch window and the walk's workspace. An index attached to another thread's memory
 * (threads/share.ts) has only this: it never builds.
 */
export interface SearchMemory {
  readonly arena: Arena;
  /** The query vector, prepared as a record (angular norm, dot's zero extra component, packed bits…). */
  readonly query: Records;
  /** Room for batched kernel calls: record ids in, float32 results out. */
  readonly batch: Batch;
  readonly store: Records;
  /** The WebAssembly walk's workspace, kept for the next searcher (dropped when the store may grow over it). */
  walk: WalkWorkspace | null;
}

/**
 * Everything an index that owns its memory keeps in its arena: scratch records for the query and
 * the builder, then the record store, last so it can grow in place.
 */
export interface IndexMemory extends SearchMemory {
  /** Two-means centroids (2 records, and a third as kernel scratch) and the split plane being computed (1 record). */
  readonly centroids: Records;
  readonly plane: Records;
}

/** A window in the arena for one batched kernel call of up to `capacity` records. */
export interface Batch {
  readonly capacity: number;
  /** Byte offsets of the int32 ids and the float32 results. */
  readonly idsPtr: number;
  readonly outPtr: number;
}

/** Byte offsets of the WebAssembly walk's state in the index's memory (one per searching thread). */
export interface WalkWorkspace {
  roots: number;
  /** Roots and items the workspace has room for (it is reused while they suffice). */
  rootCapacity: number;
  itemCapacity: number;
  seen: number;
  candidates: number;
  distances: number;
  queue: number;
  /** Entries the queue holds. */
  queueCapacity: number;
  /** A filtered walk's allowed-set bitset: one bit per item (see search/filter.ts). */
  allowed: number;
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
