// The Node.js entry point: the portable API, with an AnnoyIndex that can save() and load() files,
// write and read sidecars (open()), build on worker threads and answer batch queries on a pool of
// them, and share an index with other threads (shareIndex / attachIndex).
export * from '../index.ts';
export { AnnoyIndex, attachIndex, type OpenOptions, type SaveOptions } from './annoy-index.ts';
export { crc32 } from './checksum.ts';
export { sidecarPath } from '../formats/sidecar.ts';
export { readFileBytes, writeFileAtomic } from './files.ts';
export { packageVersion } from './version.ts';
export * from '../shards/index.ts';
