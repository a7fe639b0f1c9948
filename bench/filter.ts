// Filtered and radius search (issue 16) on GloVe-100 (angular) and Fashion-MNIST-784 (euclidean).
//
// For filters allowing 50, 10, 1 and 0.1 % of the items — random ids, and a correlated filter
// (one cluster: the items nearest to a randomly drawn item) — k = 10: recall@10 against exact
// filtered search, and queries per second, for
//   annoy-ts ids        getNnsByVector(q, 10, { searchK, filter: AllowedIds }) (the bitset path; auto walk/scan)
//   annoy-ts graph ids  the same call on the same index with its neighbour graph (buildGraph(), default
//                       options): the walk goes through the graph when enough items are allowed, else
//                       the forest's path as above (graphQuery in src/graph/index-graph.ts decides)
//   annoy-ts predicate  the same with filter: (id) => boolean (asked inside the walk)
//   hnswlib             hnswlib-node's searchKnn(q, 10, filter callback), M = 16, efConstruction = 200, ef sweep
//   post-filter         annoy-ts unfiltered top 100, then the filter, first 10 (what Annoy users do today)
// beside each other, round by round (the machine is shared and noisy: every round measures every
// point once; QPS = the best round, the median is kept too). Then the switch point between the
// filtered walk and the exact scan (forced either way, random filters from 30 % to 0.1 %), and
// radius search: precision and recall of maxDistance (n = Infinity) against exact range search
// for radii holding 10, 100 and 1,000 items.
//
//   npm run bench:filter [-- --datasets glove-100-angular,fashion-mnist-784-euclidean]
//     [--queries 100] [--trees 10] [--rounds 3] [--quick] [--skip switch,radius,hnswlib,graph] [--out NAME]
//
// Writes bench/results/filter.json (filter-quick.json with --quick, or --out NAME) and prints tables.
// Builds are cached in .cache/bench/filter/ (annoy-ts files are Annoy's format, byte-identical for a
// seed; the graph's bytes beside them; hnswlib-node's index files); exact answers are computed each
// run (double precision, here).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { AnnoyIndex, GRAPH_FORMAT_VERSION, readFileBytes, readGraphHeader, writeFileAtomic } from '../packages/annoy-ts/src/node/index.ts';
import { EF_MAX } from '../packages/annoy-ts/src/graph/search.ts';
import { GRAPH_DEFAULTS, SEARCH_K_PER_EF } from '../packages/annoy-ts/src/graph/index-graph.ts';
import { AllowedIds, type Filter } from '../packages/annoy-ts/src/search/filter.ts';
import { filterTuning } from '../packages/annoy-ts/src/search/search.ts';
import { Rng } from '../packages/cli/src/cli/prng.ts';
import { loadBenchDataset, type BenchDatasetName } from '../datasets/bench.ts';
import { REPO_ROOT } from '../datasets/paths.ts';
import { loadAverage, machineFacts } from './lib/machine.ts';
import { hierarchicalNSW, type HnswIndex } from './lib/hnswlib.ts';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'glove-100-angular,fashion-mnist-784-euclidean' },
    queries: { type: 'string', default: '100' },
    trees: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    skip: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
const quick = values.quick;
const nQueries = Number(values.queries);
const nTrees = Number(values.trees);
const rounds = Math.max(1, Number(values.rounds));
const skip = new Set(values.skip.split(',').filter(Boolean));
const datasets = values.datasets.split(',') as BenchDatasetName[];
const K = 10;
const SELECTIVITIES = [0.5, 0.1, 0.01, 0.001];
// The graph series sweeps the same values. Its beam is searchK / SEARCH_K_PER_EF, at most EF_MAX
// (graphQuery): 300 … 30,000 are beams of 19 … 1,875 and the top of the sweep is the widest beam, past
// which searchK changes nothing for the walk (checked below); the top values still matter where the
// forest answers (filters too selective for the walk).
const SEARCH_K = [100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000];
if (Math.max(...SEARCH_K) < SEARCH_K_PER_EF * EF_MAX) throw new Error('the searchK sweep no longer reaches the graph walk\'s widest beam');
const EF = [10, 20, 40, 80, 160, 320, 640, 1280];
const POST_SEARCH_K = [1000, 10_000, 100_000];
const TARGET = 0.95;
const SEED = 42;
const CACHE = join(REPO_ROOT, '.cache', 'bench', 'filter');

const Hnsw = hierarchicalNSW();

const log = (message: string): void => void process.stderr.write(`${message}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// ---------------------------------------------------------------- data, indexes, exact answers

interface Data {
  name: BenchDatasetName;
  metric: 'angular' | 'euclidean';
  dim: number;
  nBase: number;
  base: Float32Array;
  queries: Float32Array[];
}

async function loadData(name: BenchDatasetName): Promise<Data> {
  const ds = await loadBenchDataset(name, { nQueries, quiet: true });
  const nBase = quick ? Math.min(ds.nBase, name === 'glove-100-angular' ? 50_000 : 10_000) : ds.nBase;
  const queries = Array.from({ length: nQueries }, (_, q) => ds.queries.subarray(q * ds.dim, (q + 1) * ds.dim));
  return { name, metric: ds.metric, dim: ds.dim, nBase, base: ds.base.subarray(0, nBase * ds.dim), queries };
}

const annoyFile = (data: Data): string => join(CACHE, `${data.name}-n${data.nBase}-t${nTrees}-s${SEED}.ann`);

function annoyIndex(data: Data): AnnoyIndex {
  const dir = CACHE;
  mkdirSync(dir, { recursive: true });
  const file = annoyFile(data);
  // The trees alone (a .graph beside the file, had anyone put one there, is the graph series' business).
  if (existsSync(file)) return AnnoyIndex.open(file, { graph: false });
  const index = new AnnoyIndex(data.dim, data.metric);
  for (let i = 0; i < data.nBase; i++) index.addItem(i, data.base.subarray(i * data.dim, (i + 1) * data.dim));
  index.setSeed(SEED);
  const t = performance.now();
  index.build(nTrees);
  log(`${data.name}: annoy-ts built ${nTrees} trees in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  index.save(file);
  return index;
}

/** What the report keeps of the graph: its options, size, and the build's seconds (null: read from the cache). */
interface GraphFacts {
  options: Omit<typeof GRAPH_DEFAULTS, 'nJobs'>;
  file: string;
  bytes: number;
  edges: number;
  maxDegree: number;
  quantized: boolean;
  buildSeconds: number | null;
}

/**
 * The same index (the cached .ann: same trees and seed) with its neighbour graph, buildGraph()'s
 * defaults. The graph's bytes (toGraphBuffer) are cached beside the .ann, named by the options and
 * the graph format (nJobs changes nothing in a graph), and attached with fromBuffer.
 */
function graphIndex(data: Data): { index: AnnoyIndex; facts: GraphFacts } {
  const { nJobs: _, ...options } = GRAPH_DEFAULTS;
  const key = createHash('sha1').update(JSON.stringify({ options, version: GRAPH_FORMAT_VERSION })).digest('hex').slice(0, 12);
  const ann = annoyFile(data);
  const file = ann.replace(/\.ann$/, `-graph-${key}.graph`);
  const annBytes = readFileBytes(ann);
  let graph: Uint8Array, buildSeconds: number | null = null, index: AnnoyIndex;
  if (existsSync(file)) {
    graph = readFileBytes(file);
    index = AnnoyIndex.fromBuffer(annBytes, data.dim, data.metric, { graph });
  } else {
    index = AnnoyIndex.fromBuffer(annBytes, data.dim, data.metric);
    const t = performance.now();
    index.buildGraph();
    buildSeconds = (performance.now() - t) / 1000;
    log(`${data.name}: annoy-ts built the graph in ${buildSeconds.toFixed(1)} s`);
    graph = index.toGraphBuffer();
    writeFileAtomic(file, graph);
  }
  const h = readGraphHeader(graph, file);
  return { index, facts: { options, file: relative(REPO_ROOT, file), bytes: graph.byteLength, edges: h.edges, maxDegree: h.maxDegree, quantized: h.quantized, buildSeconds } };
}

function hnswIndex(data: Data): HnswIndex {
  const dir = CACHE;
  const file = join(dir, `${data.name}-n${data.nBase}-hnsw-M16-efC200-s${SEED}.bin`);
  const index = new Hnsw(data.metric === 'angular' ? 'cosine' : 'l2', data.dim);
  if (existsSync(file)) {
    index.readIndexSync(file);
    return index;
  }
  index.initIndex(data.nBase, 16, 200, SEED);
  const t = performance.now();
  for (let i = 0; i < data.nBase; i++) index.addPoint(Array.from(data.base.subarray(i * data.dim, (i + 1) * data.dim)), i);
  log(`${data.name}: hnswlib built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  index.writeIndexSync(file);
  return index;
}

/** Exact distances (double precision, Annoy's conventions) from a vector to every base item. */
function exactDistances(data: Data, v: ArrayLike<number>, norms: Float64Array): Float64Array {
  const { base, dim, nBase } = data;
  const out = new Float64Array(nBase);
  let vv = 0;
  for (let k = 0; k < dim; k++) vv += v[k] * v[k];
  for (let i = 0, o = 0; i < nBase; i++, o += dim) {
    let s = 0;
    if (data.metric === 'angular') {
      for (let k = 0; k < dim; k++) s += v[k] * base[o + k];
      const c = vv * norms[i] > 0 ? s / Math.sqrt(vv * norms[i]) : 0;
      out[i] = Math.sqrt(Math.max(0, 2 - 2 * c));
    } else {
      for (let k = 0; k < dim; k++) {
        const t = v[k] - base[o + k];
        s += t * t;
      }
      out[i] = Math.sqrt(s);
    }
  }
  return out;
}

interface FilterCase {
  name: string;
  kind: 'random' | 'cluster';
  selectivity: number;
  allowed: AllowedIds;
  predicate: (id: number) => boolean;
}

function makeFilters(data: Data, norms: Float64Array, selectivities: number[], kinds: FilterCase['kind'][]): FilterCase[] {
  const out: FilterCase[] = [];
  const rng = new Rng(SEED);
  for (const kind of kinds) {
    for (const s of selectivities) {
      const ids: number[] = [];
      if (kind === 'random') {
        for (let i = 0; i < data.nBase; i++) if (rng.nextFloat() < s) ids.push(i);
      } else {
        // One cluster: the ⌈s·N⌉ items nearest to a randomly drawn item (in the data's own geometry,
        // independent of the trees).
        const centre = rng.nextInt(data.nBase);
        const d = exactDistances(data, data.base.subarray(centre * data.dim, (centre + 1) * data.dim), norms);
        const order = Array.from({ length: data.nBase }, (_, i) => i).sort((a, b) => d[a] - d[b] || a - b);
        for (const id of order.slice(0, Math.max(1, Math.ceil(s * data.nBase)))) ids.push(id);
      }
      const allowed = AllowedIds.from(ids, data.nBase);
      const bits = allowed.bits;
      out.push({ name: `${kind} ${s * 100} %`, kind, selectivity: s, allowed, predicate: (id) => (bits[id >>> 5] & (1 << (id & 31))) !== 0 });
    }
  }
  return out;
}

interface Truth {
  /** Per filter, per query: the exact 10 nearest allowed items and the 10th distance (ties count). */
  filtered: { ids: Int32Array; kth: number }[][];
  /** Per radius (holding ~10, 100, 1000 items), per query: the radius and the items within it. */
  radius: { r: number; inside: Set<number> }[][];
  /** Per query: exact distances of the ids a result might hold are recomputed on demand. */
  distance: (q: number, id: number) => number;
}

const RADIUS_COUNTS = [10, 100, 1000];

function exactAnswers(data: Data, norms: Float64Array, filters: FilterCase[]): Truth {
  const t = performance.now();
  const filtered = filters.map(() => [] as { ids: Int32Array; kth: number }[]);
  const radius = RADIUS_COUNTS.map(() => [] as { r: number; inside: Set<number> }[]);
  for (const v of data.queries) {
    const d = exactDistances(data, v, norms);
    filters.forEach((f, fi) => {
      const top: number[] = [];
      const bits = f.allowed.bits;
      for (let w = 0; w < bits.length; w++) {
        let word = bits[w];
        while (word !== 0) {
          const low = word & -word;
          const id = (w << 5) | (31 - Math.clz32(low));
          word ^= low;
          if (top.length < K || d[id] < d[top[top.length - 1]]) {
            let at = top.length < K ? top.length : K - 1;
            while (at > 0 && d[top[at - 1]] > d[id]) at--;
            top.splice(at, 0, id);
            if (top.length > K) top.pop();
          }
        }
      }
      filtered[fi].push({ ids: Int32Array.from(top), kth: top.length ? d[top[top.length - 1]] : Infinity });
    });
    const sorted = Float64Array.from(d).sort();
    RADIUS_COUNTS.forEach((count, ri) => {
      // Halfway between the count-th and the next distance: exactly `count` items inside (barring ties).
      const r = (sorted[count - 1] + sorted[count]) / 2;
      const inside = new Set<number>();
      for (let i = 0; i < data.nBase; i++) if (d[i] <= r) inside.add(i);
      radius[ri].push({ r, inside });
    });
  }
  log(`${data.name}: exact answers for ${data.queries.length} queries × ${filters.length} filters in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const distance = (q: number, id: number): number => {
    const v = data.queries[q], o = id * data.dim;
    let s = 0, vv = 0;
    if (data.metric === 'angular') {
      for (let k = 0; k < data.dim; k++) { s += v[k] * data.base[o + k]; vv += v[k] * v[k]; }
      return Math.sqrt(Math.max(0, 2 - (2 * s) / Math.sqrt(vv * norms[id])));
    }
    for (let k = 0; k < data.dim; k++) s += (v[k] - data.base[o + k]) ** 2;
    return Math.sqrt(s);
  };
  return { filtered, radius, distance };
}

/** recall@10 of one answer: ids whose exact distance is within the true 10th (ties count) and allowed, ÷ min(10, allowed). */
function recallOf(got: readonly number[], truth: { ids: Int32Array; kth: number }, allowed: AllowedIds, distance: (id: number) => number): number {
  const want = truth.ids.length;
  if (want === 0) return got.length === 0 ? 1 : 0;
  let hit = 0;
  for (const id of got.slice(0, K)) if (allowed.has(id) && distance(id) <= truth.kth * (1 + 1e-6) + 1e-9) hit++;
  return Math.min(1, hit / want);
}

// ---------------------------------------------------------------- the measured calls

type Run = (q: number) => number[];

interface Point {
  dataset: string;
  filter: string;
  library: string;
  param: string;
  value: number;
  recall: number;
  meanResults: number;
  /** Queries answered with fewer than min(10, allowed) ids. */
  short: number;
  qps: number;
  qpsMedian: number;
  qpsRounds: number[];
}

/**
 * Measures `configs` (each a sweep of points) round by round: round 1 also decides where each sweep
 * stops (its first point with recall ≥ 0.99), later rounds re-time the same points.
 */
function measure(dataset: string, filter: string, allowed: AllowedIds | null,
  configs: { library: string; param: string; values: number[]; make: (value: number) => Run }[], score: (q: number, got: number[]) => number): Point[] {
  const points: (Point & { run: Run })[] = [];
  const want = allowed ? Math.min(K, allowed.count) : K;
  for (let round = 0; round < rounds; round++) {
    if (round === 0) {
      for (const c of configs) {
        for (const value of c.values) {
          const run = c.make(value);
          const p = timePass(run, score, want);
          points.push({ dataset, filter, library: c.library, param: c.param, value, ...p, qpsMedian: p.qps, qpsRounds: [p.qps], run });
          if (p.recall >= 0.99) break;
        }
      }
    } else {
      for (const p of points) p.qpsRounds.push(timePass(p.run, score, want).qps);
    }
  }
  return points.map(({ run, ...p }) => ({ ...p, qps: Math.max(...p.qpsRounds), qpsMedian: median(p.qpsRounds) }));
}

function timePass(run: Run, score: (q: number, got: number[]) => number, want: number) {
  const answers: number[][] = [];
  const t = performance.now();
  for (let q = 0; q < nQueries; q++) answers.push(run(q));
  const seconds = (performance.now() - t) / 1000;
  let recall = 0, results = 0, short = 0;
  answers.forEach((got, q) => {
    recall += score(q, got);
    results += got.length;
    if (got.length < want) short++;
  });
  return { recall: recall / nQueries, meanResults: results / nQueries, short, qps: nQueries / seconds };
}

// ---------------------------------------------------------------- the benchmark

interface DatasetReport {
  name: string;
  nBase: number;
  dim: number;
  metric: string;
  nTrees: number;
  graph: GraphFacts | null;
  filters: { name: string; kind: string; selectivity: number; allowed: number }[];
  points: Point[];
  switchPoints: Point[];
  switchAllowed: Record<string, number>;
  radius: { radiusItems: number; param: string; value: number; precision: number; recall: number; meanResults: number; qps: number; qpsRounds: number[] }[];
}

const reports: DatasetReport[] = [];
const started = new Date();
log(`bench:filter: ${datasets.join(', ')}; ${nQueries} queries, k = ${K}, ${nTrees} trees, ${rounds} rounds${quick ? ', quick' : ''}; load ${loadAverage().join(' ')}`);

for (const name of datasets) {
  const data = await loadData(name);
  const norms = new Float64Array(data.nBase);
  for (let i = 0, o = 0; i < data.nBase; i++, o += data.dim) {
    let s = 0;
    for (let k = 0; k < data.dim; k++) s += data.base[o + k] ** 2;
    norms[i] = s;
  }
  const index = annoyIndex(data);
  const withGraph = skip.has('graph') ? null : graphIndex(data);
  const hnsw = skip.has('hnswlib') ? null : hnswIndex(data);
  const filters = makeFilters(data, norms, SELECTIVITIES, ['random', 'cluster']);
  const truth = exactAnswers(data, norms, filters);
  const arrays = data.queries.map((v) => Array.from(v));
  const report: DatasetReport = {
    name, nBase: data.nBase, dim: data.dim, metric: data.metric, nTrees, graph: withGraph?.facts ?? null,
    filters: filters.map((f) => ({ name: f.name, kind: f.kind, selectivity: f.selectivity, allowed: f.allowed.count })),
    points: [], switchPoints: [], switchAllowed: {}, radius: [],
  };

  for (const [fi, f] of filters.entries()) {
    const score = (q: number, got: number[]) => recallOf(got, truth.filtered[fi][q], f.allowed, (id) => truth.distance(q, id));
    const filtered = (filter: Filter, on = index) => (searchK: number): Run => (q) => on.getNnsByVector(data.queries[q], K, { searchK, filter });
    const configs = [
      { library: 'annoy-ts ids', param: 'searchK', values: SEARCH_K, make: filtered(f.allowed) },
      ...(withGraph ? [{ library: 'annoy-ts graph ids', param: 'searchK', values: SEARCH_K, make: filtered(f.allowed, withGraph.index) }] : []),
      { library: 'annoy-ts predicate', param: 'searchK', values: SEARCH_K, make: filtered(f.predicate) },
      {
        library: 'post-filter top 100', param: 'searchK', values: POST_SEARCH_K,
        make: (searchK: number): Run => (q) => index.getNnsByVector(data.queries[q], 100, searchK).filter((id) => f.allowed.has(id)).slice(0, K),
      },
    ];
    if (hnsw) {
      configs.push({
        library: 'hnswlib filter', param: 'ef', values: EF,
        make: (ef: number): Run => { return (q) => { hnsw.setEf(ef); return hnsw.searchKnn(arrays[q], K, f.predicate).neighbors; }; },
      });
    }
    const points = measure(name, f.name, f.allowed, configs, score);
    report.points.push(...points);
    log(`${name}, ${f.name} (${f.allowed.count} allowed): ${summarise(points)}`);
  }

  if (!skip.has('switch')) {
    // The switch point: the walk forced (never the scan) against the scan forced, random filters.
    const saved = filterTuning.visitsPerDistance;
    const switchFilters = makeFilters(data, norms, [0.3, 0.1, 0.03, 0.01, 0.003, 0.001], ['random']);
    const switchTruth = exactAnswers(data, norms, switchFilters);
    for (const [fi, f] of switchFilters.entries()) {
      const score = (q: number, got: number[]) => recallOf(got, switchTruth.filtered[fi][q], f.allowed, (id) => switchTruth.distance(q, id));
      const forced = (visitsPerDistance: number | null) => (searchK: number): Run => (q) => {
        filterTuning.visitsPerDistance = visitsPerDistance;
        return index.getNnsByVector(data.queries[q], K, { searchK, filter: f.allowed });
      };
      const points = measure(name, f.name, f.allowed, [
        { library: 'forced walk', param: 'searchK', values: SEARCH_K, make: forced(1e15) },
        { library: 'forced scan', param: 'searchK', values: [100], make: forced(0) },
      ], score);
      filterTuning.visitsPerDistance = saved;
      report.switchPoints.push(...points);
      report.switchAllowed[f.name] = f.allowed.count;
      log(`${name}, switch, ${f.name} (${f.allowed.count} allowed): ${summarise(points)}`);
    }
    filterTuning.visitsPerDistance = saved;
  }

  if (!skip.has('radius')) {
    for (const [ri, count] of RADIUS_COUNTS.entries()) {
      const configs: { param: string; value: number; run: Run }[] = [
        { param: 'searchK', value: -1, run: (q) => index.getNnsByVector(data.queries[q], Infinity, { maxDistance: truth.radius[ri][q].r }) },
        ...[30_000, 100_000].map((searchK) => ({
          param: 'searchK', value: searchK, run: (q: number) => index.getNnsByVector(data.queries[q], Infinity, { searchK, maxDistance: truth.radius[ri][q].r }),
        })),
        { param: 'searchK', value: Infinity, run: (q) => index.getNnsByVector(data.queries[q], Infinity, { searchK: Infinity, maxDistance: truth.radius[ri][q].r }) },
      ];
      const rows = configs.map((c) => ({ ...c, qpsRounds: [] as number[], precision: 0, recall: 0, meanResults: 0 }));
      for (let round = 0; round < rounds; round++) {
        for (const row of rows) {
          const answers: number[][] = [];
          const t = performance.now();
          for (let q = 0; q < nQueries; q++) answers.push(row.run(q));
          row.qpsRounds.push(nQueries / ((performance.now() - t) / 1000));
          if (round === 0) {
            let p = 0, r = 0, m = 0;
            answers.forEach((got, q) => {
              const inside = truth.radius[ri][q].inside;
              const hits = got.filter((id) => inside.has(id)).length;
              p += got.length ? hits / got.length : 1;
              r += inside.size ? hits / inside.size : 1;
              m += got.length;
            });
            Object.assign(row, { precision: p / nQueries, recall: r / nQueries, meanResults: m / nQueries });
          }
        }
      }
      for (const row of rows) {
        report.radius.push({ radiusItems: count, param: row.param, value: row.value, precision: row.precision, recall: row.recall,
          meanResults: row.meanResults, qps: Math.max(...row.qpsRounds), qpsRounds: row.qpsRounds });
      }
      log(`${name}, radius ~${count}: ${rows.map((r) => `searchK ${r.value}: P ${r.precision.toFixed(3)} R ${r.recall.toFixed(3)} ${Math.max(...r.qpsRounds).toFixed(0)} QPS`).join('; ')}`);
    }
  }
  reports.push(report);
}

function bestAt(points: Point[], library: string, recall: number): Point | null {
  const ok = points.filter((p) => p.library === library && p.recall >= recall);
  return ok.length ? ok.reduce((a, b) => (b.qps > a.qps ? b : a)) : null;
}

function summarise(points: Point[]): string {
  const libraries = [...new Set(points.map((p) => p.library))];
  return libraries.map((l) => {
    const best = bestAt(points, l, TARGET);
    const top = points.filter((p) => p.library === l).reduce((a, b) => (b.recall > a.recall ? b : a));
    return best ? `${l} ${best.qps.toFixed(0)} QPS @ ${best.param} ${best.value} (recall ${best.recall.toFixed(3)})`
      : `${l} < ${TARGET} (best ${top.recall.toFixed(3)} @ ${top.param} ${top.value})`;
  }).join('; ');
}

// ---------------------------------------------------------------- report

const fmt = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));
const lines: string[] = [];
for (const r of reports) {
  const graph = r.graph ? `; annoy-ts graph: buildGraph() defaults, ${r.graph.edges.toLocaleString('en-US')} edges` : '';
  lines.push(`\n## ${r.name} (${r.nBase.toLocaleString('en-US')} × ${r.dim}, ${r.metric}; annoy-ts ${r.nTrees} trees${graph}; hnswlib M = 16, efC = 200; k = 10, ${nQueries} queries)\n`);
  lines.push('QPS at recall@10 ≥ 0.95 (best point of each sweep; the setting in brackets); post-filter: its best recall; target: met by the forest / with the graph.\n');
  lines.push('| filter | allowed | annoy-ts ids | annoy-ts graph ids | annoy-ts predicate | hnswlib filter | ids ÷ hnswlib | graph ÷ hnswlib | post-filter top 100 | target |');
  lines.push('| :-- | --: | --: | --: | --: | --: | --: | --: | --: | :-: |');
  for (const f of r.filters) {
    const pts = r.points.filter((p) => p.filter === f.name);
    const cell = (l: string): string => {
      const b = bestAt(pts, l, TARGET);
      if (b) return `${fmt(b.qps)} (${b.param} ${b.value}, ${b.recall.toFixed(3)})`;
      const all = pts.filter((p) => p.library === l);
      return all.length ? `— (best recall ${Math.max(...all.map((p) => p.recall)).toFixed(3)})` : 'n/a';
    };
    const h = bestAt(pts, 'hnswlib filter', TARGET);
    // Against hnswlib at the same recall: the QPS ratio, and whether the target is met (n/a: not measured).
    const versus = (l: string): { ratio: string; met: string } => {
      if (!pts.some((p) => p.library === l)) return { ratio: 'n/a', met: 'n/a' };
      const b = bestAt(pts, l, TARGET);
      const ratio = b && h ? `${(b.qps / h.qps).toFixed(2)}×` : b ? '∞ (hnswlib < 0.95)' : '—';
      return { ratio, met: b !== null && (h === null || b.qps >= h.qps) ? '✓' : '✗' };
    };
    const ids = versus('annoy-ts ids'), viaGraph = versus('annoy-ts graph ids');
    const post = pts.filter((p) => p.library === 'post-filter top 100');
    const postBest = post.length ? post.reduce((a, b) => (b.recall > a.recall ? b : a)) : null;
    lines.push(`| ${f.name} | ${f.allowed.toLocaleString('en-US')} | ${cell('annoy-ts ids')} | ${cell('annoy-ts graph ids')} | ${cell('annoy-ts predicate')} | ` +
      `${cell('hnswlib filter')} | ${ids.ratio} | ${viaGraph.ratio} | ` +
      `${postBest ? `${postBest.recall.toFixed(3)} (${postBest.meanResults.toFixed(1)} results, ${fmt(postBest.qps)} QPS)` : 'n/a'} | ${ids.met} / ${viaGraph.met} |`);
  }
  if (r.switchPoints.length) {
    lines.push('\nSwitch point (random filters): the filtered walk forced (QPS at recall ≥ 0.95) against the exact scan forced.\n');
    lines.push('| filter | allowed | walk QPS @ 0.95 (searchK) | scan QPS | walk ÷ scan |');
    lines.push('| :-- | --: | --: | --: | --: |');
    for (const name of [...new Set(r.switchPoints.map((p) => p.filter))]) {
      const pts = r.switchPoints.filter((p) => p.filter === name);
      const w = bestAt(pts, 'forced walk', TARGET), s = bestAt(pts, 'forced scan', TARGET);
      lines.push(`| ${name} | ${(r.switchAllowed[name] ?? 0).toLocaleString('en-US')} | ${w ? `${fmt(w.qps)} (${w.value})` : '—'} | ${s ? fmt(s.qps) : '—'} | ${w && s ? (w.qps / s.qps).toFixed(2) + '×' : '—'} |`);
    }
  }
  if (r.radius.length) {
    lines.push('\nRadius search (n = Infinity, maxDistance = a radius holding ~10 / 100 / 1,000 items per query): precision and recall against exact range search.\n');
    lines.push('| items in range | searchK | precision | recall | mean results | QPS |');
    lines.push('| --: | --: | --: | --: | --: | --: |');
    for (const x of r.radius) {
      lines.push(`| ${x.radiusItems} | ${x.value === -1 ? 'default (adaptive)' : x.value === Infinity ? 'Infinity (exact scan)' : x.value.toLocaleString('en-US')} | ${x.precision.toFixed(3)} | ${x.recall.toFixed(3)} | ${x.meanResults.toFixed(1)} | ${fmt(x.qps)} |`);
    }
  }
}
const text = lines.join('\n');
process.stdout.write(`${text}\n`);

const outName = values.out ?? (quick ? 'filter-quick' : 'filter');
const outFile = join(REPO_ROOT, 'bench', 'results', `${outName}.json`);
writeFileSync(outFile, JSON.stringify({
  type: 'bench:filter', started: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000,
  config: { datasets, nQueries, nTrees, rounds, quick, skip: [...skip], k: K, selectivities: SELECTIVITIES, searchK: SEARCH_K, ef: EF, target: TARGET,
    tuning: { ...filterTuning }, graphBeam: { searchKPerEf: SEARCH_K_PER_EF, efMax: EF_MAX } },
  machine: machineFacts(null), loadAverageAtEnd: loadAverage(), datasets: reports, table: text,
}, (_, v) => (v === Infinity ? 'Infinity' : v), 2));
log(`wrote ${outFile}`);
