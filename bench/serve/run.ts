// Load benchmark of annoy-ts serve on loopback (bounded: about 2–3 minutes in all).
//
//   npm run bench:serve                # everything below
//   npm run bench:serve -- --seconds 5 # shorter runs
//
// By-vector queries (k = 10, searchK = -1) on the GloVe index (341,479 × 100, angular, 10 trees),
// from autocannon in this process, 16 connections. Configurations:
//   1 core   the server pinned to CPU 0 (taskset), the load generator to CPU 1;
//            workers: a query pool of 1 thread; main: searches on the event loop
//   2 cores  nothing pinned (the load generator shares the two cores with the server);
//            workers: a pool of 2 threads; main; cluster: 2 processes, each searching on its
//            event loop with its own copy of the index
//   swap     2 cores, workers, with re-pointing reloads and a corrupt file during the load: every
//            response must be a 200, and each connection must see generations in order
// Also reported: the server's CPU time per request (all its processes and threads, from /proc).
// Results: bench/serve/results/<time>.json, and a Markdown table on stdout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { BENCH_DIR, gloveIndex } from './glove-index.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] || 0) || 8;
const CONNECTIONS = 16;
const log = (line: string) => process.stderr.write(`bench/serve: ${line}\n`);

interface Row {
  config: string;
  cores: number;
  mode: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
  serverCpuMicrosPerRequest: number;
  notes?: string;
}

// ---- process CPU accounting (/proc: utime + stime of a process tree, in clock ticks) ------------

const TICK_US = 1e6 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function children(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(f[1]) === pid) out.push(Number(d), ...children(Number(d)));
    } catch { /* gone */ }
  }
  return out;
}

function cpuMicros(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...children(pid)]) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks * TICK_US;
}

function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

// ---- the server under test --------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

async function startServer(mode: 'workers' | 'main', processes: number, cpus: string | null, spec: string): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const argv = ['--import', 'tsx', join(HERE, 'server-process.ts'), mode, String(processes), String(port), spec];
  const child = cpus === null
    ? spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', cpus, process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d) => log(`server: ${String(d).trimEnd()}`));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, url: `http://127.0.0.1:${port}`, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

function queryRequests(queries: number[][], track?: (status: number, body: string, context: Record<string, number>) => void): autocannon.Request[] {
  return queries.map((vector) => ({
    method: 'POST' as const,
    path: '/v1/indexes/glove/query',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vector, k: 10 }),
    ...(track ? { onResponse: (status: number, body: string, context: object) => track(status, body, context as Record<string, number>) } : {}),
  }));
}

async function load(url: string, requests: autocannon.Request[], seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, requests, timeout: 30 });
}

function row(config: string, cores: number, mode: string, r: autocannon.Result, cpu: number, notes?: string): Row {
  return {
    config, cores, mode, requestsPerSecond: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max,
    requests: r.requests.total, non2xx: r.non2xx, errors: r.errors, serverCpuMicrosPerRequest: Math.round(cpu / Math.max(1, r.requests.total)),
    ...(notes ? { notes } : {}),
  };
}

async function measure(config: string, cores: 1 | 2, mode: 'workers' | 'main', processes: number, spec: string, queries: number[][]): Promise<Row> {
  const pinned = cores === 1;
  const server = await startServer(mode, processes, pinned ? '0' : null, spec);
  try {
    if (pinned) pinSelf('1');
    await load(server.url, queryRequests(queries.slice(0, 50)), 1); // warm-up
    const before = cpuMicros(server.child.pid!);
    const r = await load(server.url, queryRequests(queries), SECONDS);
    const cpu = cpuMicros(server.child.pid!) - before;
    const result = row(config, cores, processes > 1 ? `cluster ×${processes}` : mode, r, cpu);
    log(`${config}: ${result.requestsPerSecond} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.serverCpuMicrosPerRequest} µs CPU/request, non-2xx ${result.non2xx}, errors ${result.errors}`);
    return result;
  } finally {
    pinSelf('0-1');
    await server.stop();
  }
}

/** Re-points the served index twice and offers it a corrupt file, all while under load. */
async function swapUnderLoad(glovePath: string, queries: number[][]): Promise<Row & { swaps: unknown[]; outOfOrder: number; generations: number[] }> {
  const copy = join(BENCH_DIR, 'glove-b.ann');
  if (!existsSync(copy) || readFileSync(`${copy}.json`, 'utf8') !== readFileSync(`${glovePath}.json`, 'utf8')) {
    log('copying the index for the swap (once)…');
    copyFileSync(glovePath, copy);
    copyFileSync(`${glovePath}.json`, `${copy}.json`); // names the same labels file, in the same folder
  }
  const broken = join(BENCH_DIR, 'broken.ann');
  writeFileSync(broken, Buffer.alloc(1 << 20));
  copyFileSync(`${glovePath}.json`, `${broken}.json`);
  const live = join(BENCH_DIR, 'live.ann');
  rmSync(`${live}.tmp`, { force: true });
  symlinkSync(glovePath, `${live}.tmp`);
  renameSync(`${live}.tmp`, live);

  const server = await startServer('workers', 1, null, `glove=${live}`);
  let outOfOrder = 0;
  const generations = new Set<number>();
  const track = (status: number, body: string, context: Record<string, number>) => {
    if (status !== 200) return;
    const g = Number(/"generation":(\d+)/.exec(body)?.[1]);
    generations.add(g);
    if (g < (context['generation'] ?? 0)) outOfOrder++;
    context['generation'] = g;
  };
  const swaps: unknown[] = [];
  const reload = async (path: string) => {
    const started = Date.now();
    const r = await fetch(`${server.url}/v1/indexes/glove/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
    const body = await r.json() as Record<string, unknown>;
    swaps.push({ path, status: r.status, generation: body['generation'], error: body['error'], millis: Date.now() - started });
    log(`reload ${path}: ${r.status} ${JSON.stringify(body).slice(0, 160)}`);
  };
  try {
    await load(server.url, queryRequests(queries.slice(0, 50)), 1);
    const before = cpuMicros(server.child.pid!);
    const seconds = Math.max(SECONDS, 20);
    const running = load(server.url, queryRequests(queries, track), seconds);
    const script = (async () => {
      await new Promise((r) => setTimeout(r, 2000));
      await reload(copy);
      await new Promise((r) => setTimeout(r, 1000));
      await reload(broken);
      await new Promise((r) => setTimeout(r, 1000));
      await reload(live);
    })();
    const [r] = await Promise.all([running, script]);
    const cpu = cpuMicros(server.child.pid!) - before;
    const result = row('2 cores, swaps during load', 2, 'workers', r, cpu);
    log(`swap: ${result.requestsPerSecond} req/s, p99 ${result.p99} ms, max ${result.max} ms, non-2xx ${result.non2xx}, errors ${result.errors}, out-of-order ${outOfOrder}, generations ${[...generations].sort().join(',')}`);
    return { ...result, swaps, outOfOrder, generations: [...generations].sort() };
  } finally {
    await server.stop();
    rmSync(broken, { force: true });
    rmSync(`${broken}.json`, { force: true });
  }
}

const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const glove = await gloveIndex(log);
const spec = `glove=${glove.path}`;
const started = Date.now();
const rows: Row[] = [];
rows.push(await measure('1 core, worker pool', 1, 'workers', 1, spec, glove.queries));
rows.push(await measure('1 core, event loop', 1, 'main', 1, spec, glove.queries));
rows.push(await measure('2 cores, worker pool', 2, 'workers', 1, spec, glove.queries));
rows.push(await measure('2 cores, event loop', 2, 'main', 1, spec, glove.queries));
rows.push(await measure('2 cores, cluster of 2', 2, 'main', 2, spec, glove.queries));
const swap = await swapUnderLoad(glove.path, glove.queries);

const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const report = {
  date: new Date().toISOString(), node: process.version, cpus: 2, seconds: SECONDS, connections: CONNECTIONS,
  index: { path: glove.path, items: 341_479, f: 100, metric: 'angular', trees: 10 }, query: { k: 10, searchK: -1 },
  loadAverageBefore: loadBefore, loadAverageAfter: loadavg, minutes: (Date.now() - started) / 60_000, rows, swap,
};
const dir = join(HERE, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${report.date.replace(/[:.]/g, '').slice(0, 15)}Z.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');

const lines = [
  '| configuration | req/s | p50 ms | p99 ms | max ms | server CPU µs/req | non-2xx | errors |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...[...rows, swap].map((r) => `| ${r.config} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.max} | ${r.serverCpuMicrosPerRequest} | ${r.non2xx} | ${r.errors} |`),
];
console.log(lines.join('\n'));
console.log(`\nswap run: ${swap.swaps.length} reloads (${JSON.stringify(swap.swaps)}), generations seen ${swap.generations.join(', ')}, out-of-order responses ${swap.outOfOrder}`);
console.log(`load average before: ${loadBefore}, after: ${loadavg} (other work on the machine skews every figure); results in ${file}`);
