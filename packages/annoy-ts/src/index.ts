export { AnnoyIndex, type BuildOptions, type BuildProgress, type MetricName, type SearchResult } from './annoy-index.ts';
export { AnnoyArgumentError, AnnoyError, AnnoyFormatError, AnnoyIOError, AnnoyStateError } from './errors.ts';
export { checkSidecar, parseSidecar, SIDECAR_FORMAT, SIDECAR_VERSION, type Sidecar } from './formats/sidecar.ts';
export { inferLayout, recordLayout, type Confidence, type LayoutCandidate, type LayoutInference, type RecordLayout, type Verdict } from './formats/infer.ts';
export { kernelInfo } from './kernels/kernels.ts';
