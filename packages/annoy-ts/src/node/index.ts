// The Node.js entry point: the portable API, with an AnnoyIndex that can save() and load() files,
// write and read sidecars (open()), and infer f and metric of files that have none.
export * from '../index.ts';
export { AnnoyIndex, type OpenOptions, type SaveOptions } from './annoy-index.ts';
export { crc32 } from './checksum.ts';
export { sidecarPath } from '../formats/sidecar.ts';
export { readFileBytes, writeFileAtomic } from './files.ts';
export { packageVersion } from './version.ts';
export { startWorker } from './workers.ts';
export type { SharedIndex } from '../annoy-index.ts';
export * from '../shards/index.ts';
