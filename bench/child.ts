/**
 * One benchmark child process (started by bench/run.ts; not meant to be run by hand):
 *
 *   node --import tsx bench/child.ts build '<BuildRequest JSON>'
 *     reads the base vectors, adds them, builds (timed), saves, prints one
 *     BuildResult JSON line and exits.
 *   node --import tsx bench/child.ts serve '<ServeRequest JSON>'
 *     loads the saved index into a fresh instance (timed), prints a ServeReady
 *     line, then answers commands on stdin, one JSON line each — the same
 *     protocol as `annoy-bench serve` (bench/native/annoy-bench.cc):
 *       warm PARAM COUNT   untimed searches of the first COUNT queries
 *       run PARAM          WARMUP untimed searches, then timed passes over all
 *                          queries (until minSeconds of timed work or maxPasses)
 *       quit               prints {"peak_rss_bytes": …} and exits
 *     PARAM is searchK for Annoy and ef for hnswlib.
 *
 * One process per library, so peak RSS (VmHWM, see peakRssBytes) is the
 * library's own. Progress goes to stderr, results to stdout.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { readFbin } from './lib/fbin.ts';
import type { BuildRequest, BuildResult, ServeReady, ServeRequest, ServeRun } from './lib/types.ts';
import { hierarchicalNSW } from './lib/hnswlib.ts';

const require = createRequire(import.meta.url);

type AnnoyTs = typeof import('../packages/annoy-ts/src/node/index.ts');
/** annoy-ts from the run's snapshot of src/ (see bench/lib/snapshot.ts). */
async function annoyTs(entry: string): Promise<AnnoyTs['AnnoyIndex']> {
  return ((await import(pathToFileURL(entry).href)) as AnnoyTs).AnnoyIndex;
}

interface BindingIndex {
  addItem(i: number, v: number[]): void;
  build(nTrees: number): void;
  save(path: string): boolean;
  load(path: string): boolean;
  getNItems(): number;
  getNNsByVector(v: number[], n: number, searchK: number, withDistances: false): number[];
}
type BindingCtor = new (f: number, metric: string) => BindingIndex;


/**
 * Peak RSS of this process in bytes: VmHWM from /proc/self/status (the peak of
 * this process image). process.resourceUsage().maxRSS would be wrong here: on
 * Linux it survives exec, so a child starts with the RSS its parent had when
 * it forked (the orchestrator holds whole datasets). maxRSS is the fallback
 * where /proc does not exist.
 */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS * 1024;
}
const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

function bindingCtor(): BindingCtor {
  return (require('annoy') as BindingCtor);
}

async function build(req: BuildRequest): Promise<BuildResult> {
  const { data: base, n, d } = readFbin(req.baseFile);
  if (d !== req.dim) throw new Error(`${req.baseFile} has dimension ${d}, expected ${req.dim}`);
  const row = (i: number): Float32Array => base.subarray(i * d, (i + 1) * d);
  let addSeconds: number | null = null;
  let buildSeconds: number;
  let cpu0 = process.cpuUsage();
  let buildCpuSeconds = 0;
  const cpuSince = (c: NodeJS.CpuUsage): number => {
    const d = process.cpuUsage(c);
    return (d.user + d.system) / 1e6;
  };
  let saveSeconds: number | null = null;
  const every = Math.max(1, Math.floor(n / 4));

  if (req.library === 'annoy-ts') {
    const AnnoyIndex = await annoyTs(req.annoyTsEntry);
    const index = new AnnoyIndex(d, req.metric);
    index.setSeed(req.seed);
    let t0 = performance.now();
    for (let i = 0; i < n; i++) index.addItem(i, row(i));
    addSeconds = seconds(t0);
    let lastTrees = 0;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    index.build(req.nTrees!, 1, {
      onProgress: (p) => {
        if (p.trees !== lastTrees && p.placed === p.items) {
          lastTrees = p.trees;
          if (p.trees % 10 === 0 || p.trees === p.nTrees) log(`tree ${p.trees}/${p.nTrees} (${seconds(t0).toFixed(1)} s)`);
        }
      },
    });
    buildSeconds = seconds(t0);
    buildCpuSeconds = cpuSince(cpu0);
    t0 = performance.now();
    index.save(req.indexFile);
    saveSeconds = seconds(t0);
  } else if (req.library === 'annoy-binding') {
    const Annoy = bindingCtor();
    const index = new Annoy(d, req.metric === 'angular' ? 'Angular' : 'Euclidean');
    let t0 = performance.now();
    // The binding silently ignores typed arrays: it needs plain arrays.
    for (let i = 0; i < n; i++) index.addItem(i, Array.from(row(i)));
    addSeconds = seconds(t0);
    if (index.getNItems() !== n) throw new Error(`the binding holds ${index.getNItems()} items, expected ${n}`);
    log(`building ${req.nTrees} trees (no progress reports from the binding)`);
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    index.build(req.nTrees!);
    buildSeconds = seconds(t0);
    buildCpuSeconds = cpuSince(cpu0);
    t0 = performance.now();
    if (!index.save(req.indexFile)) throw new Error(`the binding could not save ${req.indexFile}`);
    saveSeconds = seconds(t0);
  } else if (req.library === 'hnswlib') {
    const Hnsw = hierarchicalNSW();
    const index = new Hnsw(req.metric === 'angular' ? 'cosine' : 'l2', d);
    index.initIndex(n, req.M!, req.efConstruction!, req.seed);
    cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      index.addPoint(Array.from(row(i)), i);
      if ((i + 1) % every === 0) log(`${i + 1}/${n} points (${seconds(t0).toFixed(1)} s)`);
    }
    buildSeconds = seconds(t0);
    buildCpuSeconds = cpuSince(cpu0);
    const t1 = performance.now();
    index.writeIndexSync(req.indexFile);
    saveSeconds = seconds(t1);
  } else {
    throw new Error(`unknown library ${String(req.library)}`);
  }
  return {
    buildSeconds,
    buildCpuSeconds,
    addSeconds,
    saveSeconds,
    indexBytes: fs.statSync(req.indexFile).size,
    peakRssBytes: peakRssBytes(),
  };
}

type Search = (q: number, param: number) => ArrayLike<number>;

async function openForSearch(req: ServeRequest, nQueries: number, queries: Float32Array): Promise<{ search: Search; setParam: (p: number) => void; nItems: number; loadSeconds: number; rssBefore: number }> {
  const d = req.dim;
  const k = req.k;
  if (req.library === 'annoy-ts') {
    const AnnoyIndex = await annoyTs(req.annoyTsEntry);
    const views = Array.from({ length: nQueries }, (_, q) => queries.subarray(q * d, (q + 1) * d));
    const rssBefore = process.memoryUsage.rss();
    const t0 = performance.now();
    const index = new AnnoyIndex(d, req.metric);
    index.load(req.indexFile);
    const loadSeconds = seconds(t0);
    return { search: (q, searchK) => index.getNnsByVector(views[q]!, k, searchK), setParam: () => {}, nItems: index.getNItems(), loadSeconds, rssBefore };
  }
  // The C++ libraries take plain arrays; convert once, outside any timing.
  const arrays = Array.from({ length: nQueries }, (_, q) => Array.from(queries.subarray(q * d, (q + 1) * d)));
  if (req.library === 'annoy-binding') {
    const Annoy = bindingCtor();
    const rssBefore = process.memoryUsage.rss();
    const t0 = performance.now();
    const index = new Annoy(d, req.metric === 'angular' ? 'Angular' : 'Euclidean');
    if (!index.load(req.indexFile)) throw new Error(`the binding could not load ${req.indexFile}`);
    const loadSeconds = seconds(t0);
    return { search: (q, searchK) => index.getNNsByVector(arrays[q]!, k, searchK, false), setParam: () => {}, nItems: index.getNItems(), loadSeconds, rssBefore };
  }
  if (req.library === 'hnswlib') {
    const Hnsw = hierarchicalNSW();
    const rssBefore = process.memoryUsage.rss();
    const t0 = performance.now();
    const index = new Hnsw(req.metric === 'angular' ? 'cosine' : 'l2', d);
    index.readIndexSync(req.indexFile);
    const loadSeconds = seconds(t0);
    let ef = -1;
    return {
      search: (q) => index.searchKnn(arrays[q]!, k).neighbors,
      setParam: (p) => {
        if (p !== ef) index.setEf((ef = p));
      },
      nItems: index.getCurrentCount(),
      loadSeconds,
      rssBefore,
    };
  }
  throw new Error(`unknown library ${String(req.library)}`);
}

async function serve(req: ServeRequest): Promise<void> {
  const { data: queries, n: nQueries, d } = readFbin(req.queriesFile);
  if (d !== req.dim) throw new Error(`${req.queriesFile} has dimension ${d}, expected ${req.dim}`);
  const lib = await openForSearch(req, nQueries, queries);
  const out = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  const ready: ServeReady = {
    ready: true,
    loadSeconds: lib.loadSeconds,
    nItems: lib.nItems,
    rssBeforeLoadBytes: lib.rssBefore,
    rssAfterLoadBytes: process.memoryUsage.rss(),
  };
  out(ready);

  const k = req.k;
  const first: number[][] = Array.from({ length: nQueries }, () => []);
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const [cmd, a, b] = line.trim().split(/\s+/);
    if (cmd === undefined || cmd === '') continue;
    if (cmd === 'quit') {
      out({ peak_rss_bytes: peakRssBytes() });
      rl.close();
      return;
    }
    const param = Number(a);
    if (!Number.isFinite(param)) throw new Error(`bad command: ${line}`);
    lib.setParam(param);
    const search = lib.search;
    if (cmd === 'warm') {
      const count = Math.min(nQueries, Number(b));
      const t0 = performance.now();
      for (let q = 0; q < count; q++) search(q, param);
      out({ warmed: count, seconds: seconds(t0) });
      continue;
    }
    if (cmd !== 'run') throw new Error(`unknown command: ${line}`);
    const w = Math.min(req.warmup, nQueries);
    for (let q = 0; q < w; q++) search(q, param);
    const passes: number[] = [];
    const cpu: number[] = [];
    let total = 0;
    let sink = 0;
    while (passes.length < req.maxPasses && (passes.length === 0 || total < req.minSeconds)) {
      const keep = passes.length === 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      if (keep) {
        for (let q = 0; q < nQueries; q++) first[q] = search(q, param) as number[];
      } else {
        for (let q = 0; q < nQueries; q++) sink += search(q, param).length;
      }
      const s = seconds(t0);
      const c = process.cpuUsage(c0);
      passes.push(s);
      cpu.push((c.user + c.system) / 1e6);
      total += s;
    }
    if (sink < 0) log('unreachable');
    const result: ServeRun = { param, passes, cpu, ids: first.map((r) => Array.from(r).slice(0, k)) };
    out(result);
  }
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  if ((mode !== 'build' && mode !== 'serve') || json === undefined) {
    throw new Error("usage: node --import tsx bench/child.ts build|serve '<request JSON>' (run by bench/run.ts)");
  }
  if (mode === 'build') {
    const result = await build(JSON.parse(json) as BuildRequest);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    await serve(JSON.parse(json) as ServeRequest);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
