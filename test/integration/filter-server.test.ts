// The server's query endpoints with "filter" ({"ids": [...]} / {"labels": [...]}) and
// "maxDistance", in-process on a loopback port (worker-pool and event-loop search): answers equal
// the library's, limits and bad input give 4xx errors naming the problem, the OpenAPI document says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { startServer, type AnnoyServer } from '../../packages/cli/src/server/index.ts';
import { randomRows } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-filter-serve-'));
const at = (name: string) => join(dir, name);

const F = 8;
const ROWS = randomRows(500, F, 21);
const ALLOWED = [2, 4, 8, 16, 32, 64, 128, 256, 300, 301, 302, 499];

let reference: AnnoyIndex;
let workers: AnnoyServer;
let main: AnnoyServer;

beforeAll(async () => {
  reference = new AnnoyIndex(F, 'euclidean');
  ROWS.forEach((r, i) => reference.addItem(i, r));
  reference.setSeed(5);
  reference.build(6);
  writeFileSync(at('words.ann.labels.json'), JSON.stringify(ROWS.map((_, i) => `w${i}`)));
  reference.save(at('words.ann'), { labels: 'words.ann.labels.json' });
  reference.save(at('plain.ann'));
  const indexes = [{ name: 'words', path: at('words.ann') }, { name: 'plain', path: at('plain.ann') }];
  const limits = { maxK: 100, maxFilterIds: 20 };
  [workers, main] = await Promise.all([startServer({ indexes, port: 0, limits }), startServer({ indexes, port: 0, limits, search: 'main' })]);
});

afterAll(async () => {
  await workers?.close();
  await main?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(s: AnnoyServer, path: string, body: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

const round = (x: number) => (Number.isInteger(x) ? x : Number(x.toPrecision(9)));

describe.each([['worker pool', () => workers], ['event loop', () => main]])('filtered queries (%s)', (_, server) => {
  it('"filter": {"ids"} and {"labels"} return only those items, as the library does', async () => {
    const vector = ROWS[10].map((x) => x + 0.01);
    const want = reference.getNnsByVector(vector, 5, { filter: ALLOWED, includeDistances: true });
    const byIds = await post(server(), '/v1/indexes/words/query', { vector, k: 5, filter: { ids: ALLOWED } });
    expect(byIds.status, JSON.stringify(byIds.body)).toBe(200);
    expect(byIds.body.ids).toEqual(want.ids);
    expect(byIds.body.distances).toEqual(want.distances.map(round));
    expect(byIds.body.labels).toEqual(want.ids.map((id) => `w${id}`));
    const byLabels = await post(server(), '/v1/indexes/words/query', { vector, k: 5, filter: { labels: ALLOWED.map((i) => `w${i}`) } });
    expect(byLabels.body.ids).toEqual(want.ids);
    const item = await post(server(), '/v1/indexes/plain/query', { item: 300, k: 3, searchK: 50, filter: { ids: ALLOWED } });
    expect(item.body.ids).toEqual(reference.getNnsByItem(300, 3, { filter: ALLOWED, searchK: 50 }));
    const nothing = await post(server(), '/v1/indexes/plain/query', { item: 300, filter: { ids: [] } });
    expect(nothing.body).toMatchObject({ ids: [], distances: [] });
  });

  it('a batch\'s filter and maxDistance apply to all its queries', async () => {
    const queries = [{ item: 1 }, { vector: ROWS[2] }, { label: 'w3' }];
    const r = await post(server(), '/v1/indexes/words/query/batch', { queries, k: 4, filter: { ids: ALLOWED }, maxDistance: 1.2 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const options = { filter: ALLOWED, maxDistance: 1.2 };
    expect(r.body.results.map((x: { ids: number[] }) => x.ids)).toEqual([
      reference.getNnsByItem(1, 4, options), reference.getNnsByVector(ROWS[2], 4, options), reference.getNnsByItem(3, 4, options),
    ]);
  });

  it('"maxDistance": at most k items within it, nearest first', async () => {
    const r0 = reference.getNnsByItem(7, 30, { searchK: Infinity, includeDistances: true }).distances[19];
    const r = await post(server(), '/v1/indexes/plain/query', { item: 7, k: 100, searchK: 5000, maxDistance: r0 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.ids).toEqual(reference.getNnsByItem(7, 100, { searchK: 5000, maxDistance: r0 }));
    expect(r.body.distances.every((d: number) => d <= r0 * (1 + 1e-8))).toBe(true);
  });
});

describe('bad filters and radii: 4xx errors naming the problem', () => {
  const q = (body: unknown, name = 'words') => post(workers, `/v1/indexes/${name}/query`, body);

  it('each case', async () => {
    const cases: [unknown, number, string, RegExp][] = [
      [{ item: 1, filter: { ids: [1, 700] } }, 404, 'unknown_item', /filter\.ids\[1\]: item 700 does not exist: index "words" has items 0 … 499/],
      [{ item: 1, filter: { labels: ['w1', 'nope'] } }, 404, 'unknown_label', /filter\.labels\[1\] "nope": no item of index "words" has this label/],
      [{ item: 1, filter: { ids: [1], labels: ['w1'] } }, 400, 'invalid_request', /filter/],
      [{ item: 1, filter: {} }, 400, 'invalid_request', /filter/],
      [{ item: 1, filter: [1, 2] }, 400, 'invalid_request', /filter/],
      [{ item: 1, filter: { ids: [1.5] } }, 400, 'invalid_request', /filter\.ids/],
      [{ item: 1, filter: { ids: [-1] } }, 400, 'invalid_request', /filter\.ids/],
      [{ item: 1, filter: { ids: Array.from({ length: 21 }, (_, i) => i) } }, 400, 'invalid_request', /filter\.ids/],
      [{ item: 1, maxDistance: -0.5 }, 400, 'invalid_argument', /maxDistance must not be negative \(euclidean distances are ≥ 0\), got -0\.5/],
      [{ item: 1, maxDistance: 'near' }, 400, 'invalid_request', /maxDistance/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await q(body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      expect(r.body.error, JSON.stringify(r.body)).toBe(code);
      expect(r.body.message).toMatch(message);
    }
    const noLabels = await q({ item: 1, filter: { labels: ['w1'] } }, 'plain');
    expect(noLabels.status).toBe(400);
    expect(noLabels.body).toMatchObject({ error: 'no_labels', message: 'filter.labels: index "plain" has no labels (filter by "ids" instead)' });
    // Still serving.
    expect((await q({ item: 1, k: 2 })).body.ids).toEqual(reference.getNnsByItem(1, 2));
  });

  it('the OpenAPI document describes filter, maxDistance and the id-list limit', async () => {
    const doc = await (await fetch(`${workers.url}/openapi.json`)).json();
    const props = doc.paths['/v1/indexes/{name}/query'].post.requestBody.content['application/json'].schema.properties;
    expect(props.filter.properties.ids.maxItems).toBe(20);
    expect(props.filter.properties.labels.maxItems).toBe(20);
    expect(props.maxDistance.type).toBe('number');
    expect(doc.info.description).toMatch(/≤ 20 ids or labels in a filter/);
  });
});
