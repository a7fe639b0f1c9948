// annoy-ts serve, in-process: the real Fastify server on a loopback port, every endpoint, and
// every kind of bad request (a 4xx JSON error naming the problem, never a 500).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { isLoopback, startServer, type AnnoyServer } from '../../packages/cli/src/server/index.ts';
import { randomRows } from '../helpers/cli.ts';
import { loadIndex } from '../../packages/cli/src/server/loader.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-serve-'));
const at = (name: string) => join(dir, name);

const F = 8;
const N = 300;
const ROWS = randomRows(N, F, 11);
const ANGULAR = randomRows(200, 5, 12);

let server: AnnoyServer;
let locked: AnnoyServer;
let reference: AnnoyIndex;

beforeAll(async () => {
  reference = new AnnoyIndex(F, 'euclidean');
  ROWS.forEach((r, i) => reference.addItem(i, r));
  reference.setSeed(3);
  reference.build(8);
  writeFileSync(at('words.ann.labels.json'), JSON.stringify(ROWS.map((_, i) => (i === 7 ? null : `w${i}`))));
  reference.save(at('words.ann'), { labels: 'words.ann.labels.json', metadata: { corpus: 'test' } });
  const plain = new AnnoyIndex(5, 'angular');
  ANGULAR.forEach((r, i) => plain.addItem(i, r));
  plain.build(4);
  plain.save(at('plain.ann'));
  server = await startServer({
    indexes: [{ name: 'words', path: at('words.ann') }, { name: 'plain', path: at('plain.ann') }],
    port: 0, limits: { maxK: 50, maxSearchK: 5000, maxBatch: 20, maxBodyBytes: 4096 },
  });
  locked = await startServer({ indexes: [{ name: 'words', path: at('words.ann') }], port: 0, token: 's3cret', search: 'main' });
});

afterAll(async () => {
  await server?.close();
  await locked?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

async function call(s: AnnoyServer, method: string, path: string, body?: unknown, init: { raw?: string; type?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const hasBody = body !== undefined || init.raw !== undefined;
  const r = await fetch(s.url + path, {
    method,
    headers: { ...(hasBody ? { 'content-type': init.type ?? 'application/json' } : {}), ...init.headers },
    body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await r.text();
  let parsed: unknown = text;
  if ((r.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: r.status, body: parsed, headers: r.headers };
}

const query = (body: unknown, name = 'words') => call(server, 'POST', `/v1/indexes/${name}/query`, body);

describe('endpoints', () => {
  it('GET /health', async () => {
    const r = await call(server, 'GET', '/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', indexes: 2 });
  });

  it('listens on loopback by default', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0') || isLoopback('192.168.1.2') || isLoopback('::')).toBe(false);
  });

  it('GET /v1/indexes and /v1/indexes/{name}', async () => {
    const r = await call(server, 'GET', '/v1/indexes');
    expect(r.status).toBe(200);
    expect(r.body.indexes.map((i: { name: string }) => i.name)).toEqual(['words', 'plain']);
    expect(r.body.indexes[0]).toMatchObject({
      name: 'words', f: F, metric: 'euclidean', items: N, trees: 8, generation: 1, labels: true,
      path: at('words.ann'), metadata: { corpus: 'test' }, draining: 0, lastReload: null,
    });
    expect(r.body.indexes[0].checksum).toMatch(/^crc32:[0-9a-f]{8}$/);
    expect(r.body.indexes[1]).toMatchObject({ name: 'plain', f: 5, metric: 'angular', items: 200, labels: false, metadata: null });
    const one = await call(server, 'GET', '/v1/indexes/plain');
    expect(one.body).toEqual(r.body.indexes[1]);
  });

  it('query by vector, item and label: the same answers as the library', async () => {
    const v = ROWS[42].map((x) => x + 0.01);
    const expected = reference.getNnsByVector(v, 5, -1, true);
    const byVector = await query({ vector: v, k: 5 });
    expect(byVector.status).toBe(200);
    expect(byVector.body.ids).toEqual(expected.ids);
    byVector.body.distances.forEach((d: number, i: number) => expect(d).toBeCloseTo(expected.distances[i], 6));
    expect(byVector.body).toMatchObject({ index: 'words', generation: 1 });
    expect(byVector.body.labels).toEqual(expected.ids.map((id) => (id === 7 ? null : `w${id}`)));

    const byItem = await query({ item: 42, k: 4, searchK: 1000 });
    expect(byItem.body.ids).toEqual(reference.getNnsByItem(42, 4, 1000));
    expect(byItem.body.distances[0]).toBe(0);
    const byLabel = await query({ label: 'w42', k: 4, searchK: 1000 });
    expect(byLabel.body.ids).toEqual(byItem.body.ids);

    const plain = await query({ vector: ANGULAR[3], k: 3 }, 'plain');
    expect(plain.status).toBe(200);
    expect(plain.body.ids[0]).toBe(3);
    expect(plain.body).not.toHaveProperty('labels');
  });

  it('k defaults to 10 and searchK to -1; distances are float32 values', async () => {
    const r = await query({ item: 0 });
    expect(r.body.ids).toEqual(reference.getNnsByItem(0, 10));
    for (const d of r.body.distances) expect(Math.fround(d)).toBe(Math.fround(Math.fround(d)));
    expect(JSON.stringify(r.body.distances).length).toBeLessThan(10 * 12);
  });

  it('batch queries: vectors, items and labels in input order, one generation', async () => {
    const queries = [{ vector: ROWS[5] }, { item: 9 }, { label: 'w11' }, { vector: ROWS[200] }];
    const r = await call(server, 'POST', '/v1/indexes/words/query/batch', { queries, k: 3, searchK: 500 });
    expect(r.status).toBe(200);
    expect(r.body.generation).toBe(1);
    expect(r.body.results.map((x: { ids: number[] }) => x.ids)).toEqual([
      reference.getNnsByVector(ROWS[5], 3, 500), reference.getNnsByItem(9, 3, 500),
      reference.getNnsByItem(11, 3, 500), reference.getNnsByVector(ROWS[200], 3, 500),
    ]);
    expect(r.body.results[2].labels[0]).toBe('w11');
  });

  it('GET /v1/indexes/{name}/items/{id}', async () => {
    const r = await call(server, 'GET', '/v1/indexes/words/items/12');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ index: 'words', generation: 1, id: 12, vector: reference.getItemVector(12), label: 'w12' });
    const unlabelled = await call(server, 'GET', '/v1/indexes/words/items/7');
    expect(unlabelled.body.label).toBeNull();
  });

  it('GET /metrics: request counts, latency histograms, generations', async () => {
    await query({ item: 1 });
    const r = await call(server, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = r.body as string;
    expect(text).toMatch(/annoy_http_requests_total\{method="POST",route="\/v1\/indexes\/:name\/query",status="200"\} \d+/);
    expect(text).toMatch(/annoy_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/v1\/indexes\/:name\/query"\} \d+/);
    expect(text).toMatch(/annoy_index_generation\{index="words"\} 1/);
    expect(text).toMatch(/annoy_index_items\{index="plain"\} 200/);
    expect(text).toMatch(/annoy_queries_total\{index="words",kind="item"\} \d+/);
    expect(text).toMatch(/annoy_process_cpu_seconds_total/);
  });

  it('GET /openapi.json describes every route with the limits in force', async () => {
    const r = await call(server, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    expect(Object.keys(r.body.paths).sort()).toEqual([
      '/health', '/metrics', '/openapi.json', '/v1/indexes', '/v1/indexes/{name}', '/v1/indexes/{name}/items/{id}',
      '/v1/indexes/{name}/query', '/v1/indexes/{name}/query/batch', '/v1/indexes/{name}/reload', '/v1/reload',
    ]);
    const body = r.body.paths['/v1/indexes/{name}/query'].post.requestBody.content['application/json'].schema;
    expect(body.properties.k.maximum).toBe(50);
    expect(body.properties.searchK.maximum).toBe(5000);
  });

  it('searches on the event loop (--threads 0) give the same answers', async () => {
    const a = await call(locked, 'POST', '/v1/indexes/words/query', { vector: ROWS[3], k: 6 }, { headers: { authorization: 'Bearer s3cret' } });
    expect(locked.searchMode).toBe('main');
    expect(a.body.ids).toEqual(reference.getNnsByVector(ROWS[3], 6));
  });
});

describe('bad requests: 4xx with a JSON error naming the problem', () => {
  const cases: [string, () => Promise<Reply>, number, string, RegExp][] = [
    ['unknown index', () => query({ item: 1 }, 'nope'), 404, 'unknown_index', /no index named "nope": this server has "words", "plain"/],
    ['wrong dimension', () => query({ vector: [1, 2, 3] }), 400, 'wrong_dimension', /vector has 3 values, but index "words" has f = 8/],
    ['NaN (not JSON)', () => call(server, 'POST', '/v1/indexes/words/query', undefined, { raw: '{"vector":[1,2,3,4,5,6,7,NaN]}' }), 400, 'invalid_json', /not valid JSON.*NaN and Infinity are not JSON numbers/],
    ['1e400 (Infinity)', () => call(server, 'POST', '/v1/indexes/words/query', undefined, { raw: '{"vector":[1,2,3,4,5,6,7,1e400]}' }), 400, 'invalid_request', /vector\[7\] is not a finite number/],
    ['float32 overflow', () => query({ vector: [1, 2, 3, 4, 5, 6, 7, 1e39] }), 400, 'invalid_number', /vector\[7\] = 1e\+39 overflows float32/],
    ['a string in the vector', () => query({ vector: [1, 2, 'x', 4, 5, 6, 7, 8] }), 400, 'invalid_request', /vector\[2\] must be a number, got "x"/],
    ['item out of range', () => query({ item: 300 }), 404, 'unknown_item', /item 300 does not exist: index "words" has items 0 … 299/],
    ['negative item', () => query({ item: -1 }), 400, 'invalid_request', /item must be at least 0, got -1/],
    ['fractional item', () => query({ item: 1.5 }), 400, 'invalid_request', /item must be an integer, got 1.5/],
    ['k too large', () => query({ item: 1, k: 51 }), 400, 'invalid_request', /k = 51 is too large: this server allows at most 50 \(--max-k\)/],
    ['k zero', () => query({ item: 1, k: 0 }), 400, 'invalid_request', /k must be at least 1, got 0/],
    ['searchK too large', () => query({ item: 1, searchK: 5001 }), 400, 'invalid_request', /searchK = 5001 is too large: this server allows at most 5000 \(--max-search-k\)/],
    ['searchK zero', () => query({ item: 1, searchK: 0 }), 400, 'invalid_request', /searchK must be -1 .* or a positive integer, got 0/],
    ['searchK below -1', () => query({ item: 1, searchK: -2 }), 400, 'invalid_request', /searchK must be at least -1, got -2/],
    ['unknown label', () => query({ label: 'zzz' }), 404, 'unknown_label', /label "zzz": no item of index "words" has this label/],
    ['label on an index without labels', () => query({ label: 'w1' }, 'plain'), 400, 'no_labels', /index "plain" has no labels/],
    ['nothing to query', () => query({ k: 3 }), 400, 'invalid_request', /must give one of "vector", "item" or "label"/],
    ['two targets', () => query({ item: 1, label: 'w1' }), 400, 'invalid_request', /only one of .* got "item" and "label"/],
    ['unknown field', () => query({ item: 1, K: 3 }), 400, 'invalid_request', /unknown field "K" \(allowed: vector, item, label, k, searchK, filter, maxDistance\)/],
    ['body not an object', () => query([1, 2, 3]), 400, 'invalid_request', /the body must be a JSON object, got an array of 3/],
    ['empty body', () => call(server, 'POST', '/v1/indexes/words/query', undefined, { raw: '' }), 400, 'invalid_json', /empty/],
    ['broken JSON', () => call(server, 'POST', '/v1/indexes/words/query', undefined, { raw: '{"item": 1' }), 400, 'invalid_json', /not valid JSON/],
    ['not JSON', () => call(server, 'POST', '/v1/indexes/words/query', undefined, { raw: 'item=1', type: 'text/plain' }), 415, 'unsupported_media_type', /must be JSON/],
    ['body too large', () => query({ vector: new Array(1000).fill(0.123456789) }), 413, 'body_too_large', /larger than this server's limit of 4096 bytes/],
    ['batch too large', () => call(server, 'POST', '/v1/indexes/words/query/batch', { queries: new Array(21).fill({ item: 1 }) }), 400, 'invalid_request', /queries has 21 entries; this server allows at most 20 \(--max-batch\)/],
    ['empty batch', () => call(server, 'POST', '/v1/indexes/words/query/batch', { queries: [] }), 400, 'invalid_request', /queries must have at least 1 entry/],
    ['bad query in a batch', () => call(server, 'POST', '/v1/indexes/words/query/batch', { queries: [{ item: 1 }, { item: 1 }, { vector: [1] }] }), 400, 'wrong_dimension', /queries\[2\]\.vector has 1 value/],
    ['unknown item in a batch', () => call(server, 'POST', '/v1/indexes/words/query/batch', { queries: [{ item: 1 }, { item: 999 }] }), 404, 'unknown_item', /queries\[1\]\.item 999 does not exist/],
    ['batch without queries', () => call(server, 'POST', '/v1/indexes/words/query/batch', { k: 2 }), 400, 'invalid_request', /missing the field "queries"/],
    ['item id not a number', () => call(server, 'GET', '/v1/indexes/words/items/abc'), 400, 'invalid_request', /item id must be a non-negative integer, got "abc"/],
    ['item id out of range', () => call(server, 'GET', '/v1/indexes/words/items/4000000000'), 404, 'unknown_item', /item 4000000000 does not exist/],
    ['bad index name', () => call(server, 'GET', '/v1/indexes/..%2Fetc'), 400, 'invalid_request', /index name must be letters/],
    ['unknown route', () => call(server, 'GET', '/v2/whatever'), 404, 'not_found', /there is no GET \/v2\/whatever/],
    ['wrong method', () => call(server, 'GET', '/v1/indexes/words/query'), 404, 'not_found', /there is no GET \/v1\/indexes\/words\/query/],
    ['reload of an unknown index', () => call(server, 'POST', '/v1/indexes/nope/reload'), 404, 'unknown_index', /no index named "nope"/],
    ['reload from a missing file', () => call(server, 'POST', '/v1/indexes/words/reload', { path: at('missing.ann') }), 422, 'reload_failed', /cannot read the index .*missing\.ann: no such file \(the old generation keeps serving\)/],
  ];
  it.each(cases)('%s', async (_what, send, status, code, message) => {
    const r = await send();
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body).toEqual({ statusCode: status, error: code, message: expect.stringMatching(message) });
  });

  it('the server answers normally after all of that', async () => {
    const r = await query({ item: 5, k: 2 });
    expect(r.status).toBe(200);
    const list = await call(server, 'GET', '/v1/indexes/words');
    expect(list.body.generation).toBe(1); // the rejected reload changed nothing
    expect(list.body.lastReload).toMatchObject({ ok: false, reason: 'admin endpoint', error: expect.stringMatching(/missing\.ann/) });
  });

  it('arbitrary JSON bodies never cause a 5xx', async () => {
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.jsonValue(),
        fc.record({ vector: fc.array(fc.oneof(fc.double(), fc.integer(), fc.string()), { maxLength: 10 }) }, { requiredKeys: [] }),
        fc.record({ item: fc.oneof(fc.integer(), fc.double(), fc.string()), k: fc.integer(), searchK: fc.integer() }, { requiredKeys: [] }),
        fc.record({ queries: fc.array(fc.record({ item: fc.integer({ min: -5, max: 400 }), label: fc.string() }, { requiredKeys: [] }), { maxLength: 25 }) }),
      ),
      fc.constantFrom('query', 'query/batch'),
      async (body, route) => {
        const raw = JSON.stringify(body) ?? 'null';
        const r = await call(server, 'POST', `/v1/indexes/words/${route}`, undefined, { raw });
        expect(r.status === 200 || (r.status >= 400 && r.status < 500), `${r.status} for ${raw}: ${JSON.stringify(r.body)}`).toBe(true);
        if (r.status !== 200) expect(r.body.message.length).toBeGreaterThan(10);
      },
    ), { numRuns: 150 });
  });

  it('too many queries at once: 503 with Retry-After instead of an unbounded queue', async () => {
    const busy = await startServer({ indexes: [{ name: 'words', path: at('words.ann') }], port: 0, search: 'main', limits: { maxInFlight: 3 } });
    try {
      const r = await call(busy, 'POST', '/v1/indexes/words/query/batch', { queries: [{ item: 1 }, { item: 2 }, { item: 3 }, { item: 4 }] });
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('overloaded');
      expect(r.headers.get('retry-after')).toBe('1');
      expect((await call(busy, 'POST', '/v1/indexes/words/query/batch', { queries: [{ item: 1 }, { item: 2 }] })).status).toBe(200);
    } finally {
      await busy.close();
    }
  });
});

describe('bearer token', () => {
  const auth = { authorization: 'Bearer s3cret' };
  it('every endpoint but /health needs it', async () => {
    expect((await call(locked, 'GET', '/health')).status).toBe(200);
    for (const [method, path] of [['GET', '/v1/indexes'], ['GET', '/metrics'], ['GET', '/openapi.json'], ['GET', '/v1/indexes/words/items/1'], ['POST', '/v1/reload']]) {
      const r = await call(locked, method, path);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      expect(r.body).toEqual({ statusCode: 401, error: 'unauthorized', message: expect.stringMatching(/needs a bearer token/) });
    }
    const wrong = await call(locked, 'POST', '/v1/indexes/words/query', { item: 1 }, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toMatch(/the bearer token is wrong/);
    const right = await call(locked, 'POST', '/v1/indexes/words/query', { item: 1 }, { headers: auth });
    expect(right.status).toBe(200);
    expect((await call(locked, 'GET', '/openapi.json', undefined, { headers: auth })).body.components.securitySchemes.bearer.scheme).toBe('bearer');
  });

  it('admin endpoints can be turned off', async () => {
    const closed = await startServer({ indexes: [{ name: 'words', path: at('words.ann') }], port: 0, search: 'main', admin: false });
    try {
      const r = await call(closed, 'POST', '/v1/reload');
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/admin endpoints are off/);
    } finally {
      await closed.close();
    }
  });
});

describe('startup', () => {
  it('refuses to start when an index cannot be loaded, naming the file and the problem', async () => {
    writeFileSync(at('bad.ann'), Buffer.alloc(123));
    writeFileSync(at('bad.ann.json'), '{"format": "nope"}');
    await expect(startServer({ indexes: [{ name: 'bad', path: at('bad.ann') }], port: 0 })).rejects.toThrow(/bad\.ann\.json/);
    await expect(startServer({ indexes: [{ name: 'x', path: at('none.ann') }], port: 0 })).rejects.toThrow(/cannot read the index .*none\.ann: no such file/);
    await expect(startServer({ indexes: [{ name: 'a b', path: at('words.ann') }], port: 0 })).rejects.toThrow(/index name "a b"/);
  });
});

describe('loading', () => {
  it('on a worker thread (the default) and on the event loop (the fallback without shared memory): the same index', async () => {
    const [viaWorker, here] = await Promise.all([loadIndex(at('words.ann')), loadIndex(at('words.ann'), { inWorker: false })]);
    for (const loaded of [viaWorker, here]) {
      expect(loaded.index.getNItems()).toBe(N);
      expect(loaded.index.getNnsByVector(ROWS[9], 5, -1, true)).toEqual(reference.getNnsByVector(ROWS[9], 5, -1, true));
      expect(loaded.labels?.get(9)).toBe('w9');
      expect(loaded.labels?.get(7)).toBeNull();
      expect(loaded.labels?.find('w299')).toBe(299);
      expect(loaded.labels?.find('w7')).toBeUndefined();
      expect(loaded.sidecar?.metadata).toEqual({ corpus: 'test' });
      await loaded.index.close();
    }
    const damaged = readFileSync(at('words.ann'));
    damaged[64] ^= 1;
    writeFileSync(at('damaged.ann'), damaged);
    copyFileSync(at('words.ann.json'), at('damaged.ann.json'));
    for (const inWorker of [true, false]) {
      await expect(loadIndex(at('damaged.ann'), { inWorker })).rejects.toThrow(/damaged\.ann has checksum crc32:\w+, but .*damaged\.ann\.json says/);
      await expect(loadIndex(at('plain.ann'), { inWorker, f: 6 })).rejects.toThrow(/f = 6 was given, but .*plain\.ann\.json says the index was built with f = 5/);
    }
  });
});

