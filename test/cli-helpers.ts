// Runs the real annoy-ts command line as a child process. The CLI's TypeScript (src/cli/main.ts and
// everything it imports, nothing else) is compiled once with tsc into .cache/cli-test/<hash of
// src/>/, so every run costs one plain `node` start; parallel test files share the output.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let compiled: string | null = null;

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) hash.update(relative(ROOT, path)).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'src'));
  hash.update(readFileSync(join(ROOT, 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

/** The compiled CLI entry (built on first use). */
export function cliEntry(): string {
  if (compiled) return compiled;
  const base = join(ROOT, '.cache', 'cli-test');
  const out = join(base, sourceHash());
  const entry = join(out, 'cli', 'main.js');
  if (!existsSync(entry)) {
    mkdirSync(base, { recursive: true });
    // version.ts reads ../../package.json: from <base>/<hash>/node/ that is <base>/package.json.
    copyFileSync(join(ROOT, 'package.json'), join(base, 'package.json'));
    const temp = `${out}.${process.pid}.tmp`;
    rmSync(temp, { recursive: true, force: true });
    try {
      execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), [
        join(ROOT, 'src', 'cli', 'main.ts'), '--ignoreConfig', '--outDir', temp, '--rootDir', join(ROOT, 'src'),
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022', '--types', 'node',
        '--rewriteRelativeImportExtensions', '--allowImportingTsExtensions', '--verbatimModuleSyntax', '--skipLibCheck', '--strict',
      ], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      // Type errors still emit JavaScript; only a missing entry is fatal.
      if (!existsSync(join(temp, 'cli', 'main.js'))) throw new Error(`tsc failed: ${String((e as { stdout?: Buffer }).stdout ?? e)}`);
    }
    try {
      renameSync(temp, out);
    } catch {
      rmSync(temp, { recursive: true, force: true }); // another worker got there first
    }
  }
  compiled = entry;
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
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  return Array.from({ length: n }, () => Array.from({ length: d }, next));
}
