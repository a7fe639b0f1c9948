/**
 * Dataset layer for the annoy-ts demo, benchmarks and examples.
 * See datasets/README.md for the files, the cache layout and timings.
 */
export { loadGlove, GLOVE_DIM, type GloveData } from './glove.ts';
export { loadFashionMnist, FASHION_MNIST_DIM, FASHION_MNIST_CLASSES, type FashionMnistData } from './fashion-mnist.ts';
export { splitBaseQueries, gatherRows, compactRowsInPlace, type BaseQuerySplit } from './split.ts';
export {
  computeGroundTruth,
  bruteForceKnn,
  type Metric,
  type GroundTruth,
  type GroundTruthInput,
  type GroundTruthOptions,
} from './ground-truth.ts';
export {
  loadBenchDataset,
  BENCH_DATASETS,
  DEFAULT_SEED,
  HELD_OUT_QUERIES,
  GROUND_TRUTH_K,
  QUICK_QUERIES,
  type BenchDataset,
  type BenchDatasetName,
  type BenchDatasetOptions,
} from './bench.ts';
export { cacheRoot, REPO_ROOT, type LoadOptions } from './paths.ts';
