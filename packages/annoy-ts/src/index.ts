// The portable entry point (browsers, any JavaScript runtime): everything but the file system
// and worker threads, which the Node entry (node/index.ts) adds.
export {
  AnnoyIndex, type BuildOptions, type BuildProgress, type MetricName, type QueryOptions, type SearchResult, type WithDistances, type WithoutDistances,
} from './annoy-index.ts';
export type { FromBufferOptions } from './annoy-index.ts';
export type { GraphOptions } from './graph/index-graph.ts';
export { GRAPH_FORMAT_VERSION, graphPath, readGraphHeader, type GraphHeader } from './graph/format.ts';
export { AllowedIds, type Filter, type IdArray, type IdPredicate } from './search/filter.ts';
export { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIOError, AnnoyStateError, errorClassNamed, type AnnoyErrorClass } from './errors.ts';
export {
  checkAgainstSidecar, checkSidecar, parseSidecar, SIDECAR_FORMAT, SIDECAR_VERSION, type Sidecar, type SidecarCheckOptions,
} from './formats/sidecar.ts';
export { checksumText, type Crc32 } from './formats/checksum.ts';
export {
  inferRecordLayout, type Confidence, type RecordLayoutCandidate,
  type RecordLayoutInference, type Verdict,
} from './formats/infer.ts';
export { recordLayout, type RecordLayout } from './metrics/index.ts';
export { kernelInfo } from './kernels/kernels.ts';
export { attachIndex, shareIndex, type SharedIndex } from './threads/share.ts';
