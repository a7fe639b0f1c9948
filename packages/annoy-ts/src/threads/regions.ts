// Regions of an index's shared memory as another thread finds them: the thread that owns the
// memory describes a region (offset and record count), the other re-creates it over the same
// memory. Used by shareIndex/attachIndex (share.ts) and the parallel build's workers.
import type { Arena } from '../records.ts';
import { Records } from '../records.ts';

/** @internal A region of records in a shared memory, as another thread finds it. */
export interface SharedRecords {
  readonly byteOffset: number;
  /** Records in use in the region. */
  readonly count: number;
}

/** @internal Describes a region of records for another thread (see recordsIn). */
export function describeRecords(records: Records): SharedRecords {
  return { byteOffset: records.byteOffset, count: records.count };
}

/**
 * @internal The region another thread described (describeRecords), in this thread's view of the
 * memory, with room for `capacity` records (default: those in use).
 */
export function recordsIn(arena: Arena, recordBytes: number, shared: SharedRecords, capacity = shared.count): Records {
  const records = new Records(arena, recordBytes, capacity, false, shared.byteOffset);
  records.count = shared.count;
  return records;
}
