#!/usr/bin/env node
// Runs the Jazzer.js fuzz targets in fuzz/targets/, one after another, each for a fixed time.
//
//   npm run fuzz                         every target, FUZZ_SECONDS (default 30) each
//   npm run fuzz -- load-dot sidecar     only these targets
//   npm run fuzz -- --seconds 300        longer runs
//   npm run fuzz -- --list               the target names
//
// Seeds come from fuzz/corpus/<target>/ (read only); what the fuzzer finds interesting goes to a
// scratch corpus in node_modules/.cache/annoy-ts-fuzz/corpus/<target>/, kept between runs. A crash,
// hang (per-input timeout) or out-of-memory input is copied to fuzz/regressions/<target>/, which
// test/fuzz-regressions.test.ts replays on every `npm test`. Exit code 1 if any target found one.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const TARGETS_DIR = join(ROOT, 'fuzz', 'targets');
const CACHE = join(ROOT, 'node_modules', '.cache', 'annoy-ts-fuzz');

/** Targets: files of fuzz/targets/ that export `fuzz` (the others are shared logic). Async ones read files. */
const TARGETS = readdirSync(TARGETS_DIR)
  .filter((f) => /^(load|reader|sidecar)[-\w]*\.ts$/.test(f) && !['load.ts', 'readers.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const ASYNC = new Set(['reader-csv', 'reader-tsv', 'reader-jsonl', 'reader-text']);
/** libFuzzer dictionaries (fuzz/dict/): tokens the mutator splices in, for the text formats. */
const DICTS = {
  sidecar: 'sidecar.dict', 'reader-npy': 'npy.dict', 'reader-jsonl': 'jsonl.dict',
  'reader-csv': 'text.dict', 'reader-tsv': 'text.dict', 'reader-text': 'text.dict',
};

const args = process.argv.slice(2);
let seconds = Number(process.env.FUZZ_SECONDS ?? 30);
const chosen = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else if (args[i] === '--list') { console.log(TARGETS.join('\n')); process.exit(0); }
  else chosen.push(args[i]);
}
if (!(seconds > 0)) throw new Error('--seconds / FUZZ_SECONDS must be a positive number');
for (const t of chosen) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; targets: ${TARGETS.join(', ')}`);
const run = chosen.length > 0 ? chosen : TARGETS;
/** Per-input timeout: a hang is an input that takes longer than this (instrumented code is slow). */
const timeoutMs = Number(process.env.FUZZ_TIMEOUT_MS ?? 5000);

const jazzerCli = require.resolve('@jazzer.js/core/dist/cli.js');
const results = [];
for (const target of run) results.push(await fuzzOne(target));

console.log('\n| target | executions | seconds | exec/s | findings |');
console.log('| --- | ---: | ---: | ---: | --- |');
const clean = (r) => r.code === 0 && r.findings.length === 0 && r.runs !== null;
for (const r of results) {
  const found = clean(r) ? 'none' : r.findings.join(', ') || (r.runs === null ? `did not run (exit code ${r.code}, see its output above)` : `exit code ${r.code}`);
  console.log(`| ${r.target} | ${r.runs ?? '?'} | ${r.seconds ?? '?'} | ${r.runs && r.seconds ? Math.round(r.runs / r.seconds) : '?'} | ${found} |`);
}
process.exit(results.every(clean) ? 0 : 1);

function fuzzOne(target) {
  const work = join(CACHE, 'corpus', target);
  const artifacts = join(CACHE, 'findings', target);
  const seeds = join(ROOT, 'fuzz', 'corpus', target);
  mkdirSync(work, { recursive: true });
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const corpora = [work, ...(existsSync(seeds) ? [seeds] : [])];
  const argv = [
    '--require', join(ROOT, 'fuzz', 'support', 'jazzer-native.cjs'),
    '--import', 'tsx',
    jazzerCli, join('fuzz', 'targets', target), ...corpora,
    '-i', join(ROOT, 'packages', 'annoy-ts', 'src') + '/',
    '--timeout', String(timeoutMs),
    ...(ASYNC.has(target) ? [] : ['--sync']),
    '--',
    `-max_total_time=${seconds}`,
    '-max_len=8192',
    '-rss_limit_mb=4096',
    '-print_final_stats=1',
    `-artifact_prefix=${artifacts}/`,
    ...(DICTS[target] ? [`-dict=${join(ROOT, 'fuzz', 'dict', DICTS[target])}`] : []),
  ];
  console.log(`\n=== ${target}: ${seconds} s`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-200_000);
      for (const line of text.split('\n')) {
        if (/^#\d+\s+(pulse|DONE)|^Done \d+ runs|==\d+==|Error|error in|Violation|crash|timeout|SUMMARY/i.test(line)) process.stdout.write(`  ${line}\n`);
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => {
      const done = /Done (\d+) runs in (\d+) second/.exec(tail);
      const stat = /stat::number_of_executed_units:\s*(\d+)/.exec(tail);
      const findings = [];
      for (const f of readdirSync(artifacts)) {
        const dir = join(ROOT, 'fuzz', 'regressions', target);
        mkdirSync(dir, { recursive: true });
        copyFileSync(join(artifacts, f), join(dir, basename(f)));
        findings.push(`${f} → fuzz/regressions/${target}/`);
      }
      resolve({ target, code: code ?? 1, runs: done ? Number(done[1]) : stat ? Number(stat[1]) : null, seconds: done ? Number(done[2]) : null, findings });
    });
  });
}
