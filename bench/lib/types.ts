/** Shared shapes: child-process messages and the JSON-lines records. */

export type LibraryName = 'annoy-ts' | 'annoy-binding' | 'annoy-native' | 'hnswlib';
export const LIBRARIES: readonly LibraryName[] = ['annoy-ts', 'annoy-binding', 'annoy-native', 'hnswlib'];
/** The libraries that are Annoy (same algorithm, same file format, swept over nTrees × searchK). */
export const ANNOY_LIBRARIES: readonly LibraryName[] = ['annoy-ts', 'annoy-binding', 'annoy-native'];

export const LIBRARY_LABEL: Record<LibraryName, string> = {
  'annoy-ts': 'annoy-ts',
  'annoy-binding': 'C++ binding (npm annoy)',
  'annoy-native': 'C++ -O3 -march=native',
  hnswlib: 'hnswlib-node',
};

export type BenchMetric = 'angular' | 'euclidean';

/** What a build child is asked to do (JSON on its command line). */
export interface BuildRequest {
  library: Exclude<LibraryName, 'annoy-native'>;
  /** annoy-ts's entry point: src/node/index.ts of the run's snapshot of src/. */
  annoyTsEntry: string;
  metric: BenchMetric;
  dim: number;
  /** .fbin of the base vectors. */
  baseFile: string;
  indexFile: string;
  /** Annoy libraries. */
  nTrees?: number;
  seed: number;
  /** hnswlib. */
  M?: number;
  efConstruction?: number;
}

/** A build child's one line of output. */
export interface BuildResult {
  /** Seconds of build() alone (hnswlib: all addPoint calls, which is where its graph is built). */
  buildSeconds: number;
  /** Process CPU seconds of the same (null for the C++ driver, which reports wall time only). */
  buildCpuSeconds: number | null;
  /** Seconds of addItem() for all items (Annoy libraries; includes converting rows to what the library takes). */
  addSeconds: number | null;
  saveSeconds: number | null;
  indexBytes: number;
  /** Peak RSS (VmHWM) of the build process, in bytes. */
  peakRssBytes: number | null;
}

/** What a serve child is asked to do (JSON on its command line). */
export interface ServeRequest {
  library: Exclude<LibraryName, 'annoy-native'>;
  /** annoy-ts's entry point: src/node/index.ts of the run's snapshot of src/. */
  annoyTsEntry: string;
  metric: BenchMetric;
  dim: number;
  indexFile: string;
  queriesFile: string;
  k: number;
  /** Untimed searches of the first queries before the timed passes of every point. */
  warmup: number;
  /** Timed passes over all queries continue until this many seconds of timed work … */
  minSeconds: number;
  /** … or this many passes. */
  maxPasses: number;
}

/** The serve child's first line. */
export interface ServeReady {
  ready: true;
  loadSeconds: number;
  nItems: number;
  rssBeforeLoadBytes: number;
  rssAfterLoadBytes: number;
  /** Anything else worth recording (e.g. the C++ SIMD path). */
  extra?: Record<string, unknown>;
}

/** The answer to `run PARAM`. */
export interface ServeRun {
  param: number;
  /** Seconds of each timed pass over all queries. */
  passes: number[];
  /** Process CPU seconds (user + system) of each timed pass. */
  cpu?: number[];
  /** Result ids of the first timed pass, one array per query. */
  ids: number[][];
}

/** One JSON line of a result file. */
export type ResultRecord = RunRecord | DatasetRecord | BuildRecord | PointRecord | SkipRecord | EndRecord;

export interface MachineFacts {
  cpuModel: string;
  cpuFlags: string[];
  cpuMHz: number | null;
  logicalCpus: number;
  availableParallelism: number;
  totalMemoryBytes: number;
  os: string;
  node: string;
  v8: string;
  gitCommit: string | null;
  gitDirtyFiles: number | null;
  packages: Record<string, string | null>;
  cxx: string | null;
  nativeSimd: string | null;
}

export interface RunConfigRecord {
  mode: 'full' | 'quick' | 'custom';
  k: number;
  queries: number;
  nTrees: number[];
  searchK: number[];
  hnsw: { M: number; efConstruction: number; ef: number[] };
  seed: number;
  warmupQueries: number;
  minPassSeconds: number;
  maxPasses: number;
  stopRecall: number;
  maxPassSeconds: number;
  libraries: LibraryName[];
  datasets: string[];
  baseLimit: Record<string, number | null>;
}

export interface RunRecord {
  type: 'run';
  runId: string;
  /** SHA-1 over the paths and contents of src/ as snapshotted for this run (the exact code measured). */
  sourceHash: string;
  /** 'working tree', or the commit src/ was taken from (--src). */
  sourceRevision: string;
  startedAt: string;
  machine: MachineFacts;
  config: RunConfigRecord;
  loadAverage: number[];
}

export interface DatasetRecord {
  type: 'dataset';
  dataset: string;
  metric: BenchMetric;
  dim: number;
  nBase: number;
  /** nBase of the full dataset (differs when a subset is used). */
  nBaseFull: number;
  nQueries: number;
  k: number;
  groundTruthSeconds: number;
  groundTruthComputedQueries: number;
  groundTruthSource: string;
  /** Seconds to load the dataset (and compute or read a subset's ground truth) in this run. */
  loadSeconds: number;
  /** Disagreements between a brute-force spot check and the ground truth (absent when none). */
  groundTruthProblems?: string[];
}

export interface BuildRecord {
  type: 'build';
  library: LibraryName;
  dataset: string;
  params: Record<string, number>;
  buildSeconds: number;
  buildCpuSeconds: number | null;
  addSeconds: number | null;
  saveSeconds: number | null;
  indexBytes: number;
  buildPeakRssBytes: number | null;
  loadAverage: number[];
  /** A competitor's build reused from an earlier run (--reuse, the default with --quick). */
  reused?: boolean;
}

export interface PointRecord {
  type: 'point';
  library: LibraryName;
  dataset: string;
  /** nTrees + searchK (Annoy) or M + efConstruction + ef (hnswlib). */
  params: Record<string, number>;
  /** Series the point belongs to, e.g. "annoy-ts nTrees=100". */
  series: string;
  k: number;
  queries: number;
  /** recall@k, counting a returned item as correct when its exact distance is ≤ the k-th true neighbour's (ties). */
  recall: number;
  /** recall@k by ids: |returned ∩ true k nearest| / k. */
  recallIds: number;
  /** queries / seconds of the fastest timed pass. */
  qps: number;
  /** queries / seconds of the median timed pass. */
  qpsMedian: number;
  /**
   * queries / process CPU seconds of the least-CPU pass: insensitive to other
   * processes taking the core away, but counts the runtime's background threads
   * (Node's GC and compiler) against the JavaScript libraries.
   */
  qpsCpu: number | null;
  passSeconds: number[];
  passCpuSeconds: number[];
  buildSeconds: number;
  indexBytes: number;
  loadSeconds: number;
  /** loadSeconds per 10^9 index bytes. */
  loadSecondsPerGB: number;
  /**
   * Seconds of the untimed pass over all queries at the cheapest setting right
   * after the load (for mmap'ed C++ indexes it includes faulting pages in).
   */
  firstPassSeconds?: number | null;
  /** Peak RSS (VmHWM) of the query process: runtime, query vectors, load and all points of its sweep. */
  peakRssBytes: number | null;
  /** RSS of the query process just before loading the index (runtime, libraries, query vectors). */
  rssBeforeLoadBytes: number | null;
  buildPeakRssBytes: number | null;
  loadAverage: number[];
}

export interface SkipRecord {
  type: 'skip';
  library: LibraryName;
  dataset: string;
  reason: string;
}

export interface EndRecord {
  type: 'end';
  finishedAt: string;
  seconds: number;
  loadAverage: number[];
}
