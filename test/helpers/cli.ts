// Runs the real annoy-ts command line (the built @annoy-ts/cli package) as a child process: every
// run costs one plain `node` start.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI entry (`npm run build`; `npm test` builds first). */
export function cliEntry(): string {
  const entry = join(ROOT, 'packages', 'cli', 'dist', 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

const ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };

/** Runs `annoy-ts ARGS` synchronously. */
export function cli(args: string[], cwd = ROOT): Run {
  const r = spawnSync(process.execPath, [cliEntry(), ...args], { cwd, encoding: 'utf8', env: ENV });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `annoy-ts ARGS` in the background (for running many cases in parallel). */
export function cliAsync(args: string[], cwd = ROOT): Promise<Run> {
  const entry = cliEntry();
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { cwd, encoding: 'utf8', env: ENV }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes rows as .fbin (uint32 n, uint32 d, float32 values). */
export function fbin(rows: number[][]): Buffer {
  const n = rows.length, d = rows[0].length;
  const buf = Buffer.alloc(8 + n * d * 4);
  buf.writeUInt32LE(n, 0);
  buf.writeUInt32LE(d, 4);
  rows.flat().forEach((x, i) => buf.writeFloatLE(x, 8 + 4 * i));
  return buf;
}

/** Deterministic pseudo-random rows in [-1, 1). */
export function randomRows(n: number, d: number, seed = 1): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.nextRange(-1, 1)));
}
