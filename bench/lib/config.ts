/** What a run measures: the full suite, the quick subset, and command-line overrides. */
import type { BenchDatasetName } from '../../datasets/bench.ts';
import { LIBRARIES, type LibraryName, type RunConfigRecord } from './types.ts';

export const DATASETS: readonly BenchDatasetName[] = ['glove-100-angular', 'fashion-mnist-784-euclidean'];
const ALIASES: Record<string, BenchDatasetName> = { glove: 'glove-100-angular', fashion: 'fashion-mnist-784-euclidean', 'fashion-mnist': 'fashion-mnist-784-euclidean' };

export interface RunConfig {
  mode: 'full' | 'quick' | 'custom';
  /** Prefix of the result files in bench/results/ ("latest", "quick", "custom" unless --out). */
  out: string;
  datasets: BenchDatasetName[];
  libraries: LibraryName[];
  /** Use only the first N base rows (ground truth recomputed for the subset); null = all. */
  baseLimit: Partial<Record<BenchDatasetName, number>>;
  k: number;
  queries: number;
  nTrees: number[];
  searchK: number[];
  hnsw: { M: number; efConstruction: number; ef: number[] };
  /** Seed of annoy-ts's and the C++ driver's builds (the npm binding cannot be seeded) and of hnswlib. */
  seed: number;
  /** Untimed searches before the timed passes of every point. */
  warmupQueries: number;
  /** Timed passes over all queries repeat until this much timed work … */
  minPassSeconds: number;
  /** … or this many passes; the fastest pass gives the QPS. */
  maxPasses: number;
  /** A sweep stops after the first point at or above this recall … */
  stopRecall: number;
  /** … or after a point whose pass took longer than this. */
  maxPassSeconds: number;
  /** Reuse cached builds of the C++ binding, C++ native and hnswlib (their code does not change); annoy-ts is always rebuilt. */
  reuseCompetitorBuilds: boolean;
  keepIndexes: boolean;
  /** Measure annoy-ts's src/ at this git revision instead of the working tree. */
  srcRevision: string | null;
}

/** searchK values tried for every nTrees (the sweep stops early, see stopRecall). */
const SEARCH_K = [10, 20, 50, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10000, 15000, 25000, 40000, 60000, 100000, 150000, 250000, 400000];
const EF = [10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960];

export function fullConfig(): RunConfig {
  return {
    mode: 'full',
    out: 'latest',
    datasets: [...DATASETS],
    libraries: [...LIBRARIES],
    baseLimit: {},
    k: 10,
    queries: 1000,
    nTrees: [10, 50, 100],
    searchK: SEARCH_K,
    hnsw: { M: 16, efConstruction: 200, ef: EF },
    seed: 42,
    warmupQueries: 100,
    minPassSeconds: 2,
    maxPasses: 10,
    stopRecall: 0.99,
    maxPassSeconds: 300,
    reuseCompetitorBuilds: false,
    keepIndexes: false,
    srcRevision: null,
  };
}

/**
 * The day-to-day subset: the first 50,000 GloVe base rows and the first 10,000
 * Fashion-MNIST base rows (ground truth recomputed for those subsets and
 * cached), 500 queries, 10 trees, a coarser sweep, shorter timing; the
 * competitors' builds are cached between quick runs.
 */
export function quickConfig(): RunConfig {
  return {
    ...fullConfig(),
    mode: 'quick',
    out: 'quick',
    baseLimit: { 'glove-100-angular': 50_000, 'fashion-mnist-784-euclidean': 10_000 },
    queries: 500,
    nTrees: [10],
    searchK: [10, 50, 100, 250, 600, 1500, 4000, 10000, 25000, 60000],
    hnsw: { M: 16, efConstruction: 200, ef: [10, 20, 40, 80, 160, 320, 640] },
    warmupQueries: 50,
    minPassSeconds: 0.3,
    maxPasses: 10,
    maxPassSeconds: 8,
    reuseCompetitorBuilds: true,
  };
}

export const USAGE = `usage: npm run bench [-- OPTIONS]

  (no options)          the full suite: both datasets, all libraries, nTrees 10,50,100,
                        1,000 queries per point; writes bench/results/latest.*
  --quick               the day-to-day subset (GloVe first 50k, Fashion-MNIST first 10k base rows,
                        500 queries, 10 trees, cached competitor builds); writes bench/results/quick.*
Overrides (the run is then "custom" and writes bench/results/custom.* unless --out is given):
  --datasets LIST       glove-100-angular,fashion-mnist-784-euclidean (or glove,fashion)
  --libs LIST           annoy-ts,annoy-binding,annoy-native,hnswlib
  --queries N           queries per point (≤ 10000; the first N of the held-out set)
  --trees LIST          nTrees values, e.g. 10,50
  --search-k LIST       searchK values to sweep
  --ef LIST             hnswlib ef values to sweep
  --base N              use only the first N base rows of every dataset
  --stop-recall R       stop a sweep after the first point with recall ≥ R (default 0.99)
  --reuse / --no-reuse  reuse cached competitor builds (default: on with --quick)
  --src REV             measure annoy-ts's src/ as of git revision REV (e.g. HEAD) instead of
                        the working tree (a copy of src/ is taken at the start either way)
  --keep-indexes        keep the run's work files and indexes in .cache/bench/runs/
  --out NAME            result file prefix in bench/results/
  -h, --help            this text
`;

function list(value: string, flag: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error(`${flag} needs a comma-separated list`);
  return items;
}

function positiveInts(value: string, flag: string): number[] {
  return list(value, flag).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${s}' is not a positive integer`);
    return n;
  });
}

/** Parses the command line; null means --help was printed. */
export function parseArgs(argv: readonly string[]): RunConfig | null {
  const args = [...argv];
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return null;
  }
  const cfg = args.includes('--quick') ? quickConfig() : fullConfig();
  let custom = false;
  let out: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === '--quick') continue;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--datasets':
        cfg.datasets = list(value(), flag).map((s) => {
          const name = ALIASES[s] ?? s;
          if (!DATASETS.includes(name as BenchDatasetName)) throw new Error(`unknown dataset '${s}' (${DATASETS.join(', ')})`);
          return name as BenchDatasetName;
        });
        custom = true;
        break;
      case '--libs':
        cfg.libraries = list(value(), flag).map((s) => {
          if (!LIBRARIES.includes(s as LibraryName)) throw new Error(`unknown library '${s}' (${LIBRARIES.join(', ')})`);
          return s as LibraryName;
        });
        custom = true;
        break;
      case '--queries': {
        const [n] = positiveInts(value(), flag);
        if (n! > 10_000) throw new Error('--queries must be ≤ 10000');
        cfg.queries = n!;
        custom = true;
        break;
      }
      case '--trees':
        cfg.nTrees = positiveInts(value(), flag);
        custom = true;
        break;
      case '--search-k':
        cfg.searchK = positiveInts(value(), flag).sort((a, b) => a - b);
        custom = true;
        break;
      case '--ef':
        cfg.hnsw.ef = positiveInts(value(), flag).sort((a, b) => a - b);
        custom = true;
        break;
      case '--base': {
        const [n] = positiveInts(value(), flag);
        cfg.baseLimit = Object.fromEntries(DATASETS.map((d) => [d, n!]));
        custom = true;
        break;
      }
      case '--stop-recall': {
        const r = Number(value());
        if (!(r > 0 && r <= 1)) throw new Error('--stop-recall must be in (0, 1]');
        cfg.stopRecall = r;
        custom = true;
        break;
      }
      case '--reuse':
        cfg.reuseCompetitorBuilds = true;
        break;
      case '--no-reuse':
        cfg.reuseCompetitorBuilds = false;
        break;
      case '--keep-indexes':
        cfg.keepIndexes = true;
        break;
      case '--src':
        cfg.srcRevision = value();
        break;
      case '--out':
        out = value();
        if (!/^[A-Za-z0-9._-]+$/.test(out)) throw new Error('--out must be a plain file-name prefix');
        break;
      default:
        throw new Error(`unknown option '${flag}'\n\n${USAGE}`);
    }
  }
  if (custom) {
    cfg.mode = 'custom';
    cfg.out = 'custom';
  }
  if (out !== null) cfg.out = out;
  return cfg;
}

export function configRecord(cfg: RunConfig): RunConfigRecord {
  return {
    mode: cfg.mode,
    k: cfg.k,
    queries: cfg.queries,
    nTrees: cfg.nTrees,
    searchK: cfg.searchK,
    hnsw: cfg.hnsw,
    seed: cfg.seed,
    warmupQueries: cfg.warmupQueries,
    minPassSeconds: cfg.minPassSeconds,
    maxPasses: cfg.maxPasses,
    stopRecall: cfg.stopRecall,
    maxPassSeconds: cfg.maxPassSeconds,
    libraries: cfg.libraries,
    datasets: cfg.datasets,
    baseLimit: Object.fromEntries(cfg.datasets.map((d) => [d, cfg.baseLimit[d] ?? null])),
  };
}
