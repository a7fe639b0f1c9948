export { AnnoyIndex, type BuildOptions, type BuildProgress, type MetricName, type SearchResult } from './annoy-index.ts';
export { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIOError, AnnoyStateError } from './errors.ts';
