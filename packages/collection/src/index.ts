// @annoy-ts/collection, portable entry (browsers and any JavaScript runtime): the in-memory
// collection, exported to and imported from bytes. The Node entry (node/index.ts) adds the
// durable Collection (a folder: SQLite + annoy-ts index files, rebuilt on worker threads).
export { MemoryCollection, type MemoryCollectionOptions } from './memory-collection.ts';
export type { AttributeFilter, FieldOperators, FilterLiteral } from './core/filter.ts';
export type { Attributes, JsonValue, Key, UpsertItem } from './core/input.ts';
export type { AutoCompactOptions, CollectionGraphOptions } from './core/options.ts';
export type { Counts, ItemPredicate, SegmentCounts, QueryOptions, QueryResult, StoredItem } from './core/state.ts';
export { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIOError, AnnoyStateError } from 'annoy-ts';
