// Sharded indexes with neighbour graphs (issue 15): ShardedIndexBuilder({ graph }) builds each
// shard's graph and writes it beside the shard (<shard>.ann.graph), listed in the manifest with its
// length and checksum; ShardedIndex.open checks and attaches them (queries walk them); a set built
// without graphs lists none; a damaged graph is refused naming the shard; bad options fail early.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, crc32, parseManifest, ShardedIndex, ShardedIndexBuilder, type ShardManifest,
} from '../../packages/annoy-ts/src/node/index.ts';
import { bruteForce, recall } from '../helpers/exact.ts';
import { randomRows } from '../helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'annoy-ts-shards-graph-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const F = 12;
const N = 3000;
const ROWS = randomRows(N, F, 21);
const QUERIES = randomRows(40, F, 22);

function build(name: string, graph: boolean): { dir: string; manifest: ShardManifest } {
  const dir = join(root, name);
  const builder = new ShardedIndexBuilder(dir, F, 'euclidean', { nTrees: 4, maxShardItems: 1000, seed: 5, ...(graph ? { graph: true } : {}) });
  ROWS.forEach((r, i) => builder.addItem(i, r));
  return { dir, manifest: builder.finish() };
}

describe('ShardedIndexBuilder({ graph })', () => {
  const withGraphs = build('graphs', true);
  const plain = build('plain', false);

  it('writes one graph per shard, named for it, listed with its length and checksum', () => {
    const { dir, manifest } = withGraphs;
    expect(manifest.shards).toHaveLength(3);
    for (const s of manifest.shards) {
      expect(s.graph).toBeDefined();
      expect(s.graph!.file).toBe(`${s.file}.graph`);
      const bytes = readFileSync(join(dir, s.graph!.file));
      expect(bytes.length).toBe(s.graph!.byteLength);
      expect(s.graph!.checksum).toBe(`crc32:${crc32(bytes).toString(16).padStart(8, '0')}`);
      // The shard file itself is what a build without graphs writes.
      const twin = plain.manifest.shards.find((p) => p.firstId === s.firstId)!;
      expect(Buffer.compare(readFileSync(join(dir, s.file)), readFileSync(join(plain.dir, twin.file)))).toBe(0);
      // And the graph belongs to it: open() attaches it.
      expect(AnnoyIndex.open(join(dir, s.file)).hasGraph()).toBe(true);
    }
    for (const s of plain.manifest.shards) expect(s.graph).toBeUndefined();
    // The manifest round-trips with its graph entries.
    const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
    expect(parseManifest(text, 'manifest.json').shards.map((s) => s.graph)).toEqual(manifest.shards.map((s) => s.graph));
  });

  it('opened, its queries walk the shards\' graphs: recall against exact search, above the trees alone at the same searchK', () => {
    const items = new Map(ROWS.map((r, i) => [i, r] as const));
    const score = (index: ShardedIndex, searchK: number) => QUERIES.reduce((sum, q) => {
      const got = index.getNnsByVector(q, 10, { searchK, includeDistances: true });
      for (const id of got.ids) expect(id >= 0 && id < N).toBe(true);
      return sum + recall(got.ids, bruteForce('euclidean', items, q, 10).ids);
    }, 0) / QUERIES.length;
    const graphs = ShardedIndex.open(withGraphs.dir);
    const trees = ShardedIndex.open(plain.dir);
    const viaGraph = score(graphs, 200);
    expect(viaGraph).toBeGreaterThan(0.9);
    expect(viaGraph).toBeGreaterThan(score(trees, 200));
  });

  it('a damaged graph is refused when the set is opened, naming the shard and the file', () => {
    const dir = join(root, 'damaged');
    build('damaged', true);
    const manifest = parseManifest(readFileSync(join(dir, 'manifest.json'), 'utf8'), 'manifest.json');
    const file = join(dir, manifest.shards[2].graph!.file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0x01;
    writeFileSync(file, bytes);
    expect(() => ShardedIndex.open(dir)).toThrow(AnnoyFormatError);
    expect(() => ShardedIndex.open(dir)).toThrow(/shard 2 of 3 .*graph/);
  });

  it('bad graph options fail when the builder is made; a manifest graph named for another file is refused', () => {
    expect(() => new ShardedIndexBuilder(join(root, 'bad'), F, 'euclidean', { nTrees: 2, graph: { degree: 0 } })).toThrow(AnnoyArgumentError);
    expect(() => new ShardedIndexBuilder(join(root, 'bad2'), F, 'euclidean', { nTrees: 2, graph: { nonsense: 1 } as never })).toThrow(/unknown graph option/);
    const manifest = JSON.parse(readFileSync(join(withGraphs.dir, 'manifest.json'), 'utf8')) as { shards: { file: string; graph: { file: string } }[] };
    manifest.shards[0].graph.file = manifest.shards[1].graph.file;
    expect(() => parseManifest(JSON.stringify(manifest), 'manifest.json')).toThrow(/not named like the graph file of shard 0/);
    // Named like shard 0's graph but not the file beside its .ann (which is the one opening attaches).
    manifest.shards[0].graph.file = `${manifest.shards[0].file.replace('shard-', 'shard-0')}.graph`;
    expect(() => parseManifest(JSON.stringify(manifest), 'manifest.json')).toThrow(/graph\.file .* is not the shard's/);
  });
});
