// Sharded indexes (issue 18). Two parts:
//  glove — GloVe-100 (331,479 × 100, angular) as one AnnoyIndex and as ShardedIndexes of 1, 2, 4 and
//          8 shards: recall@10 and single-thread QPS at equal total work (searchK per shard = total / S)
//          and at equal work per shard; batch QPS on the worker pools; whether a coarse split
//          (spherical k-means, queries probing the nearest clusters only) pays; and whether building
//          shards concurrently (one thread each) beats building them one after another (all threads each).
//  big   — a real index past 4 GiB: N = 10,000,000 × 100 (GloVe rows with seeded Gaussian noise),
//          built on 2 threads into shards of the default size; build time, file bytes, open time,
//          RSS, QPS and recall@10 at two searchK against exact search (200 queries). Resumable: the
//          ground truth and the shards are cached in .cache/bench-shards/, a rerun reuses them
//          (the builder's resume option), and the query phase runs in a fresh process so its RSS is
//          the opened index's.
// Measures the compiled package (dist/, as users run it): run `npm run build` first.
//   npm run bench:shards                       # both parts
//   npx tsx bench/shards.ts --part glove [--queries 1000] [--rounds 3] [--trees 10]
//   npx tsx bench/shards.ts --part big [--items 10000000] [--trees 10] [--big-queries 200] [--search-k 10000,100000]
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { AnnoyIndex, mergeNearest, ShardedIndex, ShardedIndexBuilder, type ShardBuilt } from 'annoy-ts';
import { loadBenchDataset, type BenchDataset } from '../datasets/bench.ts';
import { computeGroundTruth } from '../datasets/ground-truth.ts';
import { cacheDir } from '../datasets/paths.ts';

const { values } = parseArgs({ options: {
  part: { type: 'string', default: 'all' }, queries: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' },
  trees: { type: 'string', default: '10' }, items: { type: 'string', default: '10000000' }, 'big-queries': { type: 'string', default: '200' },
  'search-k': { type: 'string', default: '10000,100000' }, dir: { type: 'string' }, open: { type: 'string', default: 'sync' },
} });
const cores = availableParallelism();
const SEED = 42;
const GiB = 2 ** 30;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const seconds = (since: number) => (performance.now() - since) / 1000;
const rssGiB = () => process.memoryUsage().rss / GiB;
const f0 = (x: number) => x.toFixed(0), f2 = (x: number) => x.toFixed(2), f3 = (x: number) => x.toFixed(3);

function recallAt10(results: number[][], truth: Int32Array, k: number): number {
  let hits = 0;
  results.forEach((ids, q) => {
    const want = new Set(Array.from(truth.subarray(q * k, q * k + 10)));
    for (const id of ids.slice(0, 10)) if (want.has(id)) hits++;
  });
  return hits / (10 * results.length);
}

// ------------------------------------------------------------------ part glove

async function glovePart(): Promise<void> {
  const nTrees = Number(values.trees), rounds = Math.max(1, Number(values.rounds));
  const ds = await loadBenchDataset('glove-100-angular', { quiet: true });
  const { dim, nBase } = ds;
  const nQueries = Math.min(Number(values.queries), ds.nQueries);
  const queries = ds.queries.subarray(0, nQueries * dim);
  const work = mkdtempSync(join(tmpdir(), 'annoy-ts-shards-bench-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  console.log(`glove-100-angular: ${nBase} × ${dim}, ${nTrees} trees per index; ${nQueries} queries; ${cores} cores; load ${loadavg().map(f2).join(' ')}`);

  // Builds: one index, and sharded indexes of S equal shards (shard k seeded SEED + k, so S = 1 is the same file).
  const single = new AnnoyIndex(dim, 'angular');
  for (let i = 0; i < nBase; i++) single.addItem(i, ds.base.subarray(i * dim, (i + 1) * dim));
  single.setSeed(SEED);
  let t = performance.now();
  single.build(nTrees, cores);
  const singleBuild = seconds(t);
  single.save(join(work, 'single.ann'));
  const singleBytes = statSync(join(work, 'single.ann')).size;
  const SHARDS = [1, 2, 4, 8];
  const sharded = new Map<number, ShardedIndex>();
  const builds: Record<number, { seconds: number; bytes: number; shards: number }> = {};
  for (const S of SHARDS) {
    const dir = join(work, `s${S}`);
    t = performance.now();
    const builder = new ShardedIndexBuilder(dir, dim, 'angular', { nTrees, nJobs: cores, seed: SEED, maxShardItems: Math.ceil(nBase / S), maxShardBytes: 2 ** 40 });
    for (let i = 0; i < nBase; i++) builder.addItem(i, ds.base.subarray(i * dim, (i + 1) * dim));
    const manifest = builder.finish();
    builds[S] = { seconds: seconds(t), bytes: manifest.shards.reduce((s, e) => s + e.byteLength, 0), shards: manifest.shards.length };
    sharded.set(S, ShardedIndex.open(dir));
    console.log(`built ${S} shard${S > 1 ? 's' : ''} in ${f2(builds[S].seconds)} s (one index: ${f2(singleBuild)} s)`);
  }
  const sameFile = sharded.get(1)!.manifest.shards[0].checksum === single.sidecar?.checksum;

  // Queries, one thread: every configuration in turn, round after round.
  const TOTALS = [1000, 3000, 10000, 30000];
  type Config = { name: string; S: number; total: number; perShard: number; run: () => number[][] };
  const configs: Config[] = [];
  for (const total of TOTALS) {
    configs.push({ name: 'one index', S: 0, total, perShard: total, run: () => single.getNnsByVectors(queries, 10, total) });
    for (const S of SHARDS) {
      const index = sharded.get(S)!;
      configs.push({ name: `${S} shards, equal total work`, S, total, perShard: Math.round(total / S), run: () => index.getNnsByVectors(queries, 10, Math.max(1, Math.round(total / S))) });
      if (S > 1) configs.push({ name: `${S} shards, equal work per shard`, S, total: total * S, perShard: total, run: () => index.getNnsByVectors(queries, 10, total) });
    }
  }
  const qps = new Map<Config, number[]>();
  const recall = new Map<Config, number>();
  const warm = queries.subarray(0, 50 * dim);
  single.getNnsByVectors(warm, 10, 3000);
  for (const index of sharded.values()) index.getNnsByVectors(warm, 10, 3000);
  for (let round = 0; round < rounds; round++) {
    for (const c of configs) {
      t = performance.now();
      const results = c.run();
      (qps.get(c) ?? qps.set(c, []).get(c)!).push(nQueries / seconds(t));
      if (round === 0) recall.set(c, recallAt10(results, ds.groundTruth, ds.k));
    }
    console.log(`query round ${round + 1} of ${rounds} done`);
  }

  // Batch queries on worker pools (each shard's own pool), searchK total 10,000.
  const pooled: { name: string; qps: number; recall: number }[] = [];
  for (const [name, run] of [
    ['one index', () => single.getNnsByVectorsAsync(queries, 10, 10000)],
    ...SHARDS.map((S) => [`${S} shards`, () => sharded.get(S)!.getNnsByVectorsAsync(queries, 10, Math.round(10000 / S))] as const),
  ] as const) {
    await run(); // pools start
    t = performance.now();
    const results = await run();
    pooled.push({ name, qps: nQueries / seconds(t), recall: recallAt10(results, ds.groundTruth, ds.k) });
  }
  await single.close();
  for (const index of sharded.values()) await index.close();

  const coarse = coarseSplit(ds, nTrees, queries, nQueries, rounds);
  const concurrent = await concurrentBuilds(ds, nTrees, rounds);

  const rows = configs.map((c) => ({ name: c.name, shards: c.S, totalSearchK: c.total, perShardSearchK: c.perShard, qps: median(qps.get(c)!), recall: recall.get(c)! }));
  const result = {
    date: new Date().toISOString(), node: process.version, cores, loadavg: loadavg(), nBase, dim, nTrees, nQueries, rounds,
    builds: { single: { seconds: singleBuild, bytes: singleBytes }, sharded: builds, oneShardIsTheSameFile: sameFile },
    oneThread: rows, pool: pooled, coarse, concurrentBuilds: concurrent,
  };
  console.log(`
builds (${nTrees} trees, ${cores} threads each): one index ${f2(singleBuild)} s, ${(singleBytes / 2 ** 20).toFixed(0)} MiB; ` +
    SHARDS.map((S) => `${S} shards ${f2(builds[S].seconds)} s, ${(builds[S].bytes / 2 ** 20).toFixed(0)} MiB`).join('; ') +
    `\n1 shard is byte-identical to the one index: ${sameFile}

one thread, ${nQueries} queries (median of ${rounds} rounds); searchK per shard = total / S ("equal total work") or = total ("equal work per shard")

| total searchK | one index | ${SHARDS.map((S) => `${S} shard${S > 1 ? 's' : ''}`).join(' | ')} |
| ---: | ---: | ${SHARDS.map(() => '---:').join(' | ')} |
${TOTALS.map((total) => `| ${total} | ${cell(rows.find((r) => r.shards === 0 && r.totalSearchK === total)!)} | ${SHARDS.map((S) => cell(rows.find((r) => r.shards === S && r.totalSearchK === total && r.name.includes('total'))!)).join(' | ')} |`).join('\n')}

equal work per shard (each shard searchK = the one index's):

| searchK per shard | one index | ${SHARDS.slice(1).map((S) => `${S} shards`).join(' | ')} |
| ---: | ---: | ${SHARDS.slice(1).map(() => '---:').join(' | ')} |
${TOTALS.map((total) => `| ${total} | ${cell(rows.find((r) => r.shards === 0 && r.totalSearchK === total)!)} | ${SHARDS.slice(1).map((S) => cell(rows.find((r) => r.shards === S && r.perShardSearchK === total && r.name.includes('per shard'))!)).join(' | ')} |`).join('\n')}

worker pools (getNnsByVectorsAsync, total searchK 10000): ${pooled.map((p) => `${p.name} ${f0(p.qps)} QPS (recall ${f3(p.recall)})`).join('; ')}

coarse split (spherical k-means into ${coarse.clusters} shards of ${coarse.sizes.join('/')} items; queries probe the nearest p):

| total searchK | ${SHARDS.at(-1)} shards, all searched | ${coarse.probes.map((p) => `probe ${p}`).join(' | ')} |
| ---: | ---: | ${coarse.probes.map(() => '---:').join(' | ')} |
${TOTALS.map((total) => `| ${total} | ${cell(rows.find((r) => r.shards === SHARDS.at(-1) && r.totalSearchK === total && r.name.includes('total'))!)} | ${coarse.probes.map((p) => cell(coarse.rows.find((r) => r.probes === p && r.totalSearchK === total)!)).join(' | ')} |`).join('\n')}

building 2 shards of ${Math.ceil(nBase / 2)} items: one after another on ${cores} threads each ${f2(concurrent.sequentialSeconds)} s; both at once on 1 thread each ${f2(concurrent.concurrentSeconds)} s (${f2(concurrent.sequentialSeconds / concurrent.concurrentSeconds)}×, median of ${rounds} rounds)`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/shards-glove.json', JSON.stringify(result, null, 2) + '\n');
}

function cell(r: { qps: number; recall: number }): string {
  return `${f3(r.recall)} @ ${f0(r.qps)} QPS`;
}

/**
 * The alternative to the default split: spherical k-means (on a sample, then every item to its
 * nearest centroid) makes 8 shards of similar words; a query searches only the p shards whose
 * centroids are nearest, with the total searchK shared among them.
 */
function coarseSplit(ds: BenchDataset, nTrees: number, queries: Float32Array, nQueries: number, rounds: number) {
  const { dim, nBase } = ds;
  const K = 8, ITERATIONS = 15, SAMPLE = 30000;
  const unit = (v: Float32Array, o: number, out: Float64Array) => {
    let s = 0;
    for (let t = 0; t < dim; t++) s += v[o + t] * v[o + t];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let t = 0; t < dim; t++) out[t] = v[o + t] * inv;
  };
  const centroids = new Float64Array(K * dim);
  const u = new Float64Array(dim);
  for (let c = 0; c < K; c++) {
    unit(ds.base, Math.floor((c * nBase) / K + 17) * dim, u);
    centroids.set(u, c * dim);
  }
  const nearest = (v: Float32Array, o: number): number[] => {
    unit(v, o, u);
    const scores = Array.from({ length: K }, (_, c) => {
      let s = 0;
      for (let t = 0; t < dim; t++) s += u[t] * centroids[c * dim + t];
      return s;
    });
    return scores.map((_, c) => c).sort((a, b) => scores[b] - scores[a]);
  };
  const step = Math.floor(nBase / SAMPLE);
  for (let it = 0; it < ITERATIONS; it++) {
    const sums = new Float64Array(K * dim);
    for (let j = 0; j < nBase; j += step) {
      const c = nearest(ds.base, j * dim)[0];
      for (let t = 0; t < dim; t++) sums[c * dim + t] += u[t];
    }
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += sums[c * dim + t] ** 2;
      if (s > 0) for (let t = 0; t < dim; t++) centroids[c * dim + t] = sums[c * dim + t] / Math.sqrt(s);
    }
  }
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let j = 0; j < nBase; j++) members[nearest(ds.base, j * dim)[0]].push(j);
  const shards = members.map((ids, c) => {
    const index = new AnnoyIndex(dim, 'angular');
    ids.forEach((id, local) => index.addItem(local, ds.base.subarray(id * dim, (id + 1) * dim)));
    index.setSeed(SEED + c);
    index.build(nTrees, cores);
    return index;
  });
  const routes = Array.from({ length: nQueries }, (_, q) => nearest(queries, q * dim));
  const PROBES = [1, 2, 3, 4];
  const TOTALS = [1000, 3000, 10000, 30000];
  const rows: { probes: number; totalSearchK: number; qps: number; recall: number }[] = [];
  for (const probes of PROBES) {
    for (const total of TOTALS) {
      const perShard = Math.max(1, Math.round(total / probes));
      const run = () => Array.from({ length: nQueries }, (_, q) => {
        const v = queries.subarray(q * dim, (q + 1) * dim);
        return mergeNearest(routes[q].slice(0, probes).map((c) => {
          const r = shards[c].getNnsByVector(v, 10, perShard, true);
          return { ids: r.ids.map((local) => members[c][local]), distances: r.distances };
        }), 10, false).ids;
      });
      const times: number[] = [];
      let results: number[][] = [];
      for (let round = 0; round < rounds; round++) {
        const t = performance.now();
        results = run();
        times.push(nQueries / seconds(t));
      }
      rows.push({ probes, totalSearchK: total, qps: median(times), recall: recallAt10(results, ds.groundTruth, ds.k) });
    }
  }
  return { clusters: K, sizes: members.map((m) => m.length), probes: PROBES, rows };
}

/** Two shards built one after another on all threads each (what the builder does) vs both at once on one thread each. */
async function concurrentBuilds(ds: BenchDataset, nTrees: number, rounds: number) {
  const { dim, nBase } = ds;
  const half = Math.ceil(nBase / 2);
  const shared = new Float32Array(new SharedArrayBuffer(ds.base.byteLength));
  shared.set(ds.base);
  const library = import.meta.resolve('annoy-ts');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.library).then(({ AnnoyIndex }) => {
      const { dim, start, end, base, nTrees, seed } = workerData;
      const v = new Float32Array(base);
      const index = new AnnoyIndex(dim, 'angular');
      for (let i = start; i < end; i++) index.addItem(i - start, v.subarray(i * dim, (i + 1) * dim));
      index.setSeed(seed);
      parentPort.postMessage('ready');
      parentPort.once('message', () => { index.build(nTrees, 1); parentPort.postMessage('built'); });
    });`;
  const sequential: number[] = [], concurrent: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const indexes = [0, 1].map((s) => {
      const index = new AnnoyIndex(dim, 'angular');
      for (let i = s * half; i < Math.min(nBase, (s + 1) * half); i++) index.addItem(i - s * half, ds.base.subarray(i * dim, (i + 1) * dim));
      index.setSeed(SEED + s);
      return index;
    });
    let t = performance.now();
    for (const index of indexes) index.build(nTrees, cores);
    sequential.push(seconds(t));
    const workers = [0, 1].map((s) => new Worker(code, {
      eval: true, workerData: { library, dim, start: s * half, end: Math.min(nBase, (s + 1) * half), base: shared.buffer, nTrees, seed: SEED + s },
    }));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    t = performance.now();
    const built = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
    for (const w of workers) w.postMessage('go');
    await Promise.all(built);
    concurrent.push(seconds(t));
    await Promise.all(workers.map((w) => w.terminate()));
    console.log(`build round ${round + 1}: one after another ${f2(sequential.at(-1)!)} s, at once ${f2(concurrent.at(-1)!)} s`);
  }
  return { sequentialSeconds: median(sequential), concurrentSeconds: median(concurrent), sequential, concurrent };
}

// ------------------------------------------------------------------ part big

const NOISE = 0.3;

/**
 * Row j of the big set: GloVe base row (j mod nBase) plus Gaussian noise of NOISE × its norm
 * (spread over the dim components), from a generator seeded by j alone, so any row can be made
 * again in any order.
 */
function bigRow(ds: BenchDataset, j: number, out: Float32Array): void {
  const { dim, nBase } = ds;
  const o = (j % nBase) * dim;
  let s = 0;
  for (let t = 0; t < dim; t++) s += ds.base[o + t] ** 2;
  const sigma = (NOISE * Math.sqrt(s)) / Math.sqrt(dim);
  let state = (Math.imul(j ^ 0x5bd1e995, 0x9e3779b1) + SEED) >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (((z ^ (z >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  for (let t = 0; t < dim; t += 2) {
    const r = Math.sqrt(-2 * Math.log(next())), a = 2 * Math.PI * next();
    out[t] = ds.base[o + t] + sigma * r * Math.cos(a);
    if (t + 1 < dim) out[t + 1] = ds.base[o + t + 1] + sigma * r * Math.sin(a);
  }
}

async function bigPart(): Promise<void> {
  const nItems = Number(values.items), nTrees = Number(values.trees), nQueries = Number(values['big-queries']);
  const searchKs = values['search-k']!.split(',').map(Number);
  const ds = await loadBenchDataset('glove-100-angular', { quiet: true });
  const { dim } = ds;
  const cache = cacheDir('bench-shards', `big-${nItems}-noise${NOISE}-t${nTrees}`);
  mkdirSync(cache, { recursive: true });
  const indexDir = join(cache, 'index');
  console.log(`big: ${nItems} × ${dim} (GloVe rows + ${NOISE} × norm Gaussian noise), ${nTrees} trees, ${cores} cores, ` +
    `RAM ${(totalmem() / GiB).toFixed(1)} GiB (${(freemem() / GiB).toFixed(1)} free); cache ${cache}`);
  const queries = ds.queries.subarray(0, nQueries * dim);
  const row = new Float32Array(dim);

  // 1. Exact ground truth, 1M rows at a time (cached).
  const gtFile = join(cache, `gt-q${nQueries}.json`);
  let gt: { ids: number[][]; distances: number[][]; seconds: number };
  if (existsSync(gtFile)) {
    gt = JSON.parse(readFileSync(gtFile, 'utf8'));
    console.log(`ground truth from the cache (${f0(gt.seconds)} s when computed)`);
  } else {
    const t = performance.now();
    const best = Array.from({ length: nQueries }, () => ({ ids: [] as number[], distances: [] as number[] }));
    const CHUNK = 1_000_000;
    const chunk = new Float32Array(CHUNK * dim);
    for (let start = 0; start < nItems; start += CHUNK) {
      const count = Math.min(CHUNK, nItems - start);
      for (let j = 0; j < count; j++) {
        bigRow(ds, start + j, row);
        chunk.set(row, j * dim);
      }
      const part = await computeGroundTruth({ base: chunk.subarray(0, count * dim), queries, dim, metric: 'angular', k: 10 }, { quiet: true });
      for (let q = 0; q < nQueries; q++) {
        const ids = Array.from(part.ids.subarray(q * 10, q * 10 + 10), (id) => id + start);
        best[q] = mergeNearest([best[q], { ids, distances: Array.from(part.distances.subarray(q * 10, q * 10 + 10)) }], 10, false);
      }
      console.log(`ground truth: ${start + count} of ${nItems} rows, ${f0(seconds(t))} s`);
    }
    gt = { ids: best.map((b) => b.ids), distances: best.map((b) => b.distances), seconds: seconds(t) };
    writeFileSync(gtFile, JSON.stringify(gt));
  }

  // 2. The sharded index (resumable: shards of an interrupted run are reused).
  const buildFile = join(cache, 'build.json');
  let build: { seconds: number; shardSeconds: number[]; maxRssGiB: number; reused: number; generateSeconds: number };
  const manifestOk = existsSync(join(indexDir, 'manifest.json')) && existsSync(buildFile);
  if (manifestOk) {
    build = JSON.parse(readFileSync(buildFile, 'utf8'));
    console.log(`sharded index from the cache (built in ${f0(build.seconds)} s)`);
  } else {
    const shards: ShardBuilt[] = [];
    const builder = new ShardedIndexBuilder(indexDir, dim, 'angular', {
      nTrees, nJobs: 2, seed: SEED, resume: true,
      onShard: (s) => {
        shards.push(s);
        console.log(`shard ${s.shard}: ${s.nItems} items, ${(s.byteLength / GiB).toFixed(2)} GiB, ${s.reused ? 'reused' : `${f0(s.seconds)} s`}; RSS ${f2(rssGiB())} GiB`);
      },
    });
    console.log(`building: ${builder.itemsPerShard} items per shard (default maxShardBytes)`);
    const t = performance.now();
    let generate = 0;
    for (let j = 0; j < nItems; j++) {
      const g = performance.now();
      bigRow(ds, j, row);
      generate += performance.now() - g;
      builder.addItem(j, row);
    }
    builder.finish();
    build = {
      seconds: seconds(t), shardSeconds: shards.map((s) => s.seconds), maxRssGiB: process.resourceUsage().maxRSS / 2 ** 20,
      reused: shards.filter((s) => s.reused).length, generateSeconds: generate / 1000,
    };
    writeFileSync(buildFile, JSON.stringify(build, null, 2));
  }

  // 3. Open and query in a fresh process: its RSS is the index's. Then, in another fresh process,
  // only the time openAsync takes (shards read and checked on worker threads).
  const phase = (open: 'sync' | 'async', queries: boolean) => new Promise<QueryPhase>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [
      '--part', 'big-query', '--dir', cache, '--big-queries', String(nQueries), '--search-k', queries ? searchKs.join(',') : '', '--open', open,
    ], { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    child.once('message', (m) => {
      resolve(m as QueryPhase);
      child.kill();
    });
    child.once('exit', (code) => reject(new Error(`the query process exited with code ${code}`)));
  });
  const measured = await phase('sync', true);
  const openedAsync = await phase('async', false);
  const manifest = JSON.parse(readFileSync(join(indexDir, 'manifest.json'), 'utf8')) as { shards: { byteLength: number; nItems: number }[] };
  const fileBytes = readdirSync(indexDir).reduce((s, name) => s + statSync(join(indexDir, name)).size, 0);
  const result = {
    date: new Date().toISOString(), node: process.version, cores, loadavg: loadavg(), nItems, dim, nTrees, noise: NOISE, nQueries,
    groundTruthSeconds: gt.seconds, build, shards: manifest.shards.map((s) => ({ nItems: s.nItems, byteLength: s.byteLength })), fileBytes, ...measured,
    openAsync: { seconds: openedAsync.openSeconds, rssOpenGiB: openedAsync.rssOpenGiB },
  };
  console.log(`
${nItems} × ${dim}, ${nTrees} trees: ${manifest.shards.length} shards, ${(fileBytes / GiB).toFixed(2)} GiB of files (${manifest.shards.map((s) => (s.byteLength / GiB).toFixed(2)).join(' + ')} GiB)
build on 2 threads: ${f0(build.seconds)} s (of which generating the vectors ${f0(build.generateSeconds)} s; shards ${build.shardSeconds.map(f0).join(' + ')} s); peak RSS ${f2(build.maxRssGiB)} GiB
open: ${f2(measured.openSeconds)} s (openAsync on ${cores} threads: ${f2(openedAsync.openSeconds)} s); RSS ${f2(measured.rssBeforeGiB)} → ${f2(measured.rssOpenGiB)} GiB (files ${(fileBytes / GiB).toFixed(2)} GiB); after queries ${f2(measured.rssAfterGiB)} GiB
exact ground truth of ${nQueries} queries: ${f0(gt.seconds)} s

| searchK per shard | recall@10 | QPS, 1 thread | QPS, worker pools |
| ---: | ---: | ---: | ---: |
${measured.rows.map((r) => `| ${r.searchK} | ${f3(r.recall)} | ${f0(r.qps)} | ${f0(r.poolQps)} |`).join('\n')}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/shards-big.json', JSON.stringify(result, null, 2) + '\n');
}

interface QueryPhase {
  openSeconds: number;
  rssBeforeGiB: number;
  rssOpenGiB: number;
  rssAfterGiB: number;
  rows: { searchK: number; recall: number; qps: number; poolQps: number }[];
}

async function bigQueryPhase(): Promise<void> {
  const cache = values.dir!;
  const nQueries = Number(values['big-queries']);
  const searchKs = values['search-k']!.split(',').filter((k) => k !== '').map(Number);
  const ds = await loadBenchDataset('glove-100-angular', { quiet: true });
  const queries = ds.queries.slice(0, nQueries * ds.dim);
  const gt = JSON.parse(readFileSync(join(cache, `gt-q${nQueries}.json`), 'utf8')) as { ids: number[][] };
  const truth = Int32Array.from(gt.ids.flat());
  (ds as { base?: Float32Array }).base = undefined; // only the queries are needed here
  const rssBeforeGiB = rssGiB();
  let t = performance.now();
  const index = values.open === 'async' ? await ShardedIndex.openAsync(join(cache, 'index')) : ShardedIndex.open(join(cache, 'index'));
  const openSeconds = seconds(t);
  const rssOpenGiB = rssGiB();
  const rows: QueryPhase['rows'] = [];
  for (const searchK of searchKs) {
    index.getNnsByVectors(queries.subarray(0, 10 * ds.dim), 10, searchK); // warm-up
    t = performance.now();
    const results = index.getNnsByVectors(queries, 10, searchK);
    const qps = nQueries / seconds(t);
    await index.getNnsByVectorsAsync(queries.subarray(0, 10 * ds.dim), 10, searchK); // pools start
    t = performance.now();
    const pooled = await index.getNnsByVectorsAsync(queries, 10, searchK);
    const poolQps = nQueries / seconds(t);
    if (JSON.stringify(pooled) !== JSON.stringify(results)) throw new Error('the worker pools answered differently from the calling thread');
    rows.push({ searchK, recall: recallAt10(results, truth, 10), qps, poolQps });
    console.log(`searchK ${searchK}: recall@10 ${f3(rows.at(-1)!.recall)}, ${f0(qps)} QPS (1 thread), ${f0(poolQps)} QPS (pools)`);
  }
  const rssAfterGiB = rssGiB();
  await index.close();
  process.send!({ openSeconds, rssBeforeGiB, rssOpenGiB, rssAfterGiB, rows } satisfies QueryPhase);
}

if (values.part === 'big-query') await bigQueryPhase();
else {
  if (values.part === 'all' || values.part === 'glove') await glovePart();
  if (values.part === 'all' || values.part === 'big') await bigPart();
}
