// All cores (issue 6), on glove-100-angular: build time with 1 thread and with one worker per core,
// beside C++ Annoy (-O3 -march=native, its multi-threaded build policy) with 1 and as many threads,
// and the npm `annoy` binding (whose build has no thread count); then batch-query throughput on the
// worker pool vs one thread, and the recall of each build. Measures the compiled package (dist/, as
// users run it: workers start from .js), so run `npm run build` first.
// This machine is shared and noisy (the same build varies by up to ±30% from one minute to the
// next), so every round builds with each library and thread count in turn. Two estimates are
// reported: the median of the ratios taken within each round, and the ratio of the best (least
// disturbed) times; every round's times are kept in the results.
//   npx tsx bench/parallel.ts [--trees 10] [--search-k 3000] [--queries 10000] [--rounds 5]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnnoyIndex } from 'annoy-ts';
import { loadBenchDataset } from '../datasets/bench.ts';
import { writeFbin } from './lib/fbin.ts';
import { nativeTools } from './lib/native.ts';

const { values } = parseArgs({ options: {
  trees: { type: 'string', default: '10' }, 'search-k': { type: 'string', default: '3000' },
  queries: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' },
} });
const rounds = Math.max(1, Number(values.rounds));
const nTrees = Number(values.trees), searchK = Number(values['search-k']);
const ds = await loadBenchDataset('glove-100-angular', { quiet: true });
const nBase = ds.nBase;
const nQueries = Math.min(Number(values.queries), ds.nQueries);
const { dim } = ds;
const queries = ds.queries.subarray(0, nQueries * dim);
const cores = availableParallelism();
const SEED = 42;
console.log(`glove-100-angular: ${nBase} × ${dim}, ${nTrees} trees; ${nQueries} queries, searchK ${searchK}; ${cores} cores; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

const work = mkdtempSync(join(tmpdir(), 'annoy-ts-parallel-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// --- builders: each returns build seconds (items already added; saving not timed) ---
function fill(): AnnoyIndex {
  const index = new AnnoyIndex(dim, 'angular');
  for (let i = 0; i < nBase; i++) index.addItem(i, ds.base.subarray(i * dim, (i + 1) * dim));
  index.setSeed(SEED);
  return index;
}
let parallelIndex: AnnoyIndex | null = null;
function buildAnnoyTs(jobs: number): number {
  const index = fill();
  const t = performance.now();
  index.build(nTrees, jobs);
  const seconds = (performance.now() - t) / 1000;
  if (jobs === cores) parallelIndex = index;
  return seconds;
}

const native = nativeTools();
const baseFile = join(work, 'base.fbin');
if (!('unavailable' in native)) writeFbin(baseFile, ds.base, dim);
else console.log(`C++ Annoy skipped: ${native.unavailable}`);
function buildNative(jobs: number): number {
  if ('unavailable' in native) return NaN;
  const out = execFileSync(native.binary, ['build', 'angular', String(dim), baseFile, String(nTrees), String(SEED), join(work, 'native.ann'), String(jobs)], { encoding: 'utf8' });
  return (JSON.parse(out) as { build_seconds: number }).build_seconds;
}

interface BindingIndex { addItem(i: number, v: number[]): void; build(nTrees: number): void; unload(): void }
let Binding: (new (f: number, metric: string) => BindingIndex) | null = null;
try {
  Binding = createRequire(import.meta.url)('annoy') as new (f: number, metric: string) => BindingIndex;
} catch (e) {
  console.log(`npm annoy binding skipped: ${(e as Error).message.split('\n')[0]}`);
}
function buildBinding(): number {
  if (!Binding) return NaN;
  const index = new Binding(dim, 'Angular');
  // The binding silently ignores typed arrays: it needs plain arrays.
  for (let i = 0; i < nBase; i++) index.addItem(i, Array.from(ds.base.subarray(i * dim, (i + 1) * dim)));
  const t = performance.now();
  index.build(nTrees);
  const seconds = (performance.now() - t) / 1000;
  index.unload();
  return seconds;
}

// --- builds, interleaved round by round ---
const runs = [
  { name: 'annoy-ts, 1 thread', key: 'ts1', build: () => buildAnnoyTs(1) },
  { name: `annoy-ts, ${cores} workers`, key: 'tsN', build: () => buildAnnoyTs(cores) },
  { name: 'C++ native, 1 thread', key: 'native1', build: () => buildNative(1) },
  { name: `C++ native, ${cores} threads`, key: 'nativeN', build: () => buildNative(cores) },
  { name: 'npm annoy binding (1 thread)', key: 'binding', build: buildBinding },
] as const;
type Key = (typeof runs)[number]['key'];
const times: Record<Key, number>[] = [];
for (let round = 0; round < rounds; round++) {
  const row = {} as Record<Key, number>;
  for (const run of runs) {
    row[run.key] = run.build();
    console.log(`round ${round + 1}: ${run.name}: ${row[run.key].toFixed(2)} s`);
  }
  times.push(row);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const medianOf = (f: (row: Record<Key, number>) => number) => median(times.map(f));
const seconds = Object.fromEntries(runs.map((r) => [r.key, medianOf((row) => row[r.key])])) as Record<Key, number>;
const best = Object.fromEntries(runs.map((r) => [r.key, Math.min(...times.map((row) => row[r.key]))])) as Record<Key, number>;
const ratios = {
  /** annoy-ts: 1-thread time ÷ all-cores time (median over rounds; then best time ÷ best time). */
  speedup: medianOf((r) => r.ts1 / r.tsN),
  speedupOfBest: best.ts1 / best.tsN,
  nativeSpeedupOfBest: best.native1 / best.nativeN,
  nativeSpeedup: medianOf((r) => r.native1 / r.nativeN),
  /** annoy-ts all cores ÷ C++ native with as many threads (< 1: annoy-ts is faster). */
  vsNative: medianOf((r) => r.tsN / r.nativeN),
  /** annoy-ts all cores ÷ the binding's build (its only option: one thread). */
  vsBinding: medianOf((r) => r.tsN / r.binding),
};

// --- queries: one thread (getNnsByVectors) vs the pool (getNnsByVectorsAsync), on the all-cores build ---
const index = parallelIndex!;
const warm = queries.subarray(0, Math.min(500, nQueries) * dim);
index.getNnsByVectors(warm, 10, searchK);
await index.getNnsByVectorsAsync(warm, 10, searchK);
let t = performance.now();
const one = index.getNnsByVectors(queries, 10, searchK);
const oneSeconds = (performance.now() - t) / 1000;
t = performance.now();
const pooled = await index.getNnsByVectorsAsync(queries, 10, searchK);
const poolSeconds = (performance.now() - t) / 1000;
await index.close();
const identical = JSON.stringify(one) === JSON.stringify(pooled);

function recallOf(results: number[][]): number {
  let hits = 0;
  results.forEach((ids, q) => {
    const truth = new Set(Array.from(ds.groundTruth.subarray(q * ds.k, q * ds.k + 10)));
    for (const id of ids) if (truth.has(id)) hits++;
  });
  return hits / (10 * results.length);
}
const single = fill();
single.build(nTrees, 1);
const result = {
  date: new Date().toISOString(), node: process.version, cores, loadavg: loadavg(), nBase, dim, nTrees, nQueries, searchK,
  rounds, buildSeconds: times, medianSeconds: seconds, bestSeconds: best, ratios,
  queries: { oneThreadQps: nQueries / oneSeconds, poolQps: nQueries / poolSeconds, speedup: oneSeconds / poolSeconds, identical },
  recall: { singleThreadBuild: recallOf(single.getNnsByVectors(queries, 10, searchK)), parallelBuild: recallOf(one) },
};
const f2 = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(2));
console.log(`
builds, ${nTrees} trees (median of ${rounds} rounds; ratios taken within each round)

| builder | 1 thread (s) | ${cores} threads (s) | speed-up |
| --- | ---: | ---: | ---: |
| annoy-ts | ${f2(seconds.ts1)} | ${f2(seconds.tsN)} | ${f2(ratios.speedup)}× (rounds: ${times.map((r) => f2(r.ts1 / r.tsN)).join(', ')}); best times: ${f2(ratios.speedupOfBest)}× |
| C++ Annoy, -O3 -march=native | ${f2(seconds.native1)} | ${f2(seconds.nativeN)} | ${f2(ratios.nativeSpeedup)}×; best times: ${f2(ratios.nativeSpeedupOfBest)}× |
| npm annoy binding | ${f2(seconds.binding)} | — | — |

annoy-ts on ${cores} workers takes ${f2(ratios.vsNative)}× the time of C++ Annoy on ${cores} threads and ${f2(ratios.vsBinding)}× the binding's (one thread).

| queries (searchK ${searchK}) | 1 thread | ${cores}-worker pool | ratio |
| --- | ---: | ---: | ---: |
| batch QPS | ${result.queries.oneThreadQps.toFixed(0)} | ${result.queries.poolQps.toFixed(0)} | ${result.queries.speedup.toFixed(2)}× |
| recall@10 | ${result.recall.singleThreadBuild.toFixed(4)} (1-thread build) | ${result.recall.parallelBuild.toFixed(4)} (${cores}-worker build) | |

pool answers identical to the calling thread's: ${identical}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/parallel.json', JSON.stringify(result, null, 2) + '\n');
