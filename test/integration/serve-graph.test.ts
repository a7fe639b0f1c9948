// annoy-ts serve with neighbour graphs (issue 15): an index whose INDEX.graph belongs is served
// through the graph (answers equal the library's with the graph attached), /v1/indexes shows the
// graph, hot swaps carry it (a swapped-in file brings its own graph, or none), and a graph that does
// not belong is refused — the reload fails naming the file and the old generation keeps serving.
// Both loaders: the loading thread (shared memory) and the event-loop fallback.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { startServer, type AnnoyServer } from '../../packages/cli/src/server/index.ts';
import { randomRows } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-serve-graph-'));
const at = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const F = 10;
const N = 2500;
const K = 10;
const QUERY = randomRows(1, F, 77)[0];

function writeIndex(name: string, seed: number, graph: boolean): void {
  const index = new AnnoyIndex(F, 'euclidean');
  randomRows(N, F, seed).forEach((r, i) => index.addItem(i, r));
  index.setSeed(seed);
  index.build(4, 1, graph ? { graph: true } : {});
  index.save(at(`${name}.ann`));
  index.unload();
}

/** What the library answers for `file` (its graph attached when `graph`), rounded as the server rounds. */
function expected(file: string, graph: boolean, searchK: number): { ids: number[] } {
  const index = AnnoyIndex.open(at(file), { graph });
  const r = index.getNnsByVector(QUERY, K, searchK, true);
  index.unload();
  return { ids: r.ids };
}

beforeAll(() => {
  writeIndex('a', 1, true);
  writeIndex('b', 2, true);
  writeIndex('plain', 3, false);
  // plain's bytes beside a's graph: a graph that does not belong.
  copyFileSync(at('plain.ann'), at('stale.ann'));
  copyFileSync(at('plain.ann.json'), at('stale.ann.json'));
  copyFileSync(at('a.ann.graph'), at('stale.ann.graph'));
  // Otherwise an answer from the trees alone could pass for one through the graph.
  expect(expected('a.ann', true, 200).ids).not.toEqual(expected('a.ann', false, 200).ids);
});

async function json(server: AnnoyServer, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(server.url + path, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

describe.each([true, false])('serve with graphs (loading thread: %s)', (inWorker) => {
  it('serves through the graph, shows it, carries graphs across hot swaps, refuses one that does not belong', async () => {
    const server = await startServer({ indexes: [{ name: 'g', path: at('a.ann') }], port: 0, load: { inWorker } });
    try {
      const info = await json(server, '/v1/indexes/g');
      expect(info.status).toBe(200);
      expect(info.body.graph).toMatchObject({ path: at('a.ann.graph'), maxDegree: expect.any(Number), edges: expect.any(Number) });
      expect(info.body.graph.edges).toBeGreaterThan(N);
      const list = await json(server, '/v1/indexes');
      expect(JSON.stringify(list.body)).toContain('"graph":{');

      for (const searchK of [-1, 200]) {
        const r = await json(server, '/v1/indexes/g/query', { vector: QUERY, k: K, searchK });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.ids).toEqual(expected('a.ann', true, searchK).ids);
      }

      // Swap to b: its own graph comes with it.
      let reload = await json(server, '/v1/indexes/g/reload', { path: at('b.ann') });
      expect(reload.status, JSON.stringify(reload.body)).toBe(200);
      expect((await json(server, '/v1/indexes/g')).body.graph.path).toBe(at('b.ann.graph'));
      expect((await json(server, '/v1/indexes/g/query', { vector: QUERY, k: K, searchK: 200 })).body.ids).toEqual(expected('b.ann', true, 200).ids);

      // A file whose graph does not belong: the reload fails naming the graph file; b keeps serving.
      reload = await json(server, '/v1/indexes/g/reload', { path: at('stale.ann') });
      expect(reload.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(reload.body)).toMatch(/stale\.ann\.graph: .*belongs to/);
      const still = await json(server, '/v1/indexes/g');
      expect(still.body.path).toBe(at('b.ann'));
      expect(still.body.graph.path).toBe(at('b.ann.graph'));

      // Swap to an index without a graph: none is shown, answers are the trees'.
      reload = await json(server, '/v1/indexes/g/reload', { path: at('plain.ann') });
      expect(reload.status, JSON.stringify(reload.body)).toBe(200);
      expect((await json(server, '/v1/indexes/g')).body.graph).toBeNull();
      expect((await json(server, '/v1/indexes/g/query', { vector: QUERY, k: K, searchK: 200 })).body.ids).toEqual(expected('plain.ann', false, 200).ids);
    } finally {
      await server.close();
    }
  });
});
