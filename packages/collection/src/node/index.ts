// @annoy-ts/collection, Node entry (also Deno and Bun): the durable Collection, plus everything
// the portable entry has.
export * from '../index.ts';
export { Collection, type BuildReport, type CollectionInfo, type CollectionOptions } from './collection.ts';
