// All cores (issue 6): build speed-up with 2 workers vs 1, and batch-query throughput on the worker
// pool vs one thread, on glove-100-angular, with the recall of each path. Measures the compiled
// package (dist/, as users run it: workers start from .js), so run `npm run build` first.
//   npx tsx bench/parallel.ts [--trees 10] [--search-k 3000] [--queries 10000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AnnoyIndex } from 'annoy-ts';
import { loadBenchDataset } from '../datasets/bench.ts';

const { values } = parseArgs({ options: {
  trees: { type: 'string', default: '10' }, 'search-k': { type: 'string', default: '3000' },
  queries: { type: 'string', default: '10000' },
} });
const nTrees = Number(values.trees), searchK = Number(values['search-k']);
const ds = await loadBenchDataset('glove-100-angular', { quiet: true });
const nBase = ds.nBase;
const nQueries = Math.min(Number(values.queries), ds.nQueries);
const { dim } = ds;
const queries = ds.queries.subarray(0, nQueries * dim);
const cores = availableParallelism();
console.log(`glove-100-angular: ${nBase} × ${dim}, ${nTrees} trees; ${nQueries} queries, searchK ${searchK}; ${cores} cores; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

function fill(): AnnoyIndex {
  const index = new AnnoyIndex(dim, 'angular');
  for (let i = 0; i < nBase; i++) index.addItem(i, ds.base.subarray(i * dim, (i + 1) * dim));
  index.setSeed(42);
  return index;
}
function recallOf(results: number[][]): number {
  let hits = 0;
  results.forEach((ids, q) => {
    const truth = new Set(Array.from(ds.groundTruth.subarray(q * ds.k, q * ds.k + 10)));
    for (const id of ids) if (truth.has(id)) hits++;
  });
  return hits / (10 * results.length);
}

const builds: { jobs: number; seconds: number }[] = [];
let index: AnnoyIndex | null = null;
for (const jobs of [1, cores]) {
  const candidate = fill();
  const t = performance.now();
  candidate.build(nTrees, jobs);
  builds.push({ jobs, seconds: (performance.now() - t) / 1000 });
  console.log(`build, nJobs ${jobs}: ${builds.at(-1)!.seconds.toFixed(2)} s`);
  index = candidate;
}
const single = fill();
single.build(nTrees, 1);

// Queries: one thread (getNnsByVectors) vs the pool (getNnsByVectorsAsync), on the multi-worker build.
const warm = queries.subarray(0, Math.min(500, nQueries) * dim);
index!.getNnsByVectors(warm, 10, searchK);
await index!.getNnsByVectorsAsync(warm, 10, searchK);
let t = performance.now();
const one = index!.getNnsByVectors(queries, 10, searchK);
const oneSeconds = (performance.now() - t) / 1000;
t = performance.now();
const pooled = await index!.getNnsByVectorsAsync(queries, 10, searchK);
const poolSeconds = (performance.now() - t) / 1000;
await index!.close();
const identical = JSON.stringify(one) === JSON.stringify(pooled);
const result = {
  date: new Date().toISOString(), node: process.version, cores, loadavg: loadavg(), nBase, dim, nTrees, nQueries, searchK,
  buildSeconds: builds, buildSpeedup: builds[0].seconds / builds[1].seconds,
  queries: { oneThreadQps: nQueries / oneSeconds, poolQps: nQueries / poolSeconds, speedup: oneSeconds / poolSeconds, identical },
  recall: { singleThreadBuild: recallOf(single.getNnsByVectors(queries, 10, searchK)), parallelBuild: recallOf(one) },
};
console.log(`
| measure | 1 thread | ${cores} workers | ratio |
| --- | ---: | ---: | ---: |
| build, ${nTrees} trees (s) | ${builds[0].seconds.toFixed(2)} | ${builds[1].seconds.toFixed(2)} | ${result.buildSpeedup.toFixed(2)}× |
| batch queries (QPS, searchK ${searchK}) | ${result.queries.oneThreadQps.toFixed(0)} | ${result.queries.poolQps.toFixed(0)} | ${result.queries.speedup.toFixed(2)}× |
| recall@10 (same searchK) | ${result.recall.singleThreadBuild.toFixed(4)} (1-thread build) | ${result.recall.parallelBuild.toFixed(4)} (${cores}-worker build) | |

pool answers identical to the calling thread's: ${identical}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/parallel.json', JSON.stringify(result, null, 2) + '\n');
