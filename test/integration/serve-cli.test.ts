// `annoy-ts serve` as a real child process (the compiled CLI, see cli-helpers.ts): help, usage
// errors, startup failures, the bearer token from the environment, SIGHUP reloads, and a graceful
// SIGTERM that lets a running request finish before the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { cli, cliAsync, cliEntry, randomRows, type Run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-serve-cli-'));
const at = (name: string) => join(dir, name);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  cliEntry();
  const small = new AnnoyIndex(4, 'euclidean');
  randomRows(100, 4, 1).forEach((r, i) => small.addItem(i, r));
  small.build(4);
  small.save(at('small.ann'));
  const big = new AnnoyIndex(32, 'angular');
  randomRows(30_000, 32, 2).forEach((r, i) => big.addItem(i, r));
  big.build(10);
  big.save(at('big.ann'));
  writeFileSync(at('garbage.ann'), Buffer.alloc(1000, 7));
});

function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^annoy-ts: .+\n$/);
  expect(r.stderr).toMatch(pattern);
}

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `annoy-ts serve ARGS --port 0` and waits for its "listening on" line. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [cliEntry(), 'serve', ...args, '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line: ${err}`)), 60_000);
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err, exited };
}

describe('annoy-ts serve: command line', () => {
  it('--help describes the endpoints; the top-level help lists serve', async () => {
    const [help, top] = await Promise.all([cliAsync(['serve', '--help']), cliAsync(['--help'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/POST \/v1\/indexes\/NAME\/query /);
    expect(help.stdout).toMatch(/--token-file/);
    expect(top.stdout).toMatch(/\n {2}serve +an HTTP query service/);
  });

  it('usage errors: exit 2 with one line', async () => {
    const runs = await Promise.all([
      cliAsync(['serve']),
      cliAsync(['serve', at('small.ann'), '--threads', '3']),
      cliAsync(['serve', at('small.ann'), '--port', '70000']),
      cliAsync(['serve', `x=${at('small.ann')}`, `x=${at('big.ann')}`]),
      cliAsync(['serve', at('small.ann'), '--max-k', '0']),
      cliAsync(['serve', join(dir, 'my index.ann')]),
      cliAsync(['serve', at('small.ann'), '--bogus']),
    ]);
    expectOneLineError(runs[0], 2, /serve: missing INDEX/);
    expectOneLineError(runs[1], 2, /--threads must be auto or 0, got "3"/);
    expectOneLineError(runs[2], 2, /--port must be at most 65535/);
    expectOneLineError(runs[3], 2, /two indexes are named "x"/);
    expectOneLineError(runs[4], 2, /--max-k must be at least 1/);
    expectOneLineError(runs[5], 2, /cannot name an index after .*my index\.ann.*NAME=/);
    expectOneLineError(runs[6], 2, /unknown option --bogus/);
  });

  it('an index that cannot be loaded: exit 1 naming the file and the problem', async () => {
    const runs = await Promise.all([
      cliAsync(['serve', at('missing.ann')]),
      cliAsync(['serve', at('garbage.ann')]),
      cliAsync(['serve', at('garbage.ann'), '--f', '4', '--metric', 'euclidean']),
      cliAsync(['serve', at('small.ann'), '--token-file', at('no-token')]),
    ]);
    expectOneLineError(runs[0], 1, /cannot read the index .*missing\.ann: no such file/);
    expectOneLineError(runs[1], 1, /garbage\.ann has no sidecar .* pass --f and --metric|give --f and --metric/);
    expectOneLineError(runs[2], 1, /garbage\.ann/);
    expectOneLineError(runs[3], 1, /cannot read --token-file .*no-token: no such file/);
  });

  it('serves several indexes with a token; SIGHUP reloads; SIGTERM lets a running request finish, then exits 0', async () => {
    // A drain deadline far beyond the batch's time even on a busy machine: what is tested is that the running request finishes.
    const s = await serve([`small=${at('small.ann')}`, at('big.ann'), '--max-search-k', '1000000', '--drain-timeout', '120'], { ANNOY_TS_TOKEN: 'tok' });
    const auth = { authorization: 'Bearer tok', 'content-type': 'application/json' };
    expect(s.stderr()).toMatch(/small: .*small\.ann \(100 items, f = 4, euclidean, 4 trees\) loaded in/);
    expect(s.stderr()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(searches on \d+ worker threads?, bearer token required\)/);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await fetch(`${s.url}/v1/indexes`)).status).toBe(401);
    const list = await (await fetch(`${s.url}/v1/indexes`, { headers: auth })).json() as { indexes: { name: string; generation: number }[] };
    expect(list.indexes.map((i) => [i.name, i.generation])).toEqual([['small', 1], ['big', 1]]);

    s.child.kill('SIGHUP');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await (await fetch(`${s.url}/v1/indexes`, { headers: auth })).json() as typeof list;
      if (now.indexes.every((i) => i.generation === 2)) break;
      if (Date.now() > deadline) throw new Error(`SIGHUP did not reload: ${s.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(s.stderr()).toMatch(/SIGHUP: reloading every index/);
    expect(s.stderr()).toMatch(/big: generation 2 serving .*big\.ann \(SIGHUP/);

    // A heavy batch (exact search for 1000 queries), then SIGTERM while it runs.
    const queries = randomRows(1000, 32, 5).map((vector) => ({ vector }));
    const sent = Date.now();
    const running = fetch(`${s.url}/v1/indexes/big/query/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ queries, k: 100, searchK: 1_000_000 }) })
      .then(async (r) => ({ status: r.status, body: await r.json() as { results: unknown[] }, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 50));
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    const answer = await running;
    expect(answer.status).toBe(200);
    expect(answer.body.results).toHaveLength(1000);
    expect(await s.exited, s.stderr()).toBe(0);
    expect(s.stderr()).toMatch(/SIGTERM: draining/);
    expect(s.stderr()).toMatch(/stopped\n$/);
    // The batch was still running when the signal came (it takes far longer than 50 ms).
    expect(answer.at, `sent ${sent}, signalled ${signalled}`).toBeGreaterThan(signalled);
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  });

  it('a port in use: exit 1 with one line', async () => {
    const s = await serve([at('small.ann'), '--threads', '0']);
    const port = new URL(s.url).port;
    const r = cli(['serve', at('small.ann'), '--port', port]);
    expectOneLineError(r, 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });
});
