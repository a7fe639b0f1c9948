/**
 * npm run bench:graph [-- --quick] — annoy-ts with its neighbour graph (issue 15) against the graph
 * indexes a JavaScript developer would pick instead: hnswlib-node (M 16 and M 32, efConstruction
 * 200) and usearch; annoy-ts's own forest for reference. One run, same machine, k = 10, one query
 * at a time on one thread.
 *
 * Every library builds in its own child process (build time, index bytes, build peak RSS), then
 * serves from another (load, then one command per setting; peak RSS of the serving process). The
 * sweep is interleaved: setting i of every library (in rotating order) before setting i + 1, and
 * the whole sweep repeated `rounds` times; a point's QPS is its best pass over all queries (wall
 * clock, and from process CPU time). Recall@10 counts ties (bench/lib/recall.ts).
 *
 * Writes bench/results/graph.json (quick: graph-quick.json) and graph.md, and prints the tables.
 *
 *   --quick            GloVe: the first 50,000 base rows; Fashion-MNIST: the first 20,000; 500 queries; 2 rounds
 *   --datasets a,b     glove-100-angular, fashion-mnist-784-euclidean (default both)
 *   --rounds N         sweep repetitions (default 3; quick 2)
 *   --queries N        queries per point (default 1,000)
 *   --graph-trees T    trees of the index the graph is built on (default 2: .ann + .graph within hnswlib's bytes)
 *   --forest-trees T   trees of the forest-only reference (default 10)
 *   --graph JSON       graph options for buildGraph (default: the library's defaults)
 *   --skip LIBS        leave out some of: float (the graph without int8 codes), forest, hnsw16, hnsw32, usearch
 *   --out NAME         results under bench/results/NAME.json/.md
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchDatasetName } from '../datasets/bench.ts';
import { prepareDataset, type PreparedDataset } from './lib/data.ts';
import { readFbin } from './lib/fbin.ts';
import { paretoFrontier, qpsAtRecall, type QpsAtRecall, type TradeoffPoint } from './lib/frontier.ts';
import { loadAverage, machineFacts } from './lib/machine.ts';
import { CACHE_DIR, REPO_ROOT, RESULTS_DIR } from './lib/paths.ts';
import { computeRecall, distanceOver } from './lib/recall.ts';
import { hierarchicalNSW } from './lib/hnswlib.ts';

const SELF = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const K = 10;
const TARGETS = [0.9, 0.95, 0.99] as const;

// ---------------------------------------------------------------- child processes

type Library = 'annoy-ts' | 'hnswlib' | 'usearch';

interface BuildRequest {
  library: Library;
  baseFile: string;
  metric: 'angular' | 'euclidean';
  out: string;
  /** annoy-ts */
  nTrees?: number;
  graph?: Record<string, unknown> | null;
  jobs?: number;
  /** hnswlib: M; usearch: connectivity. */
  m?: number;
  efConstruction?: number;
  threads?: number;
}

interface BuildResult {
  seconds: number;
  cpuSeconds: number;
  /** annoy-ts: the forest and the graph apart. */
  forestSeconds?: number;
  graphSeconds?: number;
  graphCpuSeconds?: number;
  bytes: number;
  graphBytes?: number;
  peakRss: number;
}

interface ServeRequest {
  library: Library;
  file: string;
  queriesFile: string;
  metric: 'angular' | 'euclidean';
  dim: number;
  /** annoy-ts: attach the .graph. */
  graph?: boolean;
  m?: number;
}

interface Pass {
  wall: number;
  cpu: number;
}

function peakRss(): number {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS * 1024;
}

function currentRss(): number {
  return process.memoryUsage.rss();
}

const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};

type AnnoyIndexClass = typeof import('../packages/annoy-ts/src/node/index.ts').AnnoyIndex;
async function annoyTs(): Promise<AnnoyIndexClass> {
  return (await import('../packages/annoy-ts/src/node/index.ts')).AnnoyIndex;
}

async function childBuild(req: BuildRequest): Promise<BuildResult> {
  const { data: base, n, d } = readFbin(req.baseFile);
  const row = (i: number) => base.subarray(i * d, (i + 1) * d);
  if (req.library === 'annoy-ts') {
    const AnnoyIndex = await annoyTs();
    const index = new AnnoyIndex(d, req.metric);
    index.setSeed(42);
    for (let i = 0; i < n; i++) index.addItem(i, row(i));
    const cpu0 = process.cpuUsage();
    let t = performance.now();
    index.build(req.nTrees!, req.jobs ?? 1);
    const forestSeconds = (performance.now() - t) / 1000;
    let graphSeconds: number | undefined, graphCpuSeconds: number | undefined;
    if (req.graph) {
      const c = process.cpuUsage();
      t = performance.now();
      // The graph's threads as the trees' (its own default, -1, would take every core).
      index.buildGraph({ ...req.graph, nJobs: req.jobs ?? 1 });
      graphSeconds = (performance.now() - t) / 1000;
      graphCpuSeconds = cpuSeconds(c);
    }
    const cpu = cpuSeconds(cpu0);
    index.save(req.out);
    const graphFile = `${req.out}.graph`;
    return {
      seconds: forestSeconds + (graphSeconds ?? 0), cpuSeconds: cpu, forestSeconds, graphSeconds, graphCpuSeconds,
      bytes: fs.statSync(req.out).size, graphBytes: fs.existsSync(graphFile) ? fs.statSync(graphFile).size : 0, peakRss: peakRss(),
    };
  }
  if (req.library === 'hnswlib') {
    const HierarchicalNSW = hierarchicalNSW();
    const index = new HierarchicalNSW(req.metric === 'angular' ? 'cosine' : 'l2', d);
    index.initIndex(n, req.m!, req.efConstruction!, 42);
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < n; i++) index.addPoint(Array.from(row(i)), i);
    const seconds = (performance.now() - t) / 1000;
    const cpu = cpuSeconds(cpu0);
    index.writeIndexSync(req.out);
    return { seconds, cpuSeconds: cpu, bytes: fs.statSync(req.out).size, peakRss: peakRss() };
  }
  const usearch = require('usearch') as UsearchModule;
  const index = new usearch.Index({
    dimensions: d, metric: req.metric === 'angular' ? 'cos' : 'l2sq', quantization: 'f32', connectivity: req.m!,
    expansion_add: req.efConstruction!, expansion_search: 64,
  });
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  index.add(keys, base.subarray(0, n * d), req.threads ?? 0);
  const seconds = (performance.now() - t) / 1000;
  const cpu = cpuSeconds(cpu0);
  index.save(req.out);
  return { seconds, cpuSeconds: cpu, bytes: fs.statSync(req.out).size, peakRss: peakRss() };
}

interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array };
  save(path: string): void;
  view(path: string): void;
}
interface UsearchModule {
  Index: new (config: Record<string, unknown>) => UsearchIndex;
}

/** The serving child: loads the index, then answers `run` commands on stdin (one JSON line each). */
async function childServe(req: ServeRequest): Promise<void> {
  const { data: qdata, n: nQ, d } = readFbin(req.queriesFile);
  const floatQueries = Array.from({ length: nQ }, (_, q) => qdata.subarray(q * d, (q + 1) * d));
  const rssBefore = currentRss();
  const t0 = performance.now();
  let search: (q: number) => ArrayLike<number>;
  let setParam: (p: number) => void;
  if (req.library === 'annoy-ts') {
    const AnnoyIndex = await annoyTs();
    const index = AnnoyIndex.open(req.file, { graph: req.graph === true });
    if (index.hasGraph() !== (req.graph === true)) throw new Error(`expected ${req.graph ? 'a' : 'no'} graph`);
    let searchK = -1;
    setParam = (p) => void (searchK = p);
    search = (q) => index.getNnsByVector(floatQueries[q], K, searchK);
  } else if (req.library === 'hnswlib') {
    const HierarchicalNSW = hierarchicalNSW();
    const index = new HierarchicalNSW(req.metric === 'angular' ? 'cosine' : 'l2', req.dim);
    index.readIndexSync(req.file);
    const arrays = floatQueries.map((v) => Array.from(v));
    setParam = (p) => index.setEf(p);
    search = (q) => index.searchKnn(arrays[q], K).neighbors;
  } else {
    // usearch takes expansion_search only when an index is made: one per setting, each a view
    // (memory map) of the same file, so settings share one copy of the index in memory.
    const usearch = require('usearch') as UsearchModule;
    let index: UsearchIndex | null = null;
    let current = -1;
    const make = (ef: number) => {
      const ix = new usearch.Index({
        dimensions: req.dim, metric: req.metric === 'angular' ? 'cos' : 'l2sq', quantization: 'f32', connectivity: req.m!, expansion_add: 200, expansion_search: ef,
      });
      ix.view(req.file);
      return ix;
    };
    index = make(64);
    current = 64;
    setParam = (p) => {
      if (p !== current) {
        index = make(p);
        current = p;
      }
    };
    search = (q) => Array.from(index!.search(floatQueries[q], K, 1).keys, Number);
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ ready: true, loadSeconds, rssBefore })}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = JSON.parse(line) as { cmd: string; param?: number; warmup?: number; minSeconds?: number; maxPasses?: number };
    if (cmd.cmd === 'quit') {
      process.stdout.write(`${JSON.stringify({ peakRss: peakRss() })}\n`);
      break;
    }
    if (cmd.cmd === 'warm') {
      setParam(cmd.param!);
      for (let q = 0; q < nQ; q++) search(q);
      process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
      continue;
    }
    setParam(cmd.param!);
    for (let q = 0; q < Math.min(nQ, cmd.warmup ?? 100); q++) search(q);
    const passes: Pass[] = [];
    const ids = new Int32Array(nQ * K).fill(-1);
    let spent = 0;
    while (passes.length < (cmd.maxPasses ?? 5) && (passes.length === 0 || spent < (cmd.minSeconds ?? 1))) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      for (let q = 0; q < nQ; q++) {
        const r = search(q);
        if (passes.length === 0) for (let j = 0; j < Math.min(K, r.length); j++) ids[q * K + j] = r[j];
      }
      const wall = (performance.now() - w0) / 1000;
      passes.push({ wall, cpu: cpuSeconds(c0) });
      spent += wall;
    }
    process.stdout.write(`${JSON.stringify({ passes, ids: Array.from(ids) })}\n`);
  }
  process.exit(0);
}

// ---------------------------------------------------------------- the orchestrator

interface Options {
  quick: boolean;
  datasets: BenchDatasetName[];
  rounds: number;
  queries: number;
  graphTrees: number;
  forestTrees: number;
  graph: Record<string, unknown>;
  skip: Set<string>;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const datasets = (get('datasets') ?? 'glove-100-angular,fashion-mnist-784-euclidean').split(',') as BenchDatasetName[];
  return {
    quick,
    datasets,
    rounds: Number(get('rounds') ?? (quick ? 2 : 3)),
    queries: Number(get('queries') ?? (quick ? 500 : 1000)),
    graphTrees: Number(get('graph-trees') ?? 2),
    forestTrees: Number(get('forest-trees') ?? 10),
    graph: JSON.parse(get('graph') ?? '{}') as Record<string, unknown>,
    skip: new Set((get('skip') ?? '').split(',').filter(Boolean)),
    out: get('out') ?? (quick ? 'graph-quick' : 'graph'),
  };
}

interface SeriesDef {
  id: string;
  label: string;
  library: Library;
  /** The swept parameter's name and values (searchK, ef, expansion_search). */
  param: string;
  values: number[];
  serve: ServeRequest;
  build: BuildResult;
}

interface Point {
  param: number;
  recall: number;
  qps: number;
  qpsCpu: number;
  passes: Pass[];
}

class Child {
  private lines: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private exited: Error | null = null;
  readonly proc: ChildProcess;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = readline.createInterface({ input: this.proc.stdout! });
    rl.on('line', (line) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) w.resolve(line);
      else this.lines.push(line);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = new Error(`a benchmark child (${args[0]}) exited with ${code ?? signal}`);
      const w = this.waiting;
      this.waiting = null;
      w?.reject(this.exited);
    });
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async send<T>(cmd: object): Promise<T> {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return JSON.parse(await this.next()) as T;
  }
}

async function runBuild(req: BuildRequest): Promise<BuildResult> {
  const child = new Child(['build', JSON.stringify(req)]);
  const result = JSON.parse(await child.next()) as BuildResult;
  child.proc.stdin!.end();
  return result;
}

/** A competitor's build, cached by dataset, parameters and library version (their code does not change between runs). */
async function cachedBuild(ds: PreparedDataset, req: Omit<BuildRequest, 'out' | 'baseFile' | 'metric'>, ext: string): Promise<{ file: string; result: BuildResult }> {
  const version = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', req.library === 'hnswlib' ? 'hnswlib-node' : 'usearch', 'package.json'), 'utf8')).version;
  const key = createHash('sha1').update(JSON.stringify({ hash: ds.hash, nBase: ds.nBase, req, version })).digest('hex').slice(0, 16);
  const dir = path.join(CACHE_DIR, 'graph-builds');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${ds.name}-${ds.nBase}-${req.library}-${key}.${ext}`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) return { file, result: JSON.parse(fs.readFileSync(meta, 'utf8')) as BuildResult };
  log(`building ${req.library} (${JSON.stringify(req)}) on ${ds.name}: cached afterwards in ${path.relative(REPO_ROOT, dir)}`);
  const result = await runBuild({ ...req, baseFile: ds.baseFile, metric: ds.metric as 'angular' | 'euclidean', out: file });
  fs.writeFileSync(meta, JSON.stringify(result));
  return { file, result };
}

function log(msg: string): void {
  process.stderr.write(`[bench:graph] ${msg}\n`);
}

const EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048];
/** searchK for the graph: 16 × the beam (ef), and below 160 a budget of distances with the narrowest beam. */
const GRAPH_SEARCH_K = [30, 60, 100, ...EFS.map((e) => 16 * e)];

async function benchDataset(name: BenchDatasetName, opt: Options, work: string) {
  const baseLimit = opt.quick ? (name === 'glove-100-angular' ? 50_000 : 20_000) : undefined;
  const ds = await prepareDataset(name, { nQueries: opt.queries, k: K, baseLimit, workDir: work });
  const metric = ds.metric as 'angular' | 'euclidean';
  log(`${name}: ${ds.nBase} × ${ds.dim}, ${ds.nQueries} queries`);
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });

  // Builds: annoy-ts every run (its code changes), the others cached.
  const graphFile = path.join(dir, 'graph.ann');
  log(`building annoy-ts: ${opt.graphTrees} trees + graph (one thread)`);
  const graphBuild = await runBuild({ library: 'annoy-ts', baseFile: ds.baseFile, metric, out: graphFile, nTrees: opt.graphTrees, graph: opt.graph, jobs: 1 });
  // The same build on every core, for the speed-up (the graph is the same for every nJobs; only timed).
  const threads = os.availableParallelism();
  log(`building annoy-ts: ${opt.graphTrees} trees + graph (${threads} threads)`);
  const allCoresBuild = await runBuild({ library: 'annoy-ts', baseFile: ds.baseFile, metric, out: path.join(dir, 'graph-all-cores.ann'), nTrees: opt.graphTrees, graph: opt.graph, jobs: threads });
  const series: SeriesDef[] = [];
  const serve = (library: Library, file: string, extra: Partial<ServeRequest> = {}): ServeRequest => ({
    library, file, queriesFile: ds.queriesFile, metric, dim: ds.dim, ...extra,
  });
  series.push({
    id: 'graph', label: `annoy-ts graph (${opt.graphTrees} trees)`, library: 'annoy-ts', param: 'searchK', values: GRAPH_SEARCH_K,
    serve: serve('annoy-ts', graphFile, { graph: true }), build: graphBuild,
  });
  if (!opt.skip.has('float')) {
    const floatFile = path.join(dir, 'graph-float.ann');
    log(`building annoy-ts: ${opt.graphTrees} trees + graph with quantize: false (one thread)`);
    const floatBuild = await runBuild({ library: 'annoy-ts', baseFile: ds.baseFile, metric, out: floatFile, nTrees: opt.graphTrees, graph: { ...opt.graph, quantize: false }, jobs: 1 });
    series.push({
      id: 'graph-float', label: `annoy-ts graph, float walk (quantize: false)`, library: 'annoy-ts', param: 'searchK', values: GRAPH_SEARCH_K,
      serve: serve('annoy-ts', floatFile, { graph: true }), build: floatBuild,
    });
  }
  if (!opt.skip.has('forest')) {
    const forestFile = path.join(dir, 'forest.ann');
    log(`building annoy-ts: ${opt.forestTrees} trees (one thread)`);
    const forestBuild = await runBuild({ library: 'annoy-ts', baseFile: ds.baseFile, metric, out: forestFile, nTrees: opt.forestTrees, graph: null, jobs: 1 });
    series.push({
      id: 'forest', label: `annoy-ts forest (${opt.forestTrees} trees)`, library: 'annoy-ts', param: 'searchK',
      values: [500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000], serve: serve('annoy-ts', forestFile, { graph: false }), build: forestBuild,
    });
  }
  for (const m of [16, 32]) {
    if (opt.skip.has(`hnsw${m}`)) continue;
    const { file, result } = await cachedBuild(ds, { library: 'hnswlib', m, efConstruction: 200 }, 'hnsw');
    series.push({ id: `hnsw${m}`, label: `hnswlib-node M=${m}`, library: 'hnswlib', param: 'ef', values: EFS.slice(0, 14), serve: serve('hnswlib', file), build: result });
  }
  if (!opt.skip.has('usearch')) {
    const { file, result } = await cachedBuild(ds, { library: 'usearch', m: 16, efConstruction: 200, threads: os.availableParallelism() }, 'usearch');
    series.push({ id: 'usearch', label: 'usearch (M=16, f32)', library: 'usearch', param: 'expansion_search', values: EFS.slice(0, 14), serve: serve('usearch', file, { m: 16 }), build: result });
  }

  // Serving processes, all loaded before any timing.
  const children = new Map<string, { child: Child; ready: { loadSeconds: number; rssBefore: number } }>();
  for (const s of series) {
    const child = new Child(['serve', JSON.stringify(s.serve)]);
    const ready = JSON.parse(await child.next()) as { loadSeconds: number; rssBefore: number };
    await child.send({ cmd: 'warm', param: s.values[0] });
    children.set(s.id, { child, ready });
  }

  const distance = distanceOver(metric, ds.base, ds.queries, ds.dim);
  const points = new Map<string, Map<number, Point>>(series.map((s) => [s.id, new Map()]));
  const maxLen = Math.max(...series.map((s) => s.values.length));
  const minSeconds = opt.quick ? 0.3 : 1;
  const maxPasses = opt.quick ? 3 : 5;
  /** Settings past the first one that reached recall 0.995 are not measured (nothing left to learn there). */
  const reached = new Map<string, number>();
  for (let round = 0; round < opt.rounds; round++) {
    for (let pos = 0; pos < maxLen; pos++) {
      const order = series.map((_, i) => series[(i + pos + round) % series.length]);
      for (const s of order) {
        if (pos >= s.values.length) continue;
        const stop = reached.get(s.id);
        if (stop !== undefined && pos > stop) continue;
        const param = s.values[pos];
        const r = await children.get(s.id)!.child.send<{ passes: Pass[]; ids: number[] }>({ cmd: 'run', param, warmup: opt.quick ? 50 : 100, minSeconds, maxPasses });
        const results = Array.from({ length: ds.nQueries }, (_, q) => r.ids.slice(q * K, (q + 1) * K).filter((id) => id >= 0));
        const recall = computeRecall({ results, k: K, gtIds: ds.gtIds, gtDistances: ds.gtDistances, gtK: ds.gtK, distance }).recall;
        const best = Math.min(...r.passes.map((p) => p.wall)), bestCpu = Math.min(...r.passes.map((p) => p.cpu));
        const prev = points.get(s.id)!.get(param);
        const point: Point = {
          param, recall, qps: ds.nQueries / best, qpsCpu: ds.nQueries / bestCpu, passes: [...(prev?.passes ?? []), ...r.passes],
        };
        if (prev) {
          point.qps = Math.max(point.qps, prev.qps);
          point.qpsCpu = Math.max(point.qpsCpu, prev.qpsCpu);
        }
        points.get(s.id)!.set(param, point);
        if (recall >= 0.995 && !reached.has(s.id)) reached.set(s.id, pos);
        if (round === 0) log(`${name} ${s.label} ${s.param}=${param}: recall ${recall.toFixed(4)}, ${point.qps.toFixed(0)} QPS (CPU ${point.qpsCpu.toFixed(0)})`);
      }
    }
    log(`${name}: round ${round + 1} of ${opt.rounds} done (load average ${loadAverage().join(' / ')})`);
  }
  const rss = new Map<string, number>();
  for (const s of series) {
    const { child } = children.get(s.id)!;
    rss.set(s.id, (await child.send<{ peakRss: number }>({ cmd: 'quit' })).peakRss);
  }
  return {
    name, metric, dim: ds.dim, nBase: ds.nBase, nQueries: ds.nQueries,
    allCoresBuild: { threads, ...allCoresBuild },
    series: series.map((s) => ({
      id: s.id, label: s.label, param: s.param, build: s.build,
      loadSeconds: children.get(s.id)!.ready.loadSeconds, rssBeforeLoad: children.get(s.id)!.ready.rssBefore, peakRss: rss.get(s.id)!,
      points: [...points.get(s.id)!.values()].sort((a, b) => a.param - b.param),
    })),
  };
}

type DatasetResult = Awaited<ReturnType<typeof benchDataset>>;

function frontierOf(points: readonly Point[], cpu: boolean): TradeoffPoint[] {
  return paretoFrontier(points.map((p) => ({ recall: p.recall, qps: cpu ? p.qpsCpu : p.qps })));
}

function fmtQps(v: QpsAtRecall | null): string {
  if (!v) return '—';
  const s = v.qps >= 100 ? Math.round(v.qps).toLocaleString('en-US') : v.qps.toPrecision(3);
  return v.kind === 'lower-bound' ? `≥ ${s}` : s;
}

function fmtRatio(a: QpsAtRecall | null, b: QpsAtRecall | null): string {
  if (!a || !b) return '—';
  const r = a.qps / b.qps;
  return `${r.toFixed(2)}×${a.kind !== 'interpolated' || b.kind !== 'interpolated' ? ' ~' : ''}`;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function summarize(d: DatasetResult): { md: string; targets: Record<string, unknown> } {
  const lines: string[] = [];
  const byId = new Map(d.series.map((s) => [s.id, s]));
  const at = (ids: string[], target: number, cpu: boolean) => {
    const pts = ids.flatMap((id) => byId.get(id)?.points ?? []);
    return pts.length ? qpsAtRecall(frontierOf(pts, cpu), target) : null;
  };
  const hnswIds = ['hnsw16', 'hnsw32'].filter((id) => byId.has(id));
  lines.push(`## ${d.name}`, '', `${d.nBase.toLocaleString('en-US')} base vectors × ${d.dim}, ${d.metric}; ${d.nQueries} queries, k = ${K}, one thread.`, '');
  for (const cpu of [false, true]) {
    lines.push(cpu ? '### Queries per second at recall@10 (from process CPU time)' : '### Queries per second at recall@10 (wall clock)', '');
    lines.push('| series | QPS @ 0.90 | QPS @ 0.95 | QPS @ 0.99 | best recall |', '| :-- | --: | --: | --: | --: |');
    for (const s of d.series) {
      lines.push(`| ${s.label} | ${TARGETS.map((t) => fmtQps(at([s.id], t, cpu))).join(' | ')} | ${Math.max(...s.points.map((p) => p.recall)).toFixed(4)} |`);
    }
    if (hnswIds.length) lines.push(`| hnswlib-node, better of M=16/32 | ${TARGETS.map((t) => fmtQps(at(hnswIds, t, cpu))).join(' | ')} | |`);
    lines.push('');
    lines.push('| ratio | @ 0.90 | @ 0.95 | @ 0.99 |', '| :-- | --: | --: | --: |');
    if (hnswIds.length) lines.push(`| annoy-ts graph ÷ hnswlib-node (better of M=16/32) | ${TARGETS.map((t) => fmtRatio(at(['graph'], t, cpu), at(hnswIds, t, cpu))).join(' | ')} |`);
    for (const id of ['hnsw16', 'hnsw32', 'usearch', 'forest']) {
      if (byId.has(id)) lines.push(`| annoy-ts graph ÷ ${byId.get(id)!.label} | ${TARGETS.map((t) => fmtRatio(at(['graph'], t, cpu), at([id], t, cpu))).join(' | ')} |`);
    }
    if (byId.has('graph-float') && hnswIds.length) {
      lines.push(`| annoy-ts graph, float walk ÷ hnswlib-node (better of M=16/32) | ${TARGETS.map((t) => fmtRatio(at(['graph-float'], t, cpu), at(hnswIds, t, cpu))).join(' | ')} |`);
    }
    lines.push('', '"~": one side is a lower bound (every point above the target recall); "—": not reached.', '');
  }
  lines.push('### Build, bytes, memory', '');
  lines.push('| series | build s (CPU s) | index bytes | load s | query peak RSS MB | RSS before load MB |', '| :-- | --: | --: | --: | --: | --: |');
  for (const s of d.series) {
    const b = s.build;
    const bytes = b.bytes + (b.graphBytes ?? 0);
    const build = s.id === 'graph'
      ? `${b.seconds.toFixed(1)} (${b.cpuSeconds.toFixed(1)}): forest ${b.forestSeconds!.toFixed(1)} + graph ${b.graphSeconds!.toFixed(1)}`
      : `${b.seconds.toFixed(1)} (${b.cpuSeconds.toFixed(1)})`;
    const bytesText = s.id === 'graph' ? `${bytes.toLocaleString('en-US')} (.ann ${b.bytes.toLocaleString('en-US')} + .graph ${(b.graphBytes ?? 0).toLocaleString('en-US')})` : bytes.toLocaleString('en-US');
    lines.push(`| ${s.label} | ${build} | ${bytesText} | ${s.loadSeconds.toFixed(2)} | ${mb(s.peakRss)} | ${mb(s.rssBeforeLoad)} |`);
  }
  const graphSeries = d.series.find((s) => s.id === 'graph')!, one = graphSeries.build, all = d.allCoresBuild;
  lines.push('', `usearch builds on all cores (its build is not a target here); the others on one thread. ${graphSeries.label} on ${all.threads} threads: ${all.seconds.toFixed(1)} s (forest ${all.forestSeconds!.toFixed(1)} + graph ${all.graphSeconds!.toFixed(1)}), ${(one.seconds / all.seconds).toFixed(2)}× the one-thread build's speed (graph alone ${(one.graphSeconds! / all.graphSeconds!).toFixed(2)}×).`, '');
  const graph = byId.get('graph')!;
  lines.push('### searchK → recall and QPS (annoy-ts graph)', '', '| searchK | recall@10 | QPS | QPS (CPU) |', '| --: | --: | --: | --: |');
  for (const p of graph.points) lines.push(`| ${p.param.toLocaleString('en-US')} | ${p.recall.toFixed(4)} | ${Math.round(p.qps).toLocaleString('en-US')} | ${Math.round(p.qpsCpu).toLocaleString('en-US')} |`);
  lines.push('');
  const h16 = byId.get('hnsw16');
  const targets = {
    qpsRatioVsHnsw: Object.fromEntries(TARGETS.map((t) => [t, { wall: ratioValue(at(['graph'], t, false), at(hnswIds, t, false)), cpu: ratioValue(at(['graph'], t, true), at(hnswIds, t, true)) }])),
    floatWalkQpsRatioVsHnsw: byId.has('graph-float')
      ? Object.fromEntries(TARGETS.map((t) => [t, { wall: ratioValue(at(['graph-float'], t, false), at(hnswIds, t, false)), cpu: ratioValue(at(['graph-float'], t, true), at(hnswIds, t, true)) }]))
      : null,
    floatWalkPeakRss: byId.get('graph-float')?.peakRss ?? null,
    bestRecall: Math.max(...graph.points.map((p) => p.recall)),
    buildSeconds: { annoyTs: graph.build.seconds, annoyTsAllCores: d.allCoresBuild.seconds, allCoresThreads: d.allCoresBuild.threads, hnsw16: h16?.build.seconds ?? null },
    bytes: { annoyTs: graph.build.bytes + (graph.build.graphBytes ?? 0), hnsw16: h16?.build.bytes ?? null },
    peakRss: { annoyTs: graph.peakRss, hnsw16: h16?.peakRss ?? null },
  };
  return { md: lines.join('\n'), targets };
}

function ratioValue(a: QpsAtRecall | null, b: QpsAtRecall | null): number | null {
  return a && b ? a.qps / b.qps : null;
}

async function main(): Promise<void> {
  const [mode, arg] = process.argv.slice(2);
  if (mode === 'build') {
    process.stdout.write(`${JSON.stringify(await childBuild(JSON.parse(arg!) as BuildRequest))}\n`);
    process.exit(0);
  }
  if (mode === 'serve') return childServe(JSON.parse(arg!) as ServeRequest);

  const opt = parseOptions(process.argv.slice(2));
  const started = new Date();
  const work = path.join(CACHE_DIR, 'graph-work');
  fs.mkdirSync(work, { recursive: true });
  const machine = machineFacts(null);
  log(`load average at the start: ${loadAverage().join(' / ')}`);
  const results: DatasetResult[] = [];
  const summaries: { name: string; md: string; targets: Record<string, unknown> }[] = [];
  for (const name of opt.datasets) {
    const d = await benchDataset(name, opt, work);
    results.push(d);
    summaries.push({ name, ...summarize(d) });
  }
  const header = [
    `# annoy-ts graph search benchmark${opt.quick ? ' (quick)' : ''}`,
    '',
    `**Machine:** ${machine.cpuModel}, ${machine.logicalCpus} logical CPUs. **Node** ${machine.node}. Commit \`${machine.gitCommit?.slice(0, 10)}\` (${machine.gitDirtyFiles ?? '?'} uncommitted files).`,
    `**Run:** ${started.toISOString()}, ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min; load average at the end ${loadAverage().join(' / ')}.`,
    `annoy-ts graph: ${opt.graphTrees} trees + \`buildGraph(${JSON.stringify(opt.graph)})\`; forest reference: ${opt.forestTrees} trees. ${opt.rounds} interleaved rounds; a point's QPS is its best pass (${opt.quick ? '≥ 0.3 s or 3 passes' : '≥ 1 s or 5 passes'}).`,
    '',
  ].join('\n');
  const md = `${header}\n${summaries.map((s) => s.md).join('\n')}\n`;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${opt.out}.json`), `${JSON.stringify({ started, options: { ...opt, skip: [...opt.skip] }, machine, datasets: results, targets: Object.fromEntries(summaries.map((s) => [s.name, s.targets])) }, null, 1)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, `${opt.out}.md`), md);
  process.stdout.write(md);
}

await main();
