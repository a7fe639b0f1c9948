// Collections from the command line (annoy-ts collection …, the built CLI as a child process) and
// over HTTP (annoy-ts serve --collection, in-process): every subcommand and endpoint, the token for
// writes, the OpenAPI description, and bad input as one-line errors / 4xx JSON errors.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Collection } from '../../packages/collection/src/node/index.ts';
import { startServer, type AnnoyServer } from '../../packages/cli/src/server/index.ts';
import { cli, cliAsync, randomRows } from '../helpers/cli.ts';

const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'annoy-ts-collection-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const at = (name: string) => join(root, name);

const F = 6;
const ROWS = randomRows(300, F, 21);
const GENRES = ['jazz', 'rock', 'pop'];

describe('annoy-ts collection', () => {
  it('create, upsert, query with filters, delete, compact, info', () => {
    const dir = at('songs');
    let r = cli(['collection', 'create', dir, '--f', String(F), '--metric', 'euclidean', '--trees', '5']);
    expect(r.stderr).toMatch(/created .*songs: f = 6, metric euclidean, 5 trees/);
    expect(r.code).toBe(0);
    writeFileSync(at('items.jsonl'), ROWS.map((v, i) => JSON.stringify({ key: i % 2 ? `s${i}` : i, vector: v, attributes: { genre: GENRES[i % 3], year: 1950 + (i % 40) } })).join('\n') + '\n');
    r = cli(['collection', 'upsert', dir, at('items.jsonl'), '--batch', '64', '--compact']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/upserted 300 items .* holds 300\ncompacted in/);

    writeFileSync(at('queries.jsonl'), `${JSON.stringify(ROWS[4])}\n${JSON.stringify({ vector: ROWS[9] })}\n`);
    r = cli(['collection', 'query', dir, at('queries.jsonl'), '-k', '3', '--search-k', 'all']);
    expect(r.code).toBe(0);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { results: { key: string | number; distance: number; attributes: { genre: string } }[] });
    expect(answers.map((a) => a.results[0])).toEqual([
      { key: 4, distance: 0, attributes: { genre: 'rock', year: 1954 } },
      { key: 's9', distance: 0, attributes: { genre: 'jazz', year: 1959 } },
    ]);
    r = cli(['collection', 'query', dir, '--vector', JSON.stringify(ROWS[4]), '-k', '5', '--filter', '{"genre": "pop", "year": {"$gte": 1960}}']);
    const filtered = JSON.parse(r.stdout) as { results: { attributes: { genre: string; year: number } }[] };
    expect(filtered.results).toHaveLength(5);
    for (const x of filtered.results) expect(x.attributes.genre === 'pop' && x.attributes.year >= 1960).toBe(true);

    writeFileSync(at('gone.jsonl'), '4\n"s9"\n{"key": 12}\n"nope"\n');
    r = cli(['collection', 'delete', dir, at('gone.jsonl')]);
    expect(r.stderr).toMatch(/deleted 3 of 4 keys given; the collection holds 297/);
    r = cli(['collection', 'query', dir, '--vector', JSON.stringify(ROWS[4]), '-k', '1', '--include-vectors']);
    expect((JSON.parse(r.stdout) as { results: { key: unknown; vector: number[] }[] }).results[0]!.key).not.toBe(4);
    r = cli(['collection', 'info', dir, '--json']);
    const info = JSON.parse(r.stdout) as { size: number; base: { items: number; live: number } };
    expect(info.size).toBe(297);
    expect(info.base).toMatchObject({ items: 300, live: 297 });
    r = cli(['collection', 'compact', dir]);
    expect(r.stderr).toMatch(/compacted 297 items/);
    r = cli(['collection', 'info', dir]);
    expect(r.stdout).toMatch(/items\s+297/);
    expect(r.stdout).toMatch(/base index\s+297 live of 297/);
  });

  it('create --graph: every index gets its neighbour graph, shown by info', () => {
    const dir = at('graphs');
    let r = cli(['collection', 'create', dir, '--f', String(F), '--metric', 'euclidean', '--trees', '3', '--graph']);
    expect(r.stderr).toMatch(/created .*graphs: f = 6, metric euclidean, 3 trees, neighbour graphs/);
    expect(r.code).toBe(0);
    writeFileSync(at('graph-items.jsonl'), ROWS.map((v, i) => JSON.stringify({ key: i, vector: v })).join('\n') + '\n');
    r = cli(['collection', 'upsert', dir, at('graph-items.jsonl'), '--compact']);
    expect(r.code).toBe(0);
    r = cli(['collection', 'info', dir, '--json']);
    const info = JSON.parse(r.stdout) as { graph: unknown; unusedGraphs: unknown[]; base: { name: string; graph: boolean } };
    expect(info).toMatchObject({ graph: {}, unusedGraphs: [], base: { live: 300, graph: true } });
    expect(existsSync(join(dir, `${info.base.name}.ann.graph`))).toBe(true);
    r = cli(['collection', 'info', dir]);
    expect(r.stdout).toMatch(/graph\s+yes/);
    expect(r.stdout).toMatch(/base index\s+300 live of 300 \(base-\d+, with graph\)/);
    r = cli(['collection', 'query', dir, '--vector', JSON.stringify(ROWS[7]), '-k', '3']);
    expect((JSON.parse(r.stdout) as { results: { key: number; distance: number }[] }).results[0]).toMatchObject({ key: 7, distance: 0 });
    r = cli(['collection', 'info', dir, '--graph']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option --graph does not apply/);
  });

  it('bad command lines and bad input: one line, the right exit code, nothing written', async () => {
    const dir = at('strict');
    cli(['collection', 'create', dir, '--f', '2', '--metric', 'angular']);
    const cases: [string[], number, RegExp][] = [
      [['collection', 'remove', dir], 2, /unknown subcommand "remove": expected one of create, upsert/],
      [['collection', 'create', at('x'), '--f', '2'], 2, /--f and --metric are required/],
      [['collection', 'create', dir, '--f', '2', '--metric', 'angular'], 1, /already holds a collection/],
      [['collection', 'create', at('y'), '--f', '2', '--metric', 'cosine'], 1, /unknown metric "cosine"/],
      [['collection', 'info', at('missing')], 1, /does not exist \(create it with/],
      [['collection', 'info', dir, '-k', '3'], 2, /option --k does not apply/],
      [['collection', 'query', dir, '--vector', '[1, 2, 3]'], 1, /--vector 1: query: vector has 3 components, but the collection's dimension is 2/],
      [['collection', 'query', dir, '--vector', '[1, 2]', '--filter', '{"a": {"$near": 1}}'], 1, /unknown filter operator "\$near"/],
      [['collection', 'query', dir, '--vector', '[1, 2]', '--filter', 'genre=jazz'], 2, /--filter must be a JSON object/],
    ];
    // Cases that get as far as opening the collection run one after the other (one process at a
    // time may open it); usage errors and other folders run side by side.
    const opens = ([args, code]: (typeof cases)[number]) => args[2] === dir && args[1] !== 'create' && code === 1;
    const order = [...cases.filter((c) => !opens(c)), ...cases.filter(opens)];
    const runs = await Promise.all(order.filter((c) => !opens(c)).map(([args]) => cliAsync(args)));
    for (const [args] of order.filter(opens)) runs.push(cli(args));
    order.forEach(([args, code, message], j) => {
      expect(runs[j]!.stderr, args.join(' ')).toMatch(message);
      expect(runs[j]!.code, args.join(' ')).toBe(code);
    });
    writeFileSync(at('bad.jsonl'), '{"key": "a", "vector": [1, 0]}\n{"key": "b", "vector": [1, NaN]}\n');
    let r = cli(['collection', 'upsert', dir, at('bad.jsonl'), '--batch', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2: not valid JSON/);
    writeFileSync(at('bad2.jsonl'), '{"key": "a", "vector": [1, 0]}\n{"key": "b", "vector": [1, 0, 0]}\n');
    r = cli(['collection', 'upsert', dir, at('bad2.jsonl')]);
    expect(r.stderr).toMatch(/the batch of 2 starting at .*bad2\.jsonl line 1: item 1 \(key "b"\): vector has 3 components/);
    r = cli(['collection', 'info', dir, '--json']);
    expect((JSON.parse(r.stdout) as { size: number }).size).toBe(1); // the first file's good line, written before its bad one
  });
});

describe('serve --collection', () => {
  let open: AnnoyServer, locked: AnnoyServer;
  afterAll(async () => {
    await open?.close();
    await locked?.close();
  });

  async function call(s: AnnoyServer, method: string, path: string, body?: unknown, token?: string) {
    const r = await fetch(s.url + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  it('writes need the token; queries filter; errors are 4xx JSON naming the problem', async () => {
    for (const name of ['a', 'b']) await (await Collection.open(at(`served-${name}`), { f: F, metric: 'angular', trees: 4 })).close();
    open = await startServer({ indexes: [], port: 0, collections: [{ name: 'a', dir: at('served-a') }], limits: { maxBatch: 50 } });
    locked = await startServer({ indexes: [], port: 0, token: 'hunter2', collections: [{ name: 'b', dir: at('served-b') }], limits: { maxBatch: 50, maxK: 20 } });

    const items = ROWS.slice(0, 40).map((v, i) => ({ key: `k${i}`, vector: v, attributes: { genre: GENRES[i % 3] } }));
    let r = await call(open, 'PUT', '/v1/collections/a/items', { items });
    expect(r).toMatchObject({ status: 403, body: { error: 'writes_need_token' } });
    r = await call(locked, 'PUT', '/v1/collections/b/items', { items });
    expect(r.status).toBe(401);
    r = await call(locked, 'PUT', '/v1/collections/b/items', { items }, 'hunter2');
    expect(r).toEqual({ status: 200, body: { collection: 'b', upserted: 40, size: 40 } });
    // A key given twice in one batch is one item written (the later vector wins).
    r = await call(locked, 'PUT', '/v1/collections/b/items', { items: [{ key: 'k0', vector: ROWS[41] }, { key: 'k0', vector: ROWS[3] }] }, 'hunter2');
    expect(r).toEqual({ status: 200, body: { collection: 'b', upserted: 1, size: 40 } });
    r = await call(locked, 'PUT', '/v1/collections/b/items', { items: [items[0]] }, 'hunter2');
    expect(r.body.upserted).toBe(1);
    r = await call(locked, 'POST', '/v1/collections/b/query', { vector: ROWS[3], k: 3, filter: { genre: { $in: ['jazz'] } }, includeVectors: true }, 'hunter2');
    expect(r.status).toBe(200);
    expect(r.body.results[0]).toMatchObject({ key: 'k3', distance: 0, attributes: { genre: 'jazz' } });
    expect(r.body.results[0].vector).toHaveLength(F);
    expect(r.body.results.every((x: { attributes: { genre: string } }) => x.attributes.genre === 'jazz')).toBe(true);
    r = await call(locked, 'DELETE', '/v1/collections/b/items', { keys: ['k3', 'missing'] }, 'hunter2');
    expect(r.body).toEqual({ collection: 'b', deleted: 1, size: 39 });
    r = await call(locked, 'POST', '/v1/collections/b/compact', undefined, 'hunter2');
    expect(r.body).toMatchObject({ collection: 'b', size: 39 });
    r = await call(locked, 'GET', '/v1/collections/b', undefined, 'hunter2');
    expect(r.body).toMatchObject({ name: 'b', f: F, metric: 'angular', graph: false, unusedGraphs: [], items: 39, base: { live: 39, graph: false } });
    r = await call(open, 'GET', '/v1/collections');
    expect(r.body.collections.map((c: { name: string }) => c.name)).toEqual(['a']);

    const bad: [AnnoyServer, string, string, unknown, number, RegExp][] = [
      [open, 'POST', '/v1/collections/nope/query', { vector: ROWS[0] }, 404, /no collection "nope"/],
      [open, 'POST', '/v1/collections/a/query', { vector: [1, 2] }, 400, /vector has 2 values, but collection "a" has f = 6/],
      [open, 'POST', '/v1/collections/a/query', { vector: ROWS[0], filter: { genre: { $regex: 'j' } } }, 400, /unknown filter operator "\$regex"/],
      [open, 'POST', '/v1/collections/a/query', { vector: ROWS[0], k: 5000 }, 400, /k = 5000 is too large/],
      [open, 'POST', '/v1/collections/a/query', { vector: ROWS[0], filter: 'jazz' }, 400, /filter must be a JSON object/],
      [locked, 'PUT', '/v1/collections/b/items', { items: [{ key: 1.5, vector: ROWS[0] }] }, 400, /key/],
      [locked, 'PUT', '/v1/collections/b/items', { items: [{ key: 'x', vector: ROWS[0], attributes: [1] }] }, 400, /attributes must be/],
      [locked, 'PUT', '/v1/collections/b/items', { items: [{ key: 'x', vector: [1] }] }, 400, /vector has 1 components/],
      [locked, 'PUT', '/v1/collections/b/items', { items: Array.from({ length: 51 }, (_, i) => ({ key: i, vector: ROWS[0] })) }, 400, /at most 50/],
      [locked, 'DELETE', '/v1/collections/b/items', { keys: [] }, 400, /at least 1/],
    ];
    for (const [server, method, path, body, status, message] of bad) {
      r = await call(server, method, path, body, server === locked ? 'hunter2' : undefined);
      expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(status);
      expect(r.body.message).toMatch(message);
    }
    const spec = (await call(locked, 'GET', '/openapi.json', undefined, 'hunter2')).body;
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/collections/{name}/items', '/v1/collections/{name}/query', '/v1/collections/{name}/compact']));
    expect(spec.paths['/v1/collections/{name}/items'].put.responses['401']).toBeDefined();
  });
});
