// The neighbour graph on the command line (issue 15), run as real child processes on real files:
// build --graph writes INDEX.graph beside an INDEX that is byte for byte the one built without it;
// info describes the graph and whether it belongs; eval compares the graph with the trees alone;
// a graph that belongs to other index bytes is never used; sharded builds carry one graph per shard.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, cliEntry, fbin, randomRows } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-cli-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

const F = 12;
const ROWS = randomRows(2000, F, 15);

beforeAll(async () => {
  cliEntry();
  writeFileSync(at('vectors.fbin'), fbin(ROWS));
  writeFileSync(at('other.fbin'), fbin(randomRows(2000, F, 16)));
  const common = ['-m', 'euclidean', '-t', '8', '--seed', '3'];
  const runs = await Promise.all([
    cliAsync(['build', at('vectors.fbin'), '-o', at('g.ann'), ...common, '--graph']),
    cliAsync(['build', at('vectors.fbin'), '-o', at('plain.ann'), ...common, '-q']),
    cliAsync(['build', at('vectors.fbin'), '-o', at('d8.ann'), ...common, '--graph-degree', '8', '-q']),
    cliAsync(['build', at('other.fbin'), '-o', at('other.ann'), ...common, '--graph', '-q']),
  ]);
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  expect(runs[0].stdout).toMatch(/^graph .*g\.ann\.graph: .* built in [\d.]+ s$/m);
});

describe('annoy-ts build --graph', () => {
  it('writes INDEX.graph and leaves INDEX byte for byte what a build without --graph writes', () => {
    expect(existsSync(at('g.ann.graph'))).toBe(true);
    expect(existsSync(at('plain.ann.graph'))).toBe(false);
    expect(Buffer.compare(readFileSync(at('g.ann')), readFileSync(at('plain.ann')))).toBe(0);
    expect(readFileSync(at('g.ann.graph')).subarray(0, 8).toString('latin1')).toBe('ATSGRAPH');
  });

  it('--graph-degree bounds the degree; a bad value is a usage error', () => {
    const info = JSON.parse(cli(['info', at('d8.ann'), '--json']).stdout) as { graph: { maxDegree: number } };
    expect(info.graph.maxDegree).toBeLessThanOrEqual(8);
    const bad = cli(['build', at('vectors.fbin'), '-o', at('bad.ann'), '-m', 'euclidean', '--graph-degree', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--graph-degree must be an integer/);
  });
});

describe('annoy-ts info', () => {
  it('describes an attached graph: edges, degree, size, and that it belongs', () => {
    const text = cli(['info', at('g.ann')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/graph\s+.*g\.ann\.graph: [\d,]+ edges, degree ≤ 32 \([\d.]+ on average\), .*; belongs to these index bytes/);
    const json = JSON.parse(cli(['info', at('g.ann'), '--json']).stdout) as { nItems: number; graph: Record<string, number | boolean | string> };
    expect(json.graph).toMatchObject({ belongs: true, version: 1, byteLength: readFileSync(at('g.ann.graph')).length });
    expect(json.graph.edges).toBeGreaterThan(json.nItems);
    expect(JSON.parse(cli(['info', at('plain.ann'), '--json']).stdout).graph).toBeNull();
    expect(cli(['info', at('plain.ann')]).stdout).toMatch(/graph\s+none \(annoy-ts build --graph writes plain\.ann\.graph\)/);
  });

  it('a graph of other index bytes is shown as not used, with the reason; query refuses it naming the file', () => {
    copyFileSync(at('plain.ann'), at('stale.ann'));
    copyFileSync(at('plain.ann.json'), at('stale.ann.json'));
    copyFileSync(at('other.ann.graph'), at('stale.ann.graph'));
    const info = cli(['info', at('stale.ann')]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/graph\s+.*stale\.ann\.graph: .*NOT USED: it belongs to (other index bytes|a \d+-byte index file)/);
    const json = JSON.parse(cli(['info', at('stale.ann'), '--json']).stdout) as { graph: { belongs: boolean; problem: string } };
    expect(json.graph.belongs).toBe(false);
    expect(json.graph.problem).toMatch(/rebuilt or replaced after the graph was saved/);
    const query = cli(['query', at('stale.ann'), '--item', '0', '-k', '3']);
    expect(query.code).toBe(1);
    expect(query.stderr).toMatch(/^annoy-ts: .*stale\.ann\.graph: .*\n$/);
  });
});

describe('annoy-ts eval with a graph', () => {
  it('measures every search_k through the graph and with the trees alone, against the same exact answers', () => {
    const r = cli(['eval', at('g.ann'), '--search-k', '-1,400', '--sample', '50', '--min-time', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { graph: boolean; results: { method: string; searchK: number; recall: number; qps: number }[] };
    expect(out.graph).toBe(true);
    expect(out.results.map((x) => `${x.method} ${x.searchK}`)).toEqual(['graph -1', 'trees -1', 'graph 400', 'trees 400']);
    // The items are their own queries: the graph finds them and their neighbours.
    for (const row of out.results.filter((x) => x.method === 'graph')) expect(row.recall).toBeGreaterThan(0.9);
    for (const row of out.results) expect(row.qps).toBeGreaterThan(0);
    const text = cli(['eval', at('g.ann'), '--search-k', '400', '--sample', '20', '--min-time', '0']).stdout;
    expect(text).toMatch(/method\s+search_k\s+recall@10\s+queries\/s\s+ms\/query\s+graph vs trees/);
    expect(text).toMatch(/trees\s+400\s+[\d.]+\s+[\d,]+\s+[\d.]+\s+[\d.]+× the queries\/s/);
  });

  it('--no-graph measures the trees alone; an index without a graph has one row per search_k', () => {
    const alone = JSON.parse(cli(['eval', at('g.ann'), '--no-graph', '--sample', '20', '--min-time', '0', '--json']).stdout) as { graph?: boolean; results: object[] };
    expect(alone.graph).toBeUndefined();
    expect(alone.results).toHaveLength(1);
    const plain = JSON.parse(cli(['eval', at('plain.ann'), '--sample', '20', '--min-time', '0', '--json']).stdout) as { results: object[] };
    expect(plain.results).toHaveLength(1);
    expect(plain.results[0]).not.toHaveProperty('method');
  });
});

describe('sharded builds with graphs', () => {
  it('build --shards N --graph writes one graph per shard, listed in the manifest; info and query use them', () => {
    const out = at('sharded');
    const b = cli(['build', at('vectors.fbin'), '-o', out, '-m', 'euclidean', '-t', '5', '--shards', '2', '--graph', '-q']);
    expect(b.code, b.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { shards: { file: string; graph?: { file: string; byteLength: number } }[] };
    expect(manifest.shards).toHaveLength(2);
    for (const s of manifest.shards) {
      expect(s.graph?.file).toBe(`${s.file}.graph`);
      expect(readFileSync(join(out, s.graph!.file)).length).toBe(s.graph!.byteLength);
    }
    const info = cli(['info', out]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/graph\s+2 of 2 shards have a neighbour graph/);
    const q = cli(['query', out, '--item', '1500', '-k', '3', '--json']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toContain('1500');
    // A damaged shard graph is refused when the set is opened, naming the shard and the file.
    const graphFile = join(out, manifest.shards[1].graph!.file);
    const bytes = readFileSync(graphFile);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(graphFile, bytes);
    const damaged = cli(['query', out, '--item', '0', '-k', '3']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/shard 1 of 2 .*graph/);
  });
});
