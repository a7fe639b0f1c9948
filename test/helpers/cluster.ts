// Cluster test helpers: `annoy-ts serve --nats` child processes (the built CLI), load loops that
// count failures, small HTTP and polling helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { cliEntry } from './cli.ts';

export interface ServeNode {
  child: ChildProcess;
  url: string;
  name: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Every child started here, for the suites' afterAll. */
export const children: ChildProcess[] = [];

export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Starts `annoy-ts serve ARGS --port 0 --nats URL --node-name NAME` and waits for its "listening on" line. */
export async function serveNode(args: string[], nats: string, name: string): Promise<ServeNode> {
  const child = spawn(process.execPath, [cliEntry(), 'serve', ...args, '--port', '0', '--nats', nats, '--node-name', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "listening on" line: ${err}`)), 30_000);
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`${name} exited with ${code}: ${err}`)));
  });
  return { child, url, name, stderr: () => err, exited };
}

export async function stopNode(node: ServeNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  return node.exited;
}

export async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Polls `check` (errors count as "not yet") until it is true. */
export async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `clients` query loops until stopped; counts answers and failures. */
export function load(query: (i: number) => Promise<unknown>, clients = 4) {
  let running = true;
  let answered = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = c; running; i += clients) {
      try {
        await query(i);
        answered++;
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { answered, failures };
    },
  };
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
