// The cluster on a real nats-server: `annoy-ts serve --nats` child processes (the built CLI) as
// shard replicas, queried through ClusterClient and through any server's HTTP gateway. Answers
// equal the index's own; a replica killed under load or restarted (drained) loses no query; a
// missing shard fails or answers partially, within the timeout; NATS lost and back; mismatched
// replicas refused at join; messages larger than NATS's max_payload split or refused clearly.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { ClusterClient, ClusterError, type ClusterAnswer } from '../../packages/cli/src/cluster/index.ts';
import { cliAsync, cliEntry, randomRows } from '../helpers/cli.ts';
import { children, killAll, load, pause, post, serveNode, stopNode, until, type ServeNode } from '../helpers/cluster.ts';
import { natsServerPath, startNats, type NatsServer } from '../helpers/nats.ts';
import { skipWithout } from '../helpers/requirements.ts';

const skip = skipWithout(natsServerPath() !== null, 'nats-server (apt-get install nats-server, or ANNOY_TS_NATS_SERVER)');

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-cluster-'));
const at = (name: string) => join(dir, name);
const F = 16;
const N = 3000;
const K = 10;
const MAX_PAYLOAD = 64 * 1024;

let nats: NatsServer;
let client: ClusterClient;

const serve = (args: string[], options: { nats?: string; name?: string } = {}) => serveNode(args, options.nats ?? nats.url, options.name ?? `node-${children.length}`);
const stop = stopNode;

function writeIndex(name: string, f: number, seed: number, labels = true): void {
  const index = new AnnoyIndex(f, 'angular');
  randomRows(N, f, seed).forEach((r, i) => index.addItem(i, r));
  index.setSeed(seed);
  index.build(8);
  if (labels) writeFileSync(at(`${name}.labels.json`), JSON.stringify(Array.from({ length: N }, (_, i) => `w${i}`)));
  index.save(at(`${name}.ann`), labels ? { labels: `${name}.labels.json` } : {});
  index.unload();
}

afterAll(async () => {
  await client?.close();
  killAll();
  await nats?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('cluster on NATS: one index, two replicas', () => {
  let reference: AnnoyIndex;
  const queries = randomRows(40, F, 77);
  const replicas: ServeNode[] = [];

  beforeAll(async () => {
    cliEntry();
    writeIndex('words', F, 1);
    writeIndex('other', F, 2);
    writeIndex('narrow', 8, 3, false);
    reference = AnnoyIndex.open(at('words.ann'));
    nats = await startNats({ maxPayload: MAX_PAYLOAD });
    // One replica searches on worker threads, the other on its event loop.
    replicas.push(...(await Promise.all([serve([`words=${at('words.ann')}`], { name: 'r0' }), serve([`words=${at('words.ann')}`, '--threads', '0'], { name: 'r1' })])));
    client = await ClusterClient.connect({ servers: nats.url, timeoutMs: 3000, retryAfterMs: 150 });
  });
  afterAll(() => reference?.unload());

  it('discovery lists the index, its shard and both replicas with generation, checksum and HTTP address', async () => {
    const status = await client.status();
    const words = status.indexes.find((i) => i.index === 'words')!;
    expect(words).toMatchObject({ shards: 1, f: F, metric: 'angular', items: N, labels: true, missingShards: [], conflicts: [] });
    const sidecar = JSON.parse(readFileSync(at('words.ann.json'), 'utf8')) as { checksum: string };
    expect(words.sets).toEqual([sidecar.checksum]);
    const found = words.shardStatus[0].replicas;
    expect(found.map((r) => r.node.name)).toEqual(['r0', 'r1']);
    for (const r of found) expect(r).toMatchObject({ generation: 1, checksum: sidecar.checksum, items: N, draining: false });
    expect(found.map((r) => r.node.http)).toEqual(replicas.map((r) => r.url));
    // The same through any server's HTTP gateway.
    const viaHttp = (await (await fetch(`${replicas[1].url}/v1/cluster`)).json()) as { indexes: { index: string; shards: number }[] };
    expect(viaHttp.indexes.find((i) => i.index === 'words')?.shards).toBe(1);
  });

  it('answers equal the index’s own: vectors, items, labels, batches; through the client and HTTP', async () => {
    const words = client.index('words');
    for (const q of queries.slice(0, 10)) expect(await words.getNnsByVector(q, K, -1, true)).toEqual(reference.getNnsByVector(q, K, -1, true));
    expect(await words.getNnsByItem(17, K, -1, true)).toEqual(reference.getNnsByItem(17, K, -1, true));
    expect(await words.getNnsByVectors(queries, K)).toEqual(reference.getNnsByVectors(queries, K));
    expect(await words.getNnsByItems([0, 5, 2999], K, 50)).toEqual(reference.getNnsByItems([0, 5, 2999], K, 50));
    expect(await words.getItemVector(42)).toEqual(reference.getItemVector(42));
    const answer = await words.search([{ label: 'w123' }], K);
    expect(answer.results[0].ids).toEqual(reference.getNnsByItem(123, K));
    expect(answer.results[0].labels).toEqual(answer.results[0].ids.map((id) => `w${id}`));
    expect(answer).toMatchObject({ partial: false, missingShards: [], shards: [{ shard: 0, generation: 1 }] });

    const round = (x: number) => Number(x.toPrecision(9));
    const want = reference.getNnsByVector(queries[0], K, -1, true);
    for (const node of replicas) {
      const r = await post(`${node.url}/v1/indexes/words/query`, { vector: queries[0], k: K });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ index: 'words', ids: want.ids, distances: want.distances.map(round), labels: want.ids.map((id) => `w${id}`), partial: false });
    }
    const batch = await post(`${replicas[0].url}/v1/indexes/words/query/batch`, { queries: [{ item: 5 }, { label: 'w9' }, { vector: queries[1] }], k: 3 });
    expect(batch.status).toBe(200);
    expect((batch.body.results as { ids: number[] }[]).map((r) => r.ids)).toEqual([reference.getNnsByItem(5, 3), reference.getNnsByItem(9, 3), reference.getNnsByVector(queries[1], 3)]);
  });

  it('bad input: unknown index, item or label, wrong dimension, NaN, k beyond the limit — clear errors', async () => {
    const words = client.index('words');
    await expect(client.index('nope').getNnsByVector(queries[0], K)).rejects.toBeInstanceOf(ClusterError);
    await expect(client.index('nope').getNnsByVector(queries[0], K)).rejects.toMatchObject({ code: 'unknown_index', message: expect.stringMatching(/no server .* serves an index named "nope": it serves "words"/) });
    await expect(words.getNnsByItem(N + 5, K)).rejects.toMatchObject({ code: 'unknown_item', message: expect.stringMatching(/item 3005 does not exist/) });
    await expect(words.search([{ label: 'no such word' }], K)).rejects.toMatchObject({ code: 'unknown_label' });
    await expect(words.getNnsByVector([1, 2, 3], K)).rejects.toThrow(/has 3 values, but index "words" has f = 16/);
    await expect(words.getNnsByVector(queries[0].map((x, i) => (i === 3 ? NaN : x)), K)).rejects.toThrow(/\[3\] is not a finite number/);
    await expect(words.getNnsByVector(queries[0], 0)).rejects.toThrow(/n must be a positive integer/);
    await expect(words.getNnsByVector(queries[0], 5000)).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/k must be an integer from 1 to 1000/) });

    const gw = replicas[0].url;
    expect(await post(`${gw}/v1/indexes/nope/query`, { item: 1 })).toMatchObject({ status: 404, body: { error: 'unknown_index' } });
    expect(await post(`${gw}/v1/indexes/words/query`, { item: N })).toMatchObject({ status: 404, body: { error: 'unknown_item' } });
    expect(await post(`${gw}/v1/indexes/words/query`, { vector: [1, 2] })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/f = 16/) } });
    expect(await post(`${gw}/v1/indexes/words/query`, { item: 1, allowPartial: 'yes' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('one replica killed (SIGKILL) under load: no query fails; a new replica joins', async () => {
    const words = client.index('words');
    const traffic = load((i) => words.getNnsByVector(queries[i % queries.length], K));
    await pause(400);
    await stop(replicas[0], 'SIGKILL');
    await pause(800);
    const { answered, failures } = await traffic.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(50);
    replicas[0] = await serve([`words=${at('words.ann')}`], { name: 'r0' });
    await until('both replicas are discovered', async () => (await client.status()).indexes[0].shardStatus[0].replicas.length === 2);
  });

  it('rolling restart (SIGTERM drains, then the replica comes back) under load through the HTTP gateway: no query fails', async () => {
    const gateway = await serve([], { name: 'gateway' }); // serves no index: only answers for the cluster
    const traffic = load(async (i) => {
      const r = await post(`${gateway.url}/v1/indexes/words/query`, { vector: queries[i % queries.length], k: K });
      if (r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
    });
    for (let r = 0; r < replicas.length; r++) {
      await pause(300);
      expect(await stop(replicas[r], 'SIGTERM')).toBe(0);
      expect(replicas[r].stderr()).toMatch(/SIGTERM: draining/);
      replicas[r] = await serve([`words=${at('words.ann')}`], { name: `r${r}` });
    }
    await pause(300);
    const { answered, failures } = await traffic.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(50);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/annoy_cluster_queries_total\{index="words",result="ok"\} \d+/);
    expect(metrics).toMatch(/annoy_cluster_scatter_requests_total\{index="words",shard="0",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/annoy_cluster_nats_connected 1/);
    expect(await stop(gateway)).toBe(0);
  });

  it('per-shard metrics on each replica', async () => {
    await client.index('words').getNnsByItem(1, K);
    await until('a replica counted a request', async () => {
      const texts = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/metrics`)).text()));
      return texts.some((t) => /annoy_cluster_shard_requests_total\{index="words",shard="0",op="search",result="ok"\} [1-9]/.test(t));
    });
    const text = await (await fetch(`${replicas[0].url}/metrics`)).text();
    expect(text).toMatch(/annoy_cluster_shard_generation\{index="words",shard="0"\} 1/);
    expect(text).toMatch(/annoy_cluster_shard_items\{index="words",shard="0"\} 3000/);
  });

  it('hot swap per replica (SIGHUP): answers carry the generation and set; consistent queries agree on one set', async () => {
    // Roll a new file out: replace words.ann (and its sidecar) atomically, then SIGHUP each replica.
    const before = JSON.parse(readFileSync(at('words.ann.json'), 'utf8')) as { checksum: string };
    const next = new AnnoyIndex(F, 'angular');
    randomRows(N, F, 1).forEach((r, i) => next.addItem(i, r));
    next.setSeed(99);
    next.build(8);
    next.save(at('words-next.ann'), { labels: 'words.labels.json' });
    next.unload();
    renameSync(at('words-next.ann.json'), at('words.ann.json.tmp'));
    renameSync(at('words-next.ann'), at('words.ann'));
    renameSync(at('words.ann.json.tmp'), at('words.ann.json'));
    const after = JSON.parse(readFileSync(at('words.ann.json'), 'utf8')) as { checksum: string };
    expect(after.checksum).not.toBe(before.checksum);
    const fresh = AnnoyIndex.open(at('words.ann'));
    try {
      replicas[0].child.kill('SIGHUP');
      await until('replica r0 swapped', async () => /generation 2 serving/.test(replicas[0].stderr()));
      // Mid-rollout: each answer names its set; both sets are seen in discovery.
      const status = await client.status();
      expect(new Set(status.indexes[0].sets)).toEqual(new Set([before.checksum, after.checksum]));
      const seen = new Set<string | null>();
      for (let i = 0; i < 30; i++) seen.add((await client.search('words', [{ item: 3 }], K)).shards[0].set);
      expect(seen).toEqual(new Set([before.checksum, after.checksum]));
      replicas[1].child.kill('SIGHUP');
      await until('replica r1 swapped', async () => /generation 2 serving/.test(replicas[1].stderr()));
      const answer: ClusterAnswer = await client.search('words', [{ vector: queries[0] }], K, -1, { consistent: true });
      expect(answer.shards[0]).toMatchObject({ generation: 2, checksum: after.checksum, set: after.checksum });
      expect(answer.results[0].ids).toEqual(fresh.getNnsByVector(queries[0], K));
    } finally {
      reference.unload();
      reference = fresh; // what the cluster serves from now on
    }
  });

  it('a replica that does not match the cluster is refused at join: exit 1, one line', async () => {
    const [wrongF, wrongFile] = await Promise.all([
      cliAsync(['serve', `words=${at('narrow.ann')}`, '--f', '8', '--metric', 'angular', '--port', '0', '--nats', nats.url]),
      cliAsync(['serve', `words=${at('other.ann')}`, '--port', '0', '--nats', nats.url]),
    ]);
    expect(wrongF.code).toBe(1);
    expect(wrongF.stderr).toMatch(/^annoy-ts: cannot join the cluster with index "words" shard 0: r\d serves its shard 0 with f = 16, this one f = 8.*\n$/);
    expect(wrongFile.code).toBe(1);
    expect(wrongFile.stderr).toMatch(/^annoy-ts: cannot join the cluster with index "words" shard 0: .*set crc32:[0-9a-f]{8}, this one crc32:[0-9a-f]{8}/);
  });

  it('NATS unreachable at start: exit 1 with one line', async () => {
    const r = await cliAsync(['serve', `words=${at('words.ann')}`, '--port', '0', '--nats', 'nats://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('annoy-ts: cannot reach NATS at nats://127.0.0.1:1: connection refused (is nats-server running there?)\n');
    await expect(ClusterClient.connect({ servers: '127.0.0.1:1' })).rejects.toMatchObject({ code: 'nats_unreachable' });
  });

  it('messages beyond NATS max_payload: a big batch is split; a vector larger than max_payload is refused clearly', async () => {
    const many = randomRows(2500, F, 5); // 2500 × 64 bytes: more than 64 KiB
    expect(await client.index('words').getNnsByVectors(many, 3)).toEqual(reference.getNnsByVectors(many, 3));
    const wide = new AnnoyIndex(20_000, 'euclidean');
    randomRows(20, 20_000, 6).forEach((r, i) => wide.addItem(i, r));
    wide.build(2);
    wide.save(at('wide.ann'));
    wide.unload();
    const node = await serve([`wide=${at('wide.ann')}`, '--threads', '0'], { name: 'wide' });
    try {
      await expect(client.index('wide').getNnsByVector(new Array(20_000).fill(0.5), 3)).rejects.toMatchObject({
        code: 'too_large', message: expect.stringMatching(/f = 20000 takes 80000 bytes, more than the NATS server's max_payload of 65536/),
      });
    } finally {
      await stop(node);
    }
  });

  it('a whole shard gone: an error naming it by default, a partial answer when allowed — within the timeout', async () => {
    const solo = await serve([`solo=${at('other.ann')}`, '--threads', '0'], { name: 'solo' });
    expect((await client.index('solo').getNnsByItem(0, 3)).length).toBe(3);
    expect((await post(`${replicas[0].url}/v1/indexes/solo/query`, { item: 0, k: 3 })).status).toBe(200);
    await stop(solo, 'SIGKILL');
    const started = Date.now();
    await expect(client.index('solo').getNnsByItem(0, 3)).rejects.toMatchObject({ code: 'shards_unavailable', missingShards: [0] });
    await expect(client.search('solo', [{ vector: queries[0] }], 3)).rejects.toThrow(/shard 0 of index "solo" has no live replica/);
    const partial = await client.search('solo', [{ vector: queries[0] }], 3, -1, { allowPartial: true });
    expect(partial).toMatchObject({ partial: true, missingShards: [0], shards: [], results: [{ ids: [], distances: [] }] });
    expect(Date.now() - started).toBeLessThan(3000);
    const viaHttp = await post(`${replicas[0].url}/v1/indexes/solo/query`, { vector: queries[0], k: 3 });
    expect(viaHttp).toMatchObject({ status: 503, body: { error: 'shards_unavailable', message: expect.stringMatching(/shard 0 of index "solo" has no live replica/) } });
    const partialViaHttp = await post(`${replicas[0].url}/v1/indexes/solo/query/batch`, { queries: [{ vector: queries[0] }], k: 3, allowPartial: true });
    expect(partialViaHttp).toMatchObject({ status: 200, body: { partial: true, missingShards: [0], results: [{ ids: [] }] } });
  });

  it('NATS lost later: queries fail at once with a clear error; servers and clients reconnect when it is back', async () => {
    const port = nats.port;
    await nats.kill();
    await until('the client notices', async () => !client.watch.up, 5000);
    const started = Date.now();
    await expect(client.index('words').getNnsByItem(1, K)).rejects.toMatchObject({ code: 'disconnected', message: expect.stringMatching(/lost the connection to NATS at .*reconnecting/) });
    const viaHttp = await post(`${replicas[0].url}/v1/indexes/words/query`, { item: 1, k: K });
    expect(viaHttp).toMatchObject({ status: 503, body: { error: 'disconnected' } });
    expect(Date.now() - started).toBeLessThan(1000);
    // A server stopped while NATS is away exits at once (nothing to drain).
    const stopping = Date.now();
    expect(await stop(replicas[1], 'SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(3000);
    nats = await startNats({ maxPayload: MAX_PAYLOAD, port });
    await until('queries answer again', async () => (await client.index('words').getNnsByItem(1, K)).length === K);
    expect(replicas[0].stderr()).toMatch(/lost the connection to NATS[^\n]*\n(.|\n)*reconnected to NATS/);
    replicas[1] = await serve([`words=${at('words.ann')}`], { name: 'r1' });
    await until('both replicas are up', async () => (await client.status()).indexes.find((i) => i.index === 'words')!.shardStatus[0].replicas.length === 2);
  });

  it('a token-protected NATS: --nats-token-file', async () => {
    const secured = await startNats({ token: 's3cret' });
    try {
      writeFileSync(at('nats-token'), 's3cret\n');
      const denied = await cliAsync(['serve', `words=${at('words.ann')}`, '--port', '0', '--nats', secured.url]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/^annoy-ts: NATS at .* refused the connection: authorization violation/);
      const node = await serve([`words=${at('words.ann')}`, '--threads', '0', '--nats-token-file', at('nats-token')], { nats: secured.url, name: 'secured' });
      const c = await ClusterClient.connect({ servers: secured.url, token: 's3cret' });
      try {
        expect(await c.index('words').getNnsByItem(1, 3)).toHaveLength(3);
      } finally {
        await c.close();
        await stop(node);
      }
    } finally {
      await secured.kill();
    }
  });

  it('command line: --nats options need --nats; a bad prefix is a usage error', async () => {
    const [stray, prefix, help] = await Promise.all([
      cliAsync(['serve', at('words.ann'), '--nats-prefix', 'x']),
      cliAsync(['serve', at('words.ann'), '--nats', nats.url, '--nats-prefix', 'a.b']),
      cliAsync(['serve', '--help']),
    ]);
    expect(stray).toMatchObject({ code: 2, stderr: 'annoy-ts: --nats-prefix needs --nats URL\n' });
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toMatch(/--nats-prefix: the NATS prefix must be/);
    expect(help.stdout).toMatch(/--nats URL/);
  });
});
