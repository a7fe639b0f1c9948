// Sharded indexes (Node entry): a folder of complete annoy-ts indexes and their manifest.
export { DEFAULT_MAX_SHARD_BYTES, estimateIndexBytes, ShardedIndexBuilder, type ShardBuilt, type ShardedBuildOptions } from './builder.ts';
export {
  checkManifest, MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, parseManifest, type ShardEntry, type ShardFile, type ShardIds, type ShardManifest,
} from './manifest.ts';
export { ShardIdDirectory, type ShardLocation } from './ids.ts';
export { mergeNearest } from './merge.ts';
export { ShardedIndex, type FailedShard, type ShardedOpenOptions, type ShardedQueryOptions } from './sharded-index.ts';
