/**
 * The datasets as the benchmark uses them: loaded through datasets/
 * (loadBenchDataset), optionally cut to the first N base rows (then the
 * ground truth is recomputed for that subset and cached under
 * .cache/bench/ground-truth/), spot-checked against brute force, and written
 * as .fbin work files for the child processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type BenchDatasetName, dataHash, loadBenchDataset } from '../../datasets/bench.ts';
import { computeGroundTruth } from '../../datasets/ground-truth.ts';
import { readFbin, readIbin, writeFbin, writeIbin } from './fbin.ts';
import { CACHE_DIR } from './paths.ts';
import { exactDistance } from './recall.ts';
import type { BenchMetric } from './types.ts';

export interface PreparedDataset {
  name: BenchDatasetName;
  metric: BenchMetric;
  dim: number;
  nBase: number;
  nBaseFull: number;
  nQueries: number;
  /** nBase × dim, row-major. */
  base: Float32Array;
  /** nQueries × dim, row-major. */
  queries: Float32Array;
  /** nQueries × gtK. */
  gtIds: Int32Array;
  gtDistances: Float32Array;
  gtK: number;
  groundTruthSeconds: number;
  groundTruthComputedQueries: number;
  groundTruthSource: string;
  loadSeconds: number;
  /** SHA-1 over the shape, a sample of base rows and the queries: identifies the data for build caches. */
  hash: string;
  baseFile: string;
  queriesFile: string;
}

interface SubsetGt {
  ids: Int32Array;
  distances: Float32Array;
  k: number;
  seconds: number;
  source: string;
}

async function subsetGroundTruth(name: string, metric: BenchMetric, base: Float32Array, queries: Float32Array, dim: number, k: number, hash: string): Promise<SubsetGt> {
  const nBase = base.length / dim;
  const nQ = queries.length / dim;
  const stem = path.join(CACHE_DIR, 'ground-truth', `${name}-n${nBase}-q${nQ}-k${k}`);
  try {
    const meta = JSON.parse(fs.readFileSync(`${stem}.json`, 'utf8')) as { hash: string; seconds: number };
    if (meta.hash === hash) {
      const ids = readIbin(`${stem}.ibin`);
      const dist = readFbin(`${stem}.fbin`);
      if (ids.n === nQ && ids.d === k && dist.n === nQ && dist.d === k) {
        return { ids: ids.data, distances: dist.data, k, seconds: meta.seconds, source: `${path.basename(stem)} (bench cache)` };
      }
    }
  } catch {
    /* not cached yet */
  }
  const gt = await computeGroundTruth({ base, queries, dim, metric, k }, { label: `${name} subset ground truth`, quiet: true });
  writeIbin(`${stem}.ibin`, gt.ids, k);
  writeFbin(`${stem}.fbin`, gt.distances, k);
  fs.writeFileSync(`${stem}.json`, `${JSON.stringify({ hash, seconds: gt.seconds, threads: gt.threads, computedAt: new Date().toISOString() }, null, 2)}\n`);
  return { ids: gt.ids, distances: gt.distances, k, seconds: gt.seconds, source: `${path.basename(stem)} (computed now)` };
}

/**
 * Brute-force check of a few queries' k nearest against the ground truth: the
 * k-th distance must agree and every listed neighbour must be within it.
 * Returns problems found (empty when all is well).
 */
export function spotCheckGroundTruth(ds: PreparedDataset, k: number, nCheck = 4): string[] {
  const problems: string[] = [];
  const { dim, nBase, base, queries, metric } = ds;
  const dist = new Float64Array(nBase);
  for (let c = 0; c < nCheck && c < ds.nQueries; c++) {
    const q = Math.floor((c * ds.nQueries) / nCheck);
    for (let i = 0; i < nBase; i++) dist[i] = exactDistance(metric, queries, q * dim, base, i * dim, dim);
    const kth = Float64Array.from(dist).sort()[k - 1]!;
    const gtKth = ds.gtDistances[q * ds.gtK + k - 1]!;
    if (Math.abs(kth - gtKth) > 1e-4 * Math.max(1, kth)) {
      problems.push(`query ${q}: brute-force ${k}-th distance ${kth.toPrecision(7)}, ground truth says ${gtKth.toPrecision(7)}`);
    }
    for (let j = 0; j < k; j++) {
      const id = ds.gtIds[q * ds.gtK + j]!;
      if (!(dist[id]! <= kth * (1 + 1e-5) + 1e-6)) {
        problems.push(`query ${q}: ground-truth neighbour ${j} (id ${id}) is at ${dist[id]!.toPrecision(7)}, beyond the ${k}-th distance ${kth.toPrecision(7)}`);
        break;
      }
    }
  }
  return problems;
}

export async function prepareDataset(name: BenchDatasetName, opts: { nQueries: number; k: number; baseLimit: number | undefined; workDir: string }): Promise<PreparedDataset> {
  const t0 = performance.now();
  const ds = await loadBenchDataset(name, { nQueries: opts.nQueries, quiet: false });
  const metric = ds.metric as BenchMetric;
  const nBase = opts.baseLimit !== undefined ? Math.min(opts.baseLimit, ds.nBase) : ds.nBase;
  const base = ds.base.subarray(0, nBase * ds.dim);
  const hash = dataHash(base, nBase, ds.queries, ds.dim);
  let gt: SubsetGt;
  if (nBase === ds.nBase) {
    gt = {
      ids: ds.groundTruth,
      distances: ds.groundTruthDistances,
      k: ds.k,
      seconds: ds.groundTruthSeconds,
      source: `${path.basename(ds.info.groundTruthFile)} (datasets/, ${ds.info.groundTruthFrom})`,
    };
  } else {
    gt = await subsetGroundTruth(name, metric, base, ds.queries, ds.dim, Math.max(opts.k, 10), hash);
  }
  const dir = path.join(opts.workDir, name);
  const baseFile = path.join(dir, 'base.fbin');
  const queriesFile = path.join(dir, 'queries.fbin');
  writeFbin(baseFile, base, ds.dim);
  writeFbin(queriesFile, ds.queries, ds.dim);
  return {
    name,
    metric,
    dim: ds.dim,
    nBase,
    nBaseFull: ds.nBase,
    nQueries: ds.nQueries,
    base,
    queries: ds.queries,
    gtIds: gt.ids,
    gtDistances: gt.distances,
    gtK: gt.k,
    groundTruthSeconds: gt.seconds,
    groundTruthComputedQueries: nBase === ds.nBase ? ds.groundTruthComputedQueries : ds.nQueries,
    groundTruthSource: gt.source,
    loadSeconds: (performance.now() - t0) / 1000,
    hash,
    baseFile,
    queriesFile,
  };
}
