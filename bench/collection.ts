// Collections (issue 17) on GloVe-100 (331,479 × 100, angular): durable upsert throughput (batches
// of 1 and of 1,000); query QPS and recall@10 with 0 %, 10 % and 30 % of the items added after the
// last full compaction and 5 % deleted, against a fresh annoy-ts build of the same live items;
// compaction time and query latency (p50/p99/max) while it runs; reopen time; hnswlib-node
// (addPoint, markDelete) on the same operations. Measures the compiled packages (dist/).
// The machine is shared and noisy: collection and fresh build take turns every 50 queries (so both
// meet the same load), the comparison is also made at matched recall (the collection's QPS where
// its recall is the fresh build's − 0.01), and the load average is recorded.
// --graph: the same scenarios with collections made with { graph: true } (every segment with its
// neighbour graph) and the fresh reference build with its graph too (default searchK list then
// starts lower: a graph's beam is searchK / 16).
//   npm run bench:collection [-- --queries 1000 --trees 20 --rounds 2 --quick --skip hnswlib --graph]
// Writes bench/results/collection.json (--quick: collection-quick.json; --graph: collection-graph.json,
// collection-graph-quick.json) and prints the tables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnnoyIndex } from 'annoy-ts';
import { Collection } from '@annoy-ts/collection';
import { loadBenchDataset } from '../datasets/bench.ts';
import { Rng } from '../packages/cli/src/cli/prng.ts';
import { RESULTS_DIR } from './lib/paths.ts';
import { hierarchicalNSW } from './lib/hnswlib.ts';

const { values } = parseArgs({ options: {
  queries: { type: 'string', default: '1000' }, trees: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' },
  'search-k': { type: 'string' }, ef: { type: 'string', default: '20,40,80,160' },
  quick: { type: 'boolean', default: false }, skip: { type: 'string', default: '' }, graph: { type: 'boolean', default: false },
} });
const quick = values.quick;
const withGraph = values.graph;
/** What every collection here is created with (reopened collections keep it: it is stored). */
const graphOption = withGraph ? { graph: true } : {};
const trees = Number(values.trees);
const rounds = Math.max(1, Number(values.rounds));
const searchKs = (values['search-k'] ?? (withGraph ? '200,500,1000,2000,5000,10000,20000' : '1000,2000,5000,10000,20000,40000')).split(',').map(Number);
const efs = values.ef.split(',').map(Number);
const skip = new Set(values.skip.split(',').filter(Boolean));
const K = 10;
const DELETED = 0.05;
const ADDED = [0, 0.1, 0.3];

const ds = await loadBenchDataset('glove-100-angular', { nQueries: Number(values.queries), quiet: true });
const dim = ds.dim;
const N = quick ? 50_000 : ds.nBase;
const nQueries = ds.nQueries;
const queries = Array.from({ length: nQueries }, (_, q) => ds.queries.subarray(q * dim, (q + 1) * dim));
const gtK = ds.groundTruth.length / nQueries;
const row = (i: number) => ds.base.subarray(i * dim, (i + 1) * dim);
const work = mkdtempSync(join(tmpdir(), 'annoy-ts-collection-bench-')); // a real disk: fsync is part of what is measured
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const log = (m: string) => void process.stderr.write(`${m}\n`);
const seconds = (t: number) => (performance.now() - t) / 1000;
const load = () => loadavg().map((x) => Number(x.toFixed(1)));
log(`glove-100-angular: ${N} × ${dim}${quick ? ' (quick: the first 50,000 rows)' : ''}; ${nQueries} queries; ${trees} trees${withGraph ? ' + neighbour graphs' : ''}; ${availableParallelism()} cores; load ${load().join(' ')}`);

// Ground truth of the live items: the cached exact top-100 of the whole base, minus the deleted
// and (quick) the rows past N; every query must keep 10 (with 5 % deleted, it always does).
const quickTruth = quick ? exactTruth() : null;
function liveTruth(live: Uint8Array): number[][] {
  return queries.map((_, q) => {
    const all = quickTruth ? quickTruth[q]! : Array.from(ds.groundTruth.subarray(q * gtK, (q + 1) * gtK));
    const kept = all.filter((i) => i < N && live[i]).slice(0, K);
    if (kept.length < K) throw new Error(`query ${q}: fewer than ${K} live items among its ${gtK} true neighbours`);
    return kept;
  });
}
function exactTruth(): number[][] {
  return queries.map((q) => {
    const d = new Float64Array(N);
    let qq = 0;
    for (let t = 0; t < dim; t++) qq += q[t]! * q[t]!;
    for (let i = 0; i < N; i++) {
      let pq = 0, pp = 0;
      const v = row(i);
      for (let t = 0; t < dim; t++) { pq += q[t]! * v[t]!; pp += v[t]! * v[t]!; }
      d[i] = -pq / Math.sqrt(pp * qq || 1);
    }
    return Array.from(d.keys()).sort((a, b) => d[a]! - d[b]!).slice(0, 100);
  });
}
const recallOf = (results: number[][], truth: number[][]) => {
  let hit = 0;
  results.forEach((r, q) => { const t = new Set(truth[q]); for (const id of r) if (t.has(id)) hit++; });
  return hit / (truth.length * K);
};

const rng = new Rng(42);
const order = Uint32Array.from({ length: N }, (_, i) => i);
for (let i = N - 1; i > 0; i--) { const j = Math.floor(rng.nextFloat() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
const deleted = order.slice(0, Math.round(DELETED * N)).slice(); // the same 5 % in every scenario
// Keys are the base rows' numbers; the order of insertion is a random permutation.
const items = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => ({ key: order[from + j]!, vector: row(order[from + j]!) }));
let dirs = 0;
const newDir = () => join(work, `c${dirs++}`);
const results: Record<string, unknown> = {
  dataset: 'glove-100-angular', n: N, dim, queries: nQueries, trees, graph: withGraph, k: K, deleted: DELETED, cores: availableParallelism(),
  node: process.version, startedAt: new Date().toISOString(), loadAverageAtStart: load(),
};

// ---------------------------------------------------------------- upserts
async function upsertRate(c: Collection, from: number, to: number, batch: number): Promise<number> {
  const t = performance.now();
  for (let i = from; i < to; i += batch) await c.upsert(items(i, Math.min(to, i + batch)));
  return (to - from) / seconds(t);
}
const upserts: Record<string, number> = {};
{
  const single = quick ? 500 : 2000;
  const c1 = await Collection.open(newDir(), { f: dim, metric: 'angular', trees, autoCompact: false, ...graphOption });
  upserts['batch 1 (durable, no background builds)'] = await upsertRate(c1, 0, single, 1);
  await c1.close();
  const c2 = await Collection.open(newDir(), { f: dim, metric: 'angular', trees, ...graphOption });
  const upTo = Math.min(N, 100_000);
  upserts[`batch 1000 (durable, background builds on: ${upTo.toLocaleString('en-US')} items into an empty collection)`] = await upsertRate(c2, 0, upTo, 1000);
  log(`background builds meanwhile: ${JSON.stringify(c2.info())}`);
  await c2.close();
  log(`upserts: ${JSON.stringify(upserts)}`);
}

// ---------------------------------------------------------------- scenarios
interface Point { searchK: number; recall: number; qps: number }
interface Matched { searchK: number; freshRecall: number; freshQps: number; collectionQps: number | null; ratio: number | null }
interface Scenario {
  added: number; live: number; parts: unknown; fresh: Point[]; collection: Point[]; matched?: Matched[]; hnswlib?: unknown;
  compaction?: unknown; reopenSeconds?: number; upsertBatch1000?: number; compactSeconds?: number; compactGraphSeconds?: number | null;
}
const scenarios: Scenario[] = [];

function measure(run: (q: number) => number[]): { ids: number[][]; qps: number } {
  const ids: number[][] = new Array(nQueries);
  const t = performance.now();
  for (let q = 0; q < nQueries; q++) ids[q] = run(q);
  return { ids, qps: nQueries / seconds(t) };
}

/**
 * Two systems on the same queries, taking turns every BLOCK queries (who goes first alternates),
 * `rounds` times: both meet the same machine load, so their QPS ratio holds even when the load
 * swings. QPS from the summed times of each system.
 */
const BLOCK = 50;
function measurePair(a: (q: number) => number[], b: (q: number) => number[]): { a: { ids: number[][]; qps: number }; b: { ids: number[][]; qps: number } } {
  const ids = [new Array<number[]>(nQueries), new Array<number[]>(nQueries)];
  const time = [0, 0];
  const runs = [a, b];
  for (let r = 0; r < rounds; r++) {
    for (let from = 0, turn = r; from < nQueries; from += BLOCK, turn++) {
      for (const s of turn % 2 === 0 ? [0, 1] : [1, 0]) {
        const t = performance.now();
        for (let q = from; q < Math.min(nQueries, from + BLOCK); q++) ids[s]![q] = runs[s]!(q);
        time[s] += performance.now() - t;
      }
    }
  }
  const qps = (s: number) => (rounds * nQueries) / (time[s]! / 1000);
  return { a: { ids: ids[0]!, qps: qps(0) }, b: { ids: ids[1]!, qps: qps(1) } };
}

/**
 * The collection's QPS at a given recall, read off its recall–QPS curve (log QPS interpolated
 * linearly in recall between measured points); null outside the measured range.
 */
function qpsAtRecall(points: Point[], recall: number): number | null {
  const sorted = [...points].sort((x, y) => x.recall - y.recall);
  for (let j = 0; j < sorted.length; j++) {
    const p = sorted[j]!;
    if (p.recall >= recall) {
      if (j === 0) return p.recall === recall ? p.qps : null;
      const o = sorted[j - 1]!;
      const w = (recall - o.recall) / (p.recall - o.recall || 1);
      return Math.exp(Math.log(o.qps) + w * (Math.log(p.qps) - Math.log(o.qps)));
    }
  }
  return null;
}

for (const added of ADDED) {
  const split = Math.round((1 - added) * N);
  log(`\n== ${Math.round(added * 100)} % added after the last compaction, ${DELETED * 100} % deleted`);
  const dir = newDir();
  let c = await Collection.open(dir, { f: dim, metric: 'angular', trees, autoCompact: false, ...graphOption });
  const rate = await upsertRate(c, 0, split, 1000);
  if (added === 0) upserts['batch 1000 (durable, no background builds)'] = rate;
  let t = performance.now();
  await c.compact();
  const compactSeconds = seconds(t);
  const graphSeconds = c.info().lastBuild?.graphSeconds ?? null;
  log(`base of ${split} items: upserts ${rate.toFixed(0)}/s, compaction ${compactSeconds.toFixed(1)} s${graphSeconds === null ? '' : ` (graph ${graphSeconds.toFixed(1)} s)`}`);
  await c.close();
  // From here on, the default policy except full compactions: delta builds as the memtable fills.
  c = await Collection.open(dir, { autoCompact: { deltaFraction: 100, deletedFraction: 100 } });
  for (let i = split; i < N; i += 1000) await c.upsert(items(i, Math.min(N, i + 1000)));
  for (let i = 0; i < deleted.length; i += 1000) await c.delete(Array.from(deleted.subarray(i, i + 1000)));
  while (c.info().building !== null) await new Promise((r) => setTimeout(r, 100));
  const parts = c.info();
  log(`parts: ${JSON.stringify(parts)}`);

  const live = new Uint8Array(N).fill(1);
  for (const i of deleted) live[i] = 0;
  const truth = liveTruth(live);
  const fresh = new AnnoyIndex(dim, 'angular');
  const freshKeys: number[] = [];
  for (let i = 0; i < N; i++) if (live[i]) { fresh.addItem(freshKeys.length, row(i)); freshKeys.push(i); }
  fresh.setSeed(42);
  t = performance.now();
  fresh.build(trees);
  if (withGraph) fresh.buildGraph();
  log(`fresh build of ${freshKeys.length} items${withGraph ? ' (with its graph)' : ''}: ${seconds(t).toFixed(1)} s`);

  const scenario: Scenario = { added, live: freshKeys.length, parts, fresh: [], collection: [], compactSeconds, compactGraphSeconds: graphSeconds };
  for (const searchK of searchKs) {
    const { a, b } = measurePair(
      (q) => fresh.getNnsByVector(queries[q]!, K, searchK).map((p) => freshKeys[p]!),
      (q) => c.query(queries[q]!, K, { searchK }).map((x) => x.key as number),
    );
    const f = { searchK, qps: a.qps, recall: recallOf(a.ids, truth) };
    const col = { searchK, qps: b.qps, recall: recallOf(b.ids, truth) };
    scenario.fresh.push(f);
    scenario.collection.push(col);
    log(`searchK ${searchK}: fresh ${f.recall.toFixed(4)} @ ${f.qps.toFixed(0)} QPS | collection ${col.recall.toFixed(4)} @ ${col.qps.toFixed(0)} QPS` +
      ` (Δrecall ${(col.recall - f.recall).toFixed(4)}, QPS ×${(col.qps / f.qps).toFixed(2)}; load ${load()[0]})`);
  }
  // At matched recall: the collection's QPS where its recall is the fresh build's minus 0.01.
  scenario.matched = scenario.fresh.map((f) => {
    const qps = qpsAtRecall(scenario.collection, f.recall - 0.01);
    return { searchK: f.searchK, freshRecall: f.recall, freshQps: f.qps, collectionQps: qps, ratio: qps === null ? null : qps / f.qps };
  });
  fresh.unload();

  if (added === 0.1) {
    // Compaction while queries run: one query per turn of the event loop, timed one by one.
    const searchK = searchKs[Math.floor(searchKs.length / 2)]!;
    const latencies = (list: number[]) => {
      const s = [...list].sort((x, y) => x - y);
      const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
      return { queries: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
    };
    const idle: number[] = [];
    for (let q = 0; q < Math.min(nQueries, 2000); q++) {
      const t0 = performance.now();
      c.query(queries[q % nQueries]!, K, { searchK });
      idle.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r));
    }
    const during: number[] = [];
    let done = false, maxGap = 0, last = performance.now();
    t = performance.now();
    const compaction = c.compact().then(() => (done = true));
    for (let q = 0; !done; q++) {
      const t0 = performance.now();
      maxGap = Math.max(maxGap, t0 - last);
      c.query(queries[q % nQueries]!, K, { searchK });
      last = performance.now();
      during.push(last - t0);
      await new Promise((r) => setImmediate(r));
    }
    await compaction;
    const compactionSeconds = seconds(t);
    const report = c.info().lastBuild;
    scenario.compaction = {
      searchK, seconds: compactionSeconds, items: c.size, buildThreads: Math.max(1, availableParallelism() - 1), idleMs: latencies(idle), duringMs: latencies(during), maxGapMs: maxGap,
      queryThreadPausesMs: { snapshot: report?.snapshotMs, switch: report?.switchMs }, graphSeconds: report?.graphSeconds ?? null,
    };
    log(`compaction of ${c.size} items while querying: ${compactionSeconds.toFixed(1)} s; latency ms idle ${JSON.stringify(latencies(idle))}, during ${JSON.stringify(latencies(during))}, longest gap between queries ${maxGap.toFixed(1)} ms; query-thread pauses: snapshot ${report?.snapshotMs.toFixed(1)} ms, switch ${report?.switchMs.toFixed(1)} ms`);
    await c.close();
    t = performance.now();
    c = await Collection.open(dir);
    scenario.reopenSeconds = seconds(t);
    log(`reopen: ${scenario.reopenSeconds.toFixed(2)} s (${c.size} items)`);
    if (!skip.has('hnswlib')) scenario.hnswlib = hnswlib(split, live, truth);
  }
  await c.close();
  scenarios.push(scenario);
}

// ---------------------------------------------------------------- hnswlib-node
function hnswlib(split: number, live: Uint8Array, truth: number[][]) {
  const Hnsw = hierarchicalNSW();
  const index = new Hnsw('cosine', dim);
  index.initIndex(N, 16, 200, 42);
  let t = performance.now();
  for (let i = 0; i < split; i++) index.addPoint(Array.from(row(order[i]!)), order[i]!);
  const buildSeconds = seconds(t);
  t = performance.now();
  for (let i = split; i < N; i++) index.addPoint(Array.from(row(order[i]!)), order[i]!);
  const addRate = (N - split) / seconds(t);
  t = performance.now();
  for (const i of deleted) index.markDelete(i);
  const deleteRate = deleted.length / seconds(t);
  t = performance.now();
  index.writeIndexSync(join(work, 'hnsw.bin'));
  const saveSeconds = seconds(t);
  const points = efs.map((ef) => {
    index.setEf(ef);
    let best = { qps: 0, recall: 0 };
    for (let r = 0; r < rounds; r++) {
      const m = measure((q) => index.searchKnn(Array.from(queries[q]!), K).neighbors);
      if (m.qps > best.qps) best = { qps: m.qps, recall: recallOf(m.ids, truth) };
    }
    log(`hnswlib ef ${ef}: ${best.recall.toFixed(4)} @ ${best.qps.toFixed(0)} QPS`);
    return { ef, ...best };
  });
  void live;
  log(`hnswlib: build of ${split} in ${buildSeconds.toFixed(1)} s, addPoint ${addRate.toFixed(0)}/s, markDelete ${deleteRate.toFixed(0)}/s, writeIndex (its only persistence) ${saveSeconds.toFixed(2)} s`);
  return { M: 16, efConstruction: 200, buildSeconds, addPointPerSecond: addRate, markDeletePerSecond: deleteRate, writeIndexSeconds: saveSeconds, points };
}

// ---------------------------------------------------------------- report
results.upsertsPerSecond = upserts;
results.scenarios = scenarios;
results.loadAverageAtEnd = load();
const target = scenarios.find((s) => s.added === 0.1)!;
results.targets = {
  'recall@10 within 0.01 of a fresh build at ≥ 0.8× its QPS (10 % added, 5 % deleted): the collection\'s QPS at the fresh build\'s recall − 0.01, per fresh searchK':
    target.matched!.map((m) => ({ ...m, met: m.ratio === null ? null : m.ratio >= 0.8 })),
  'upserts ≥ 20,000/s in batches of 1,000, durable': upserts['batch 1000 (durable, no background builds)']! >= 20_000,
};
writeFileSync(join(RESULTS_DIR, `collection${withGraph ? '-graph' : ''}${quick ? '-quick' : ''}.json`), JSON.stringify(results, null, 2) + '\n');

const lines: string[] = [];
lines.push(`\nCollections on glove-100-angular (${N.toLocaleString('en-US')} × ${dim}), ${trees} trees${withGraph ? ' + neighbour graphs (fresh build too)' : ''}, k = ${K}, ${nQueries} queries, best of ${rounds} interleaved rounds`);
lines.push('\n| upserts | items/s |\n| --- | ---: |');
for (const [k, v] of Object.entries(upserts)) lines.push(`| ${k} | ${v.toFixed(0)} |`);
lines.push('\n| added since compaction | live | searchK | fresh build recall / QPS | collection recall / QPS | Δ recall | QPS ratio |\n| ---: | ---: | ---: | --- | --- | ---: | ---: |');
for (const s of scenarios) {
  s.collection.forEach((p, j) => {
    const f = s.fresh[j]!;
    lines.push(`| ${Math.round(s.added * 100)} % | ${s.live} | ${p.searchK} | ${f.recall.toFixed(3)} / ${f.qps.toFixed(0)} | ${p.recall.toFixed(3)} / ${p.qps.toFixed(0)} | ${(p.recall - f.recall).toFixed(3)} | ${(p.qps / f.qps).toFixed(2)} |`);
  });
}
lines.push('\nAt matched recall (the collection\'s QPS where its recall is the fresh build\'s − 0.01, interpolated):\n| added | fresh searchK | fresh recall / QPS | collection QPS | ratio |\n| ---: | ---: | --- | ---: | ---: |');
for (const s of scenarios) for (const m of s.matched ?? []) {
  lines.push(`| ${Math.round(s.added * 100)} % | ${m.searchK} | ${m.freshRecall.toFixed(3)} / ${m.freshQps.toFixed(0)} | ${m.collectionQps?.toFixed(0) ?? 'n/a'} | ${m.ratio?.toFixed(2) ?? 'n/a'} |`);
}
if (target.compaction) lines.push(`\nCompaction (10 % scenario): ${JSON.stringify(target.compaction)}\nReopen: ${target.reopenSeconds?.toFixed(2)} s`);
if (target.hnswlib) lines.push(`hnswlib-node (same operations): ${JSON.stringify(target.hnswlib)}`);
console.log(lines.join('\n'));
