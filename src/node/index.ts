// The Node.js entry point: the portable API, with an AnnoyIndex that can save() and load() files.
export * from '../index.ts';
export { AnnoyIndex } from './annoy-index.ts';
