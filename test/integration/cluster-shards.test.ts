// A sharded index (ShardedIndexBuilder: 3 shards, one with an id file and holes, labels) served
// by a cluster on a real nats-server: servers holding one shard (--shard K) or all of them, two or
// more replicas per shard. Answers equal ShardedIndex's; a shard with no live replica fails the
// query, or answers partially with exactly the other shards' merged answer; a server of another
// build is refused at join; a rebuilt set rolls out by SIGHUP, shard by shard, and consistent
// queries refuse a mixed set.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardedIndex, ShardedIndexBuilder } from '../../packages/annoy-ts/src/node/index.ts';
import { ClusterClient } from '../../packages/cli/src/cluster/index.ts';
import { cliAsync, cliEntry, randomRows } from '../helpers/cli.ts';
import { killAll, load, pause, post, serveNode, stopNode, until, type ServeNode } from '../helpers/cluster.ts';
import { natsServerPath, startNats, type NatsServer } from '../helpers/nats.ts';
import { skipWithout } from '../helpers/requirements.ts';

const skip = skipWithout(natsServerPath() !== null, 'nats-server (apt-get install nats-server, or ANNOY_TS_NATS_SERVER)');

const root = mkdtempSync(join(tmpdir(), 'annoy-ts-cluster-shards-'));
const F = 12;
const N = 2400;
const K = 10;
const EXACT = 100_000; // searchK beyond every shard's size: exhaustive, so answers are exact

/** Global ids: 0 … 1199, then a gap of 10 holes, then 1210 … 2409 (the middle shard gets an id file). */
const idOf = (row: number) => (row < 1200 ? row : row + 10);
const HOLE = 1205;

function build(dir: string, seed: number): void {
  const rows = randomRows(N, F, seed);
  const labels: (string | null)[] = Array.from({ length: idOf(N - 1) + 1 }, () => null);
  rows.forEach((_, r) => (labels[idOf(r)] = `w${idOf(r)}`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
  const builder = new ShardedIndexBuilder(dir, F, 'euclidean', { nTrees: 6, nJobs: 1, seed, maxShardItems: 800, labels: 'labels.json' });
  rows.forEach((r, i) => builder.addItem(idOf(i), r));
  builder.finish();
}

let nats: NatsServer;
let client: ClusterClient;
const dir = join(root, 'words.shards');

afterAll(async () => {
  await client?.close();
  killAll();
  await nats?.kill();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(skip)('cluster on NATS: a sharded index, 3 shards, 2–3 replicas each', () => {
  let sharded: ShardedIndex;
  const nodes: Record<string, ServeNode> = {};
  const queries = randomRows(30, F, 91);
  const serve = (name: string, shard?: string) => serveNode([`words=${dir}`, '--threads', '0', ...(shard === undefined ? [] : ['--shard', shard])], nats.url, name);

  beforeAll(async () => {
    cliEntry();
    build(dir, 1);
    sharded = ShardedIndex.open(dir);
    expect(sharded.getNShards()).toBe(3);
    nats = await startNats();
    // Shard 0: s0a, s0b, all; shard 1: s1, all; shard 2: s2, all.
    const started = await Promise.all([serve('s0a', '0'), serve('s0b', '0'), serve('s1', '1'), serve('s2', '2'), serve('all')]);
    for (const n of started) nodes[n.name] = n;
    client = await ClusterClient.connect({ servers: nats.url, timeoutMs: 2000, retryAfterMs: 150 });
  });
  afterAll(() => sharded?.close());

  it('discovery: 3 shards, their replicas, one set (the manifest checksum), the item count', async () => {
    const status = await client.status();
    const words = status.indexes.find((i) => i.index === 'words')!;
    expect(words).toMatchObject({ shards: 3, f: F, metric: 'euclidean', labels: true, items: idOf(N - 1) + 1, count: N, missingShards: [], conflicts: [] });
    expect(words.sets).toHaveLength(1);
    expect(words.sets[0]).toMatch(/^crc32:[0-9a-f]{8}$/);
    expect(words.shardStatus.map((s) => s.replicas.map((r) => r.node.name))).toEqual([['all', 's0a', 's0b'], ['all', 's1'], ['all', 's2']]);
    // Locally each shard is listed as NAME.shard-K.
    const local = (await (await fetch(`${nodes.all.url}/v1/indexes`)).json()) as { indexes: { name: string }[] };
    expect(local.indexes.map((i) => i.name)).toEqual(['words.shard-0', 'words.shard-1', 'words.shard-2']);
  });

  it('answers equal ShardedIndex’s: vectors, items in every shard, a hole, labels, batches, per-shard searchK', async () => {
    const words = client.index('words');
    for (const q of queries.slice(0, 8)) {
      expect(await words.getNnsByVector(q, K, -1, true)).toEqual(sharded.getNnsByVector(q, K, -1, true));
      expect(await words.getNnsByVector(q, K, 30, true)).toEqual(sharded.getNnsByVector(q, K, 30, true));
    }
    for (const id of [0, 799, 800, 1199, 1210, 1700, idOf(N - 1), HOLE]) {
      expect(await words.getNnsByItem(id, K, -1, true), `item ${id}`).toEqual(sharded.getNnsByItem(id, K, -1, true));
    }
    expect(await words.getItemVector(1700)).toEqual(sharded.getItemVector(1700));
    expect(await words.getItemVector(HOLE)).toEqual(new Array(F).fill(0));
    expect(await words.getNnsByVectors(queries, K)).toEqual(sharded.getNnsByVectors(queries, K));
    await expect(words.getNnsByItem(idOf(N - 1) + 1, K)).rejects.toMatchObject({ code: 'unknown_item', message: expect.stringMatching(/ids 0 … 2409 \(2400 items over 3 shards\)/) });
    const byLabel = await client.search('words', [{ label: 'w1700' }], K);
    expect(byLabel.results[0].ids).toEqual(sharded.getNnsByItem(1700, K));
    expect(byLabel.results[0].labels).toEqual(byLabel.results[0].ids.map((id) => `w${id}`));
    expect(byLabel.shards.map((s) => s.shard)).toEqual([0, 1, 2]);
    // The HTTP gateway of a server that holds one shard answers for the whole set.
    const viaHttp = await post(`${nodes.s1.url}/v1/indexes/words/query`, { vector: queries[0], k: K });
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body.ids).toEqual(sharded.getNnsByVector(queries[0], K));
  });

  it('kill one replica of every shard under load: no query fails', async () => {
    const words = client.index('words');
    const traffic = load((i) => words.getNnsByVector(queries[i % queries.length], K));
    await pause(300);
    await Promise.all([stopNode(nodes.s0a, 'SIGKILL'), stopNode(nodes.s1, 'SIGKILL'), stopNode(nodes.s2, 'SIGKILL')]);
    await pause(700);
    const { answered, failures } = await traffic.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(30);
    [nodes.s1, nodes.s2] = await Promise.all([serve('s1', '1'), serve('s2', '2')]);
  });

  it('a whole shard gone: every query errors naming it, or — when allowed — answers from the other shards, within the timeout', async () => {
    await Promise.all([stopNode(nodes.all, 'SIGKILL'), stopNode(nodes.s2, 'SIGKILL')]);
    const started = Date.now();
    await expect(client.index('words').getNnsByVector(queries[0], K)).rejects.toMatchObject({
      code: 'shards_unavailable', missingShards: [2], message: expect.stringMatching(/shard 2 of index "words" has no live replica/),
    });
    const partial = await client.search('words', queries.slice(0, 5).map((vector) => ({ vector })), K, EXACT, { allowPartial: true });
    expect(partial).toMatchObject({ partial: true, missingShards: [2] });
    expect(partial.shards.map((s) => s.shard)).toEqual([0, 1]);
    // Exactly shards 0 and 1 merged: the exact answer over the whole set without shard 2's items.
    const inShard2 = (id: number) => id >= sharded.manifest.shards[2].firstId;
    queries.slice(0, 5).forEach((q, i) => {
      const whole = sharded.getNnsByVector(q, 3 * K, EXACT, true);
      const keep = whole.ids.map((id, r) => ({ id, d: whole.distances[r] })).filter((x) => !inShard2(x.id)).slice(0, K);
      expect(partial.results[i].ids).toEqual(keep.map((x) => x.id));
      expect(partial.results[i].distances).toEqual(keep.map((x) => x.d));
    });
    const viaHttp = await post(`${nodes.s0b.url}/v1/indexes/words/query`, { vector: queries[0], k: K, allowPartial: true });
    expect(viaHttp).toMatchObject({ status: 200, body: { partial: true, missingShards: [2] } });
    expect(Date.now() - started).toBeLessThan(2000);
    nodes.s2 = await serve('s2', '2');
  });

  it('a server of another build of the same index is refused at join; a shard the manifest lacks is an error', async () => {
    const other = join(root, 'other.shards');
    build(other, 7);
    const [wrongSet, noShard, plainShard] = await Promise.all([
      cliAsync(['serve', `words=${other}`, '--shard', '1', '--port', '0', '--nats', nats.url]),
      cliAsync(['serve', `words=${dir}`, '--shard', '5', '--port', '0', '--nats', nats.url]),
      cliAsync(['serve', `words=${join(other, sharded.manifest.shards[0].file)}`, '--shard', '0', '--port', '0', '--nats', nats.url]),
    ]);
    expect(wrongSet.code).toBe(1);
    expect(wrongSet.stderr).toMatch(/^annoy-ts: cannot join the cluster with index "words" shard 1: (all|s\d\w*) serves its shard \d with set crc32:[0-9a-f]{8}, this one crc32:[0-9a-f]{8}/);
    expect(noShard.code).toBe(1);
    expect(noShard.stderr).toMatch(/--shard 5: "5" is not a shard of .*words\.shards \(its manifest lists 3 shards: 0 … 2\)/);
    expect(plainShard.code).toBe(1);
    expect(plainShard.stderr).toMatch(/--shard 0: no INDEX is a sharded index folder/);
  });

  it('a rebuilt set rolls out by SIGHUP shard by shard: answers name their set; consistent queries refuse a mixed set, then follow the new one', async () => {
    const before = (await client.status()).indexes[0].sets[0];
    build(dir, 3); // a new build in the same folder: new shard files, then the new manifest
    const fresh = ShardedIndex.open(dir);
    try {
      nodes.s0a = await serve('s0a', '0'); // a server started now joins with the new build… and is refused: the others serve the old set
      throw new Error('s0a should have been refused');
    } catch (e) {
      expect((e as Error).message).toMatch(/s0a exited with 1: annoy-ts: cannot join the cluster with index "words" shard 0: .* set crc32/);
    }
    try {
      nodes.s0b.child.kill('SIGHUP');
      await until('s0b swapped', async () => /generation 2 serving/.test(nodes.s0b.stderr()));
      const mixed = await client.search('words', [{ vector: queries[0] }], K);
      const sets = new Set(mixed.shards.map((s) => s.set));
      expect(sets.size).toBe(2);
      expect(mixed.shards[1].set).toBe(before);
      await expect(client.search('words', [{ vector: queries[0] }], K, -1, { consistent: true, timeoutMs: 1500 })).rejects.toMatchObject({ code: 'inconsistent_set' });
      for (const n of [nodes.s1, nodes.s2]) n.child.kill('SIGHUP');
      await until('every shard serves the new set', async () => /generation 2 serving/.test(nodes.s1.stderr()) && /generation 2 serving/.test(nodes.s2.stderr()));
      const answer = await client.search('words', [{ vector: queries[1] }, { item: 1700 }], K, -1, { consistent: true });
      expect(new Set(answer.shards.map((s) => s.set)).size).toBe(1);
      expect(answer.shards[0].set).not.toBe(before);
      expect(answer.results.map((r) => r.ids)).toEqual([fresh.getNnsByVector(queries[1], K), fresh.getNnsByItem(1700, K)]);
    } finally {
      await fresh.close();
    }
  });
});
