// The graph parameter lab (issue 15; bench/README.md, "Why this algorithm and these parameters"):
// builds a forest and a graph with the parameters given, then sweeps the beam (ef), printing recall,
// QPS and distances per query. Its recorded runs are in bench/results/graph-lab/.
//   npx tsx bench/graph-lab.ts --ds=glove-100-angular --base=50000 --trees=10 --degree=32 --k=40 --cand=32 --rounds=20 --alpha=1.15
import fs from 'node:fs';
import { prepareDataset } from './lib/data.ts';
import { AnnoyIndex } from '../packages/annoy-ts/src/index.ts';
import { buildGraph, type BuildStats, type Graph, type GraphBuildParams } from '../packages/annoy-ts/src/graph/build.ts';
import { allocateGraphWorkspace, GraphSearcher, placeGraph } from '../packages/annoy-ts/src/graph/search.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? '1']; }));
const name = (args.ds ?? 'glove-100-angular') as 'glove-100-angular';
const base = args.base ? Number(args.base) : undefined;
const nQ = Number(args.q ?? 1000);
const ds = await prepareDataset(name, { nQueries: nQ, k: 10, baseLimit: base, workDir: '/tmp/g15/work' });
const { dim, nBase } = ds;
const nTrees = Number(args.trees ?? 10);
const params: GraphBuildParams = {
  degree: Number(args.degree ?? 32), neighbours: Number(args.k ?? 32), candidates: Number(args.cand ?? 16),
  rounds: Number(args.rounds ?? 10), delta: Number(args.delta ?? 0.001), alpha: Number(args.alpha ?? 1), leafSize: Number(args.leaf ?? 48), seed: 1, minDegree: Number(args.mindeg ?? 0),
};
const key = `${name}-${nBase}-t${nTrees}-${Object.values(params).join('_')}`;
fs.mkdirSync('/tmp/g15/cache', { recursive: true });
const annFile = `/tmp/g15/cache/${key}.ann`, gFile = `/tmp/g15/cache/${key}.g`;
let idx: AnnoyIndex;
let graph: Graph;
if (fs.existsSync(gFile) && !args.rebuild) {
  idx = AnnoyIndex.fromBuffer(fs.readFileSync(annFile), dim, ds.metric as 'angular');
  const g = fs.readFileSync(gFile);
  const u = new Uint32Array(g.buffer, g.byteOffset, g.byteLength / 4);
  graph = { nItems: nBase, offsets: u.slice(0, nBase + 1), neighbours: new Int32Array(u.slice(nBase + 1).buffer) };
  console.log(`cached ${key}`);
} else {
  idx = new AnnoyIndex(dim, ds.metric as 'angular');
  idx.setSeed(42);
  for (let i = 0; i < nBase; i++) idx.addItem(i, ds.base.subarray(i * dim, (i + 1) * dim));
  let t = performance.now();
  idx.build(nTrees, 1);
  const forestS = (performance.now() - t) / 1000;
  const x = idx as any;
  const store = x.memory.store, policy = x.policy;
  const stats = {} as BuildStats;
  t = performance.now();
  const c0 = process.cpuUsage();
  graph = buildGraph(policy, store, x.roots, nBase, params, stats);
  const graphS = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(c0);
  console.log(`graph build cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
  console.log(JSON.stringify({ key, forestS: +forestS.toFixed(2), graphS: +graphS.toFixed(2), stats }));
  fs.writeFileSync(annFile, idx.toBuffer());
  fs.writeFileSync(gFile, Buffer.concat([Buffer.from(graph.offsets.buffer), Buffer.from(graph.neighbours.buffer, graph.neighbours.byteOffset, graph.neighbours.byteLength)]));
}
const x = idx as any;
const memory = x.memory, policy = x.policy, roots = x.roots as number[];
const store = memory.store;
const edges = graph.offsets[nBase];
let maxDeg = 0; for (let i = 0; i < nBase; i++) maxDeg = Math.max(maxDeg, graph.offsets[i + 1] - graph.offsets[i]);
console.log(`avg degree ${(edges / nBase).toFixed(2)}, max ${maxDeg}`);
const placed = placeGraph(policy, store, graph, true);
const searcher = new GraphSearcher(store, policy, roots, nBase, placed, memory.query, allocateGraphWorkspace(store.arena, nBase, placed), store.arena.alloc(4 * roots.length));
const queries = ds.queries;
const entryTrees = Number(args.entry ?? 1), seeds = Number(args.seeds ?? 16);
const efs = (args.efs ?? '10,16,24,32,48,64,96,128,192,256').split(',').map(Number);
const modes = (args.modes ?? 'f').split(',');
import { createRequire } from 'node:module';
const hnswM = args.hnsw ? Number(args.hnsw) : 0;
let hnsw: any = null;
const qArrays = Array.from({ length: nQ }, (_, q) => Array.from(queries.subarray(q * dim, (q + 1) * dim)));
if (hnswM) {
  const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node');
  hnsw = new HierarchicalNSW(ds.metric === 'angular' ? 'cosine' : 'l2', dim);
  const hf = `/tmp/g15/cache/hnsw-${name}-${nBase}-M${hnswM}.bin`;
  if (fs.existsSync(hf)) hnsw.readIndexSync(hf);
  else {
    hnsw.initIndex(nBase, hnswM, 200, 42);
    const t = performance.now();
    for (let i = 0; i < nBase; i++) hnsw.addPoint(Array.from(ds.base.subarray(i * dim, (i + 1) * dim)), i);
    console.log(`hnswlib M=${hnswM} build ${((performance.now() - t) / 1000).toFixed(1)} s`);
    hnsw.writeIndexSync(hf);
  }
}
const hnswEfs = (args.hefs ?? '10,16,24,32,48,64,96,128,192,256,384').split(',').map(Number);
const best = new Map<string, { qps: number; recall: number; evals: number }>();
for (let round = 0; round < Number(args.rounds2 ?? 3); round++) {
  for (const ef of efs) for (const mode of modes) {
    let hits = 0, evals = 0;
    const c0 = process.cpuUsage();
    for (let q = 0; q < nQ; q++) {
      policy.writeItem(searcher.query, 0, queries.subarray(q * dim, (q + 1) * dim));
      const r = searcher.search(10, { ef, budget: Infinity, entryTrees, seedsPerLeaf: seeds, touch: mode !== 'n', quantized: mode === 'q' }, false);
      evals += searcher.evaluated;
      const gt = ds.gtIds.subarray(q * ds.gtK, q * ds.gtK + 10);
      for (const id of r.ids) if (gt.includes(id)) hits++;
    }
    const cu = process.cpuUsage(c0);
    const s = (cu.user + cu.system) / 1e6;
    const k = `${ef}/${mode}`;
    const prev = best.get(k);
    if (!prev || nQ / s > prev.qps) best.set(k, { qps: nQ / s, recall: hits / (10 * nQ), evals: evals / nQ });
  }
  if (hnsw) for (const ef of hnswEfs) {
    hnsw.setEf(ef);
    let hits = 0;
    const c0 = process.cpuUsage();
    for (let q = 0; q < nQ; q++) {
      const r = hnsw.searchKnn(qArrays[q], 10);
      const gt = ds.gtIds.subarray(q * ds.gtK, q * ds.gtK + 10);
      for (const id of r.neighbors) if (gt.includes(id)) hits++;
    }
    const cu = process.cpuUsage(c0);
    const s = (cu.user + cu.system) / 1e6;
    const k = `hnsw${ef}`;
    const prev = best.get(k);
    if (!prev || nQ / s > prev.qps) best.set(k, { qps: nQ / s, recall: hits / (10 * nQ), evals: 0 });
  }
}
for (const [k, v] of best) console.log(`ef/mode ${k}\trecall ${v.recall.toFixed(4)}\tQPS ${v.qps.toFixed(0)}\tevals ${v.evals.toFixed(0)}\tus/eval ${(1e6 / v.qps / v.evals).toFixed(3)}`);

// QPS at recall targets (log-linear interpolation on each series' frontier).
function at(series: { recall: number; qps: number }[], target: number): number | null {
  const pts = series.slice().sort((a, b) => a.recall - b.recall);
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i], b = pts[i + 1];
    if (a.recall <= target && b.recall >= target) {
      const t = (target - a.recall) / (b.recall - a.recall || 1);
      return Math.exp(Math.log(a.qps) + t * (Math.log(b.qps) - Math.log(a.qps)));
    }
  }
  return null;
}
const groups = new Map<string, { recall: number; qps: number; evals: number }[]>();
for (const [k, v] of best) {
  const g = k.startsWith('hnsw') ? 'hnsw' : k.split('/')[1];
  if (!groups.has(g)) groups.set(g, []);
  groups.get(g)!.push(v);
}
for (const target of [0.8, 0.9, 0.95, 0.99]) {
  const row = [...groups].map(([g, pts]) => `${g} ${at(pts, target)?.toFixed(0) ?? '-'}`);
  const h = groups.has('hnsw') ? at(groups.get('hnsw')!, target) : null;
  const ratios = h ? [...groups].filter(([g]) => g !== 'hnsw').map(([g, pts]) => { const v = at(pts, target); return `${g}÷hnsw ${v ? (v / h).toFixed(2) : '-'}`; }) : [];
  const ev = [...groups].filter(([g]) => g !== 'hnsw').map(([g, pts]) => `${g} evals ${at(pts.map((p) => ({ recall: p.recall, qps: p.evals })), target)?.toFixed(0) ?? '-'}`);
  console.log(`@${target}: ${row.join('  ')}  ${ratios.join('  ')}  ${ev.join('  ')}`);
}
