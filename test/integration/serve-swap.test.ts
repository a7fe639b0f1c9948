// Hot swaps in annoy-ts serve: under concurrent load no request fails and no response mixes
// generations (every answer equals what its generation's file gives); a corrupt file is rejected
// while the old generation keeps serving; old generations are freed once their requests finish;
// --watch picks up replaced files and re-pointed symbolic links.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { startServer, type AnnoyServer } from '../../packages/cli/src/server/index.ts';
import { randomRows } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-serve-swap-'));
const at = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const F = 12;
const N = 3000;
const K = 8;


/** Writes NAME.ann (+ sidecar + labels); file B's labels are a permutation of file A's. */
function writeIndex(name: string, seed: number, labelOf: (i: number) => string): void {
  const index = new AnnoyIndex(F, 'angular');
  randomRows(N, F, seed).forEach((r, i) => index.addItem(i, r));
  index.setSeed(seed);
  index.build(6);
  writeFileSync(at(`${name}.ann.labels.json`), JSON.stringify(Array.from({ length: N }, (_, i) => labelOf(i))));
  index.save(at(`${name}.ann`), { labels: `${name}.ann.labels.json` });
}

/** Atomically points the symbolic link `link` at `target`. */
function repoint(link: string, target: string): void {
  const temp = `${link}.tmp-link`;
  rmSync(temp, { force: true });
  symlinkSync(target, temp);
  renameSync(temp, link);
}

// What each file answers, computed with the library: a served answer must equal one of these exactly.
const QUERY_VECTOR = randomRows(1, F, 99)[0];
const BATCH = [{ vector: QUERY_VECTOR }, { item: 17 }, { label: 'w123' }];
interface Expected { vector: unknown; item: unknown; label: unknown; batch: unknown }
const expected = new Map<string, Expected>();

function expectationsFor(name: string): Expected {
  const index = AnnoyIndex.open(at(`${name}.ann`));
  const labels = JSON.parse(readFileSync(at(`${name}.ann.labels.json`), 'utf8')) as string[];
  const shape = (r: { ids: number[]; distances: number[] }) => ({ ids: r.ids, distances: r.distances.map((d) => Number(d.toPrecision(9))), labels: r.ids.map((id) => labels[id]) });
  const labelled = labels.indexOf('w123');
  const result = {
    vector: shape(index.getNnsByVector(QUERY_VECTOR, K, -1, true)),
    item: shape(index.getNnsByItem(17, K, -1, true)),
    label: shape(index.getNnsByItem(labelled, K, -1, true)),
    batch: [shape(index.getNnsByVector(QUERY_VECTOR, K, -1, true)), shape(index.getNnsByItem(17, K, -1, true)), shape(index.getNnsByItem(labelled, K, -1, true))],
  };
  index.unload();
  return result;
}

beforeAll(() => {
  writeIndex('a', 1, (i) => `w${i}`);
  writeIndex('b', 2, (i) => `w${(i * 7) % N}`);
  for (const name of ['a', 'b']) expected.set(name, expectationsFor(name));
  // Otherwise a mixed-up answer could pass unnoticed.
  for (const kind of ['vector', 'item', 'label', 'batch'] as const) {
    expect(JSON.stringify(expected.get('a')![kind])).not.toBe(JSON.stringify(expected.get('b')![kind]));
  }
  // A damaged copy of b: same size, one byte flipped, b's sidecar (so the checksum no longer matches).
  const bytes = readFileSync(at('b.ann'));
  bytes[bytes.length >> 1] ^= 0x40;
  writeFileSync(at('broken.ann'), bytes);
  copyFileSync(at('b.ann.json'), at('broken.ann.json'));
});

async function post(server: AnnoyServer, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(server.url + path, {
    method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function info(server: AnnoyServer, name: string) {
  const r = await fetch(`${server.url}/v1/indexes/${name}`);
  return (await r.json()) as { generation: number; draining: number; path: string; lastReload: { ok: boolean; error?: string } | null };
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hot swap under concurrent load', () => {
  it('no failed and no mixed-generation responses; a corrupt file is rejected; old generations are freed', async () => {
    repoint(at('live.ann'), at('a.ann'));
    const server = await startServer({ indexes: [{ name: 'live', path: at('live.ann') }], port: 0 });
    const fileOf = new Map<number, string>([[1, 'a']]);
    const failures: string[] = [];
    const seen = new Set<number>();
    let answered = 0;
    let stop = false;
    const kinds = ['vector', 'item', 'label', 'batch'] as const;
    const client = async (c: number) => {
      let last = 0;
      for (let n = c; !stop; n++) {
        const kind = kinds[n % kinds.length];
        const body = kind === 'vector' ? { vector: QUERY_VECTOR, k: K } : kind === 'item' ? { item: 17, k: K } : kind === 'label' ? { label: 'w123', k: K } : { queries: BATCH, k: K };
        let r;
        try {
          r = await post(server, `/v1/indexes/live/query${kind === 'batch' ? '/batch' : ''}`, body);
        } catch (e) {
          failures.push(`client ${c}: ${(e as Error).message}`);
          continue;
        }
        answered++;
        if (r.status !== 200) {
          failures.push(`client ${c}: ${kind} → ${r.status} ${JSON.stringify(r.body)}`);
          continue;
        }
        const g = r.body.generation as number;
        seen.add(g);
        if (g < last) failures.push(`client ${c}: generation ${g} after ${last}`);
        last = g;
        const file = fileOf.get(g);
        if (!file) {
          failures.push(`client ${c}: unknown generation ${g}`);
          continue;
        }
        const { index: _i, generation: _g, ...answer } = r.body;
        const want = kind === 'batch' ? { results: expected.get(file)!.batch } : expected.get(file)![kind];
        if (JSON.stringify(answer) !== JSON.stringify(want)) failures.push(`client ${c}: ${kind} from generation ${g} (${file}) differs: ${JSON.stringify(answer)}`);
      }
    };
    const clients = Array.from({ length: 12 }, (_, c) => client(c));
    const pause = () => new Promise((r) => setTimeout(r, 300));
    try {
      await pause();
      // 1. the admin endpoint, re-pointing the index at another file
      fileOf.set(2, 'b');
      expect(await post(server, '/v1/indexes/live/reload', { path: at('b.ann') })).toMatchObject({ status: 200, body: { status: 'swapped', generation: 2, previous: 1 } });
      await pause();
      // 2. back to the symbolic link (which still points at a), through the admin endpoint
      fileOf.set(3, 'a');
      expect((await post(server, '/v1/indexes/live/reload', { path: at('live.ann') })).body.generation).toBe(3);
      await pause();
      // 3. a corrupt file: rejected with 422, generation 3 keeps serving
      const rejected = await post(server, '/v1/indexes/live/reload', { path: at('broken.ann') });
      expect(rejected.status).toBe(422);
      expect(rejected.body).toMatchObject({ error: 'reload_failed', message: expect.stringMatching(/broken\.ann has checksum crc32:[0-9a-f]+, but .*broken\.ann\.json says crc32:[0-9a-f]+.*the old generation keeps serving/) });
      expect((await info(server, 'live')).generation).toBe(3);
      await pause();
      // 4. re-point the symbolic link and reload every index (what SIGHUP does)
      repoint(at('live.ann'), at('b.ann'));
      fileOf.set(4, 'b');
      expect((await server.reload(undefined, undefined, 'test'))[0]).toMatchObject({ generation: 4, status: 'swapped' });
      await pause();
      // 5. two reloads at once are serialised: generations 5 and 6
      repoint(at('live.ann'), at('a.ann'));
      fileOf.set(5, 'a').set(6, 'a');
      const both = await Promise.all([post(server, '/v1/reload'), post(server, '/v1/indexes/live/reload')]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      expect(both.map((r) => r.body.results?.[0]?.generation ?? r.body.generation).sort()).toEqual([5, 6]);
      await pause();
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    for (const g of [1, 2, 3, 4, 6]) expect(seen.has(g), `generation ${g} answered`).toBe(true);
    await until('the old generations are freed', async () => (await info(server, 'live')).draining === 0);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/annoy_index_reloads_total\{index="live",result="ok"\} 5/);
    expect(metrics).toMatch(/annoy_index_reloads_total\{index="live",result="failed"\} 1/);
    expect(metrics).toMatch(/annoy_index_generation\{index="live"\} 6/);
    expect(metrics).toMatch(/annoy_index_draining_generations\{index="live"\} 0/);
    await server.close();
  });

  it('a request that started before a swap finishes on the old generation, which is freed afterwards', async () => {
    const server = await startServer({ indexes: [{ name: 'x', path: at('a.ann') }], port: 0, search: 'main' });
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let during: unknown;
      const oldGeneration = server.registry.slot('x').current;
      const inFlight = server.registry.with('x', async (g) => {
        await held; // a request still running on generation 1
        during = g.index.getNnsByVector(QUERY_VECTOR, K, -1, true);
        return g.number;
      });
      await server.reload('x', at('b.ann'));
      const slot = server.registry.slot('x');
      expect(slot.current.number).toBe(2);
      expect(slot.draining.has(oldGeneration)).toBe(true);
      expect(oldGeneration.freed).toBe(false);
      const fresh = await post(server, '/v1/indexes/x/query', { vector: QUERY_VECTOR, k: K });
      expect(fresh.body.generation).toBe(2);
      release();
      expect(await inFlight).toBe(1);
      expect((during as { ids: number[] }).ids).toEqual((expected.get('a')!.vector as { ids: number[] }).ids);
      expect(oldGeneration.freed).toBe(true);
      expect(slot.draining.size).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('--watch', () => {
  it('reloads a replaced file, rejects a corrupt one, follows a re-pointed link', async () => {
    copyFileSync(at('a.ann'), at('w.ann'));
    copyFileSync(at('a.ann.json'), at('w.ann.json'));
    repoint(at('wl.ann'), at('a.ann'));
    const log: string[] = [];
    const server = await startServer({
      indexes: [{ name: 'w', path: at('w.ann') }, { name: 'wl', path: at('wl.ann') }],
      port: 0, watch: true, watchDebounceMs: 100, log: (l) => log.push(l),
    });
    try {
      // Replace w.ann (and its sidecar) the way save() does: by renaming new files over them.
      const b = AnnoyIndex.open(at('b.ann'));
      b.save(at('w.ann'), { labels: 'b.ann.labels.json' });
      b.unload();
      await until('w is at generation 2', async () => (await info(server, 'w')).generation === 2);
      const answer = await post(server, '/v1/indexes/w/query', { vector: QUERY_VECTOR, k: K });
      expect(answer.body).toMatchObject({ generation: 2, ids: (expected.get('b')!.vector as { ids: number[] }).ids });

      // Damage the file in place: the checksum check rejects it, generation 2 keeps serving.
      const bytes = readFileSync(at('w.ann'));
      bytes[100] ^= 1;
      writeFileSync(at('w.ann'), bytes);
      await until('the damaged file is rejected', async () => (await info(server, 'w')).lastReload?.ok === false);
      expect((await info(server, 'w')).generation).toBe(2);
      expect((await info(server, 'w')).lastReload?.error).toMatch(/checksum/);
      expect((await post(server, '/v1/indexes/w/query', { item: 3, k: 2 })).status).toBe(200);
      expect(log.some((l) => /w: rejected .*w\.ann \(file changed\): .*checksum/.test(l))).toBe(true);

      // Re-point the symbolic link: its new target (with its own sidecar and labels) is loaded.
      repoint(at('wl.ann'), at('b.ann'));
      await until('wl is at generation 2', async () => (await info(server, 'wl')).generation === 2);
      const viaLink = await post(server, '/v1/indexes/wl/query', { label: 'w123', k: K });
      expect(viaLink.body).toMatchObject({ generation: 2, ...(expected.get('b')!.label as object) });
    } finally {
      await server.close();
    }
  });
});
