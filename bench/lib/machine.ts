/** Facts about the machine and the code being measured, recorded with every run. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';
import type { MachineFacts } from './types.ts';

const INTERESTING_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl'];

function cpuInfo(): { model: string; flags: string[]; mhz: number | null; logical: number } {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux */
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const model = field('model name') ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = (field('flags') ?? '').split(/\s+/).filter((f) => INTERESTING_FLAGS.includes(f));
  const mhz = Number(field('cpu MHz'));
  const logical = (text.match(/^processor\s*:/gm) ?? []).length || os.cpus().length;
  return { model, flags, mhz: Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz) : null, logical };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const requireFromRepo = createRequire(path.join(REPO_ROOT, 'package.json'));

export function packageVersion(name: string): string | null {
  try {
    const file = requireFromRepo.resolve(`${name}/package.json`);
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    // Packages whose exports hide package.json: walk up from the main file.
    try {
      let dir = path.dirname(requireFromRepo.resolve(name));
      for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
        const file = path.join(dir, 'package.json');
        if (fs.existsSync(file)) {
          const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
          if (pkg.name === name) return pkg.version ?? null;
        }
      }
    } catch {
      /* not installed */
    }
    return null;
  }
}

function cxxVersion(): string | null {
  try {
    return execFileSync('g++', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export function machineFacts(nativeSimd: string | null): MachineFacts {
  const cpu = cpuInfo();
  const dirty = git(['status', '--porcelain']);
  return {
    cpuModel: cpu.model,
    cpuFlags: cpu.flags,
    cpuMHz: cpu.mhz,
    logicalCpus: cpu.logical,
    availableParallelism: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirtyFiles: dirty === null ? null : dirty.split('\n').filter((l) => l.trim() !== '').length,
    packages: Object.fromEntries(
      ['annoy', 'hnswlib-node', 'tsx', 'vega', 'vega-lite', 'assemblyscript'].map((p) => [p, packageVersion(p)]),
    ),
    cxx: cxxVersion(),
    nativeSimd,
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}
