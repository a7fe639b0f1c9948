// Sharded indexes on the command line and in the server: `annoy-ts build --shards/--max-shard-bytes`
// writes a folder that query, info, eval and serve take; a rebuild in place is picked up by
// serve --watch as one swap of the whole set, and answers never mix the two sets.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardedIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { startServer } from '../../packages/cli/src/server/index.ts';
import { loadGlove } from '../../datasets/glove.ts';
import { cli } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'annoy-ts-shards-cli-'));
const at = (name: string) => join(work, name);
afterAll(() => rmSync(work, { recursive: true, force: true }));

let words: string[] = [];
beforeAll(async () => {
  // GloVe words as a word-vector text file ("word v1 … v100"): labels come with it.
  const glove = await loadGlove({ quiet: true });
  const lines: string[] = [];
  for (let i = 0; i < 2400; i++) {
    const r = i * 41;
    words.push(glove.words[r]);
    lines.push(`${glove.words[r]} ${Array.from(glove.vectors.subarray(r * 100, (r + 1) * 100), (x) => x.toPrecision(7)).join(' ')}`);
  }
  writeFileSync(at('words.txt'), lines.join('\n') + '\n');
  writeFileSync(at('fewer.txt'), lines.slice(0, 1500).reverse().join('\n') + '\n');
});

function ok(args: string[]): string {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`annoy-ts ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function fails(args: string[], pattern: RegExp): void {
  const r = cli(args);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(pattern);
}

describe('annoy-ts build/query/info/eval with a sharded folder', () => {
  it('build --shards 4 writes a folder that query, info and eval take', () => {
    const dir = at('words');
    expect(ok(['build', at('words.txt'), '-o', dir, '--metric', 'angular', '--shards', '4', '--seed', '5', '--trees', '8']))
      .toMatch(/built .*words: 2,400 items in 4 shards, f = 100, angular, 8 trees each/);
    const index = ShardedIndex.open(dir);
    expect(index.manifest.shards.map((s) => s.nItems)).toEqual([600, 600, 600, 600]);
    expect(index.manifest.labels).toMatch(/^labels-[0-9a-f]{8}\.labels\.json$/);

    const info = ok(['info', dir]);
    expect(info).toMatch(/4 shards/);
    expect(info).toMatch(/every shard matches \(size and CRC-32/);
    expect(info).toMatch(/labels .*2,400 labels/);
    const json = JSON.parse(ok(['info', dir, '--json']));
    expect(json).toMatchObject({ sharded: true, f: 100, metric: 'angular', nItems: 2400, count: 2400, nTrees: 8 });
    expect(json.shards).toHaveLength(4);

    const word = words[1234];
    const answer = JSON.parse(ok(['query', dir, '--label', word, '-k', '7', '--json']));
    const want = index.getNnsByItem(1234, 7, -1, true);
    expect(answer.ids).toEqual(want.ids);
    expect(answer.labels).toEqual(want.ids.map((id) => words[id]));
    const byVector = JSON.parse(ok(['query', dir, '--vector', JSON.stringify(index.getItemVector(99)), '-k', '5', '--search-k', 'all', '--json']));
    expect(byVector.ids).toEqual(index.getNnsByVector(index.getItemVector(99), 5, Infinity));

    const evaluated = JSON.parse(ok(['eval', dir, '--search-k', '-1,all', '--sample', '30', '--min-time', '0', '--json']));
    expect(evaluated.results.find((r: { searchK: unknown }) => r.searchK === 'all').recall).toBe(1);
    expect(ok(['eval', dir, '--sample', '10', '--min-time', '0'])).toMatch(/8 trees per shard, 4 shards \(search_k per shard\)/);
  });

  it('build --max-shard-bytes keeps every shard below the limit', () => {
    const dir = at('small-shards');
    ok(['build', at('words.txt'), '-o', dir, '--metric', 'euclidean', '--max-shard-bytes', '300K', '-q']);
    const index = ShardedIndex.open(dir);
    expect(index.getNShards()).toBeGreaterThanOrEqual(4);
    for (const s of index.manifest.shards) expect(s.byteLength).toBeLessThanOrEqual(300 * 1024);
    expect(index.size).toBe(2400);
  });

  it('refuses bad requests with one clear line', () => {
    ok(['build', at('words.txt'), '-o', at('plain.ann'), '--metric', 'angular', '-q']);
    fails(['build', at('words.txt'), '-o', at('plain.ann'), '--metric', 'angular', '--shards', '2'], /cannot write a sharded index to .*plain\.ann: it is a file/);
    fails(['build', at('words.txt'), '-o', at('words'), '--metric', 'angular'], /it is a folder \(pass --shards or --max-shard-bytes/);
    fails(['build', at('words.txt'), '-o', at('x'), '--metric', 'angular', '--max-shard-bytes', '12x'], /--max-shard-bytes must be a size in bytes/);
    fails(['build', at('words.txt'), '-o', at('x'), '--metric', 'angular', '--shards', '0'], /--shards must be at least 1/);
    fails(['query', at('words'), '--item', '1', '--f', '50'], /--f 50 was given, but .* holds a sharded index with f = 100/);
    fails(['query', at('words'), '--item', '2400'], /--item 2400: .* has items 0 … 2399/);
    const broken = at('broken');
    cpSync(at('words'), broken, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(broken, 'manifest.json'), 'utf8'));
    rmSync(join(broken, manifest.shards[2].file));
    fails(['query', broken, '--item', '1'], new RegExp(`shard 2 of 4 .*${manifest.shards[2].file}.* is missing`));
    fails(['info', broken], /shard 2 of 4 .* is missing/);
  });
});

describe('annoy-ts serve with a sharded folder', () => {
  it('serves it; a rebuild in place swaps the whole set at once (--watch); a broken set is refused', async () => {
    const dir = at('served');
    ok(['build', at('words.txt'), '-o', dir, '--metric', 'angular', '--shards', '3', '--seed', '1', '-q']);
    const expectations = (): Map<string, unknown> => {
      const index = ShardedIndex.open(dir);
      const labels = JSON.parse(readFileSync(join(dir, index.manifest.labels!), 'utf8')) as string[];
      const id = labels.indexOf(words[10]);
      const r = index.getNnsByItem(id, 6, -1, true);
      return new Map([[index.manifest.build, { ids: r.ids, labels: r.ids.map((i) => labels[i]) }]]);
    };
    const expected = expectations();
    const server = await startServer({ indexes: [{ name: 'words', path: dir }], port: 0, watch: true });
    const failures: string[] = [];
    let stop = false;
    const seen = new Set<number>();
    const builds = new Map<number, string>();
    const client = async () => {
      while (!stop) {
        const r = await fetch(`${server.url}/v1/indexes/words/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: words[10], k: 6 }) });
        const body = await r.json() as { generation: number; ids: number[]; labels: string[] };
        if (r.status !== 200) {
          failures.push(`${r.status} ${JSON.stringify(body)}`);
          continue;
        }
        seen.add(body.generation);
        const want = expected.get(builds.get(body.generation)!);
        if (want && JSON.stringify({ ids: body.ids, labels: body.labels }) !== JSON.stringify(want)) failures.push(`generation ${body.generation}: ${JSON.stringify(body)}`);
      }
    };
    try {
      builds.set(1, [...expected.keys()][0]);
      const info = await (await fetch(`${server.url}/v1/indexes/words`)).json();
      expect(info).toMatchObject({ f: 100, metric: 'angular', items: 2400, generation: 1, labels: true });
      const clients = [client(), client(), client()];
      await new Promise((r) => setTimeout(r, 300));
      // Rebuild in place: other words, other order, other shard count (the labels file is renamed too).
      ok(['build', at('fewer.txt'), '-o', dir, '--metric', 'angular', '--shards', '2', '--seed', '2', '-q']);
      for (const [build, answer] of expectations()) {
        expected.set(build, answer);
        builds.set(2, build);
      }
      const deadline = Date.now() + 30_000;
      while ((await (await fetch(`${server.url}/v1/indexes/words`)).json() as { generation: number }).generation < 2) {
        if (Date.now() > deadline) throw new Error('the rebuilt set was not picked up');
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(clients);
      expect(failures).toEqual([]);
      expect([...seen].sort()).toEqual([1, 2]);
      expect(await (await fetch(`${server.url}/v1/indexes/words`)).json()).toMatchObject({ items: 1500, generation: 2 });
      // A broken set (a shard missing) is refused; the current one keeps serving.
      const broken = at('served-broken');
      cpSync(dir, broken, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(broken, 'manifest.json'), 'utf8'));
      rmSync(join(broken, manifest.shards[1].file));
      await expect(server.reload('words', broken)).rejects.toThrow(/shard 1 of 2 .* is missing/);
      const after = await (await fetch(`${server.url}/v1/indexes/words/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: words[10], k: 6 }) })).json();
      expect(after.generation).toBe(2);
    } finally {
      stop = true;
      await server.close();
    }
  });
});
