/**
 * Sanity checks for the dataset layer (not part of the test suite: it needs
 * the real datasets and takes a while on first run).
 *
 *   npx tsx datasets/verify.ts [--quick] [--spot N] [--no-cache-tests]
 *
 * 1. loadGlove: timing, shape, nearest words to a few probes by cosine.
 * 2. loadFashionMnist: timing, shape, label counts, pixel range.
 * 3. splitBaseQueries: deterministic, disjoint, complete.
 * 4. loadBenchDataset (both; --quick: 1,000 queries): N random ground-truth
 *    rows re-computed by the naive single-threaded bruteForceKnn; ids must
 *    agree except for swaps among equal distances.
 * 5. Cache robustness, in a temporary ANNOY_TS_CACHE: truncated / corrupted
 *    cache files are detected and rebuilt with identical contents.
 * Exits non-zero on any failure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DATASETS, QUICK_QUERIES, loadBenchDataset } from './bench.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import { loadGlove } from './glove.ts';
import { bruteForceKnn } from './ground-truth.ts';
import { Rng } from '../packages/cli/src/cli/prng.ts';
import { gatherRows, splitBaseQueries } from './split.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    spot: { type: 'string', default: '5' },
    'no-cache-tests': { type: 'boolean', default: false },
  },
});
const spot = Number(args.spot);
let failures = 0;
const out = (s: string): void => void process.stdout.write(`${s}\n`);
function check(ok: boolean, what: string): void {
  out(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// 1. GloVe ------------------------------------------------------------------
{
  const g = await loadGlove();
  out(`loadGlove: ${g.count} × ${g.dim} from ${g.loadedFrom} in ${g.seconds.toFixed(2)} s`);
  check(g.count === 341479 && g.words.length === g.count && g.vectors.length === g.count * 100, 'glove shape');
  check(g.words[0] === 'the' && g.words[1] === ',' && g.words[2] === '.', 'glove words in frequency order');
  const g2 = await loadGlove({ quiet: true });
  out(`loadGlove again: ${g2.loadedFrom} in ${g2.seconds.toFixed(2)} s`);
  check(g2.loadedFrom === 'cache', 'second load comes from the cache');
  // Timing is informational only: it depends on what else the machine is doing.
  if (g2.seconds >= 1) out(`note: cached load took ${g2.seconds.toFixed(2)} s (busy machine?)`);
  for (const probe of ['king', 'paris', 'computer', 'happy']) {
    const id = g.words.indexOf(probe);
    const q = g.vectors.subarray(id * 100, id * 100 + 100);
    const nn = bruteForceKnn(g.vectors, 100, q, 'angular', 11);
    const list = Array.from(nn.ids)
      .slice(1)
      .map((j, r) => `${g.words[j]} (${(1 - nn.distances[r + 1]! ** 2 / 2).toFixed(3)})`);
    out(`  nearest to "${probe}" by cosine: ${list.join(', ')}`);
    if (probe === 'king') {
      const top = Array.from(nn.ids).slice(1, 11).map((j) => g.words[j]);
      check(nn.ids[0] === id && top.includes('queen') && top.includes('prince'), 'king ~ queen, prince');
    }
  }
}

// 2. Fashion-MNIST ----------------------------------------------------------
{
  const f = await loadFashionMnist();
  out(`loadFashionMnist: ${f.count} × ${f.dim} from ${f.loadedFrom} in ${f.seconds.toFixed(2)} s`);
  check(f.count === 70000 && f.vectors.length === 70000 * 784 && f.labels.length === 70000, 'fashion shape');
  const perClass = new Array<number>(10).fill(0);
  for (const l of f.labels) perClass[l]!++;
  check(perClass.every((c) => c === 7000), `7000 images per class (${perClass.join(',')})`);
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (const v of f.vectors) {
    if (v < min) min = v;
    if (v > max) max = v;
    if (!Number.isInteger(v)) integral = false;
  }
  check(min === 0 && max === 255 && integral, `pixels are integers in [${min}, ${max}]`);
}

// 3. Split ------------------------------------------------------------------
{
  const a = splitBaseQueries(70000, 10000, 42);
  const b = splitBaseQueries(70000, 10000, 42);
  const c = splitBaseQueries(70000, 10000, 43);
  check(sameArray(a.queryIds, b.queryIds) && sameArray(a.baseIds, b.baseIds), 'split is deterministic');
  check(!sameArray(a.queryIds, c.queryIds), 'another seed gives another split');
  const seen = new Uint8Array(70000);
  for (const id of a.queryIds) seen[id]!++;
  for (const id of a.baseIds) seen[id]!++;
  check(a.baseIds.length === 60000 && seen.every((s) => s === 1), 'split is a partition (60000 base + 10000 queries)');
  check(a.baseIds.every((v, i) => i === 0 || v > a.baseIds[i - 1]!), 'base ids ascending');
  out(`  first query ids (seed 42): ${Array.from(a.queryIds.subarray(0, 8)).join(', ')}`);
  const rows = gatherRows(new Float32Array([0, 1, 10, 11, 20, 21]), 2, [2, 0]);
  check(sameArray(rows, [20, 21, 0, 1]), 'gatherRows');
}

// 4. Ground truth spot checks -----------------------------------------------
for (const name of BENCH_DATASETS) {
  const ds = await loadBenchDataset(name, args.quick ? { nQueries: QUICK_QUERIES } : {});
  out(
    `${name}: base ${ds.nBase}, queries ${ds.nQueries}, k ${ds.k}, ground truth ${ds.info.groundTruthFrom} ` +
      `(computation took ${ds.groundTruthSeconds.toFixed(1)} s), loaded in ${ds.info.seconds.toFixed(2)} s`,
  );
  const rng = new Rng(7);
  const picks = [0, ds.nQueries - 1];
  while (picks.length < spot) picks.push(rng.nextInt(ds.nQueries));
  let exact = 0;
  let tieSwaps = 0;
  let bad = 0;
  let maxDistErr = 0;
  for (const qi of picks.slice(0, Math.max(spot, 0))) {
    const q = ds.queries.subarray(qi * ds.dim, (qi + 1) * ds.dim);
    const ref = bruteForceKnn(ds.base, ds.dim, q, ds.metric, ds.k);
    const row = ds.groundTruth.subarray(qi * ds.k, (qi + 1) * ds.k);
    const dist = ds.groundTruthDistances.subarray(qi * ds.k, (qi + 1) * ds.k);
    if (sameArray(row, ref.ids)) exact++;
    for (let r = 0; r < ds.k; r++) {
      const e = Math.abs(dist[r]! - ref.distances[r]!);
      if (e > maxDistErr) maxDistErr = e;
      if (row[r] !== ref.ids[r]) {
        // acceptable only if the two ids are at the same distance (a tie, broken differently by rounding)
        if (e <= 1e-6 * Math.max(1, ref.distances[r]!)) tieSwaps++;
        else bad++;
      }
    }
    // the query itself is not in the base, so its nearest neighbour is not at distance 0 unless duplicated
  }
  check(
    bad === 0,
    `${name}: ${Math.min(spot, picks.length)} ground-truth rows vs naive brute force: ${exact} identical, ` +
      `${tieSwaps} tie swaps, ${bad} real mismatches, max distance diff ${maxDistErr.toExponential(2)}`,
  );
  if (!args.quick) {
    // the --quick ground truth (if cached separately) must be the prefix of the full one
    const quick = await loadBenchDataset(name, { nQueries: QUICK_QUERIES, quiet: true });
    if (quick.info.groundTruthFile !== ds.info.groundTruthFile) {
      check(
        sameArray(quick.groundTruth, ds.groundTruth.subarray(0, QUICK_QUERIES * ds.k)),
        `${name}: separately computed ${QUICK_QUERIES}-query ground truth is the prefix of the full one`,
      );
    }
  }
  for (let i = 0; i < ds.groundTruth.length; i += ds.k) {
    const row = ds.groundTruth.subarray(i, i + ds.k);
    if (new Set(row).size !== ds.k) {
      check(false, `${name}: duplicate ids in a ground-truth row`);
      break;
    }
  }
}

// 5. Cache robustness ---------------------------------------------------------
if (!args['no-cache-tests']) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'annoy-ts-cache-'));
  process.env['ANNOY_TS_CACHE'] = tmp;
  try {
    const fresh = await loadFashionMnist({ quiet: true });
    check(fresh.loadedFrom === 'source', 'ANNOY_TS_CACHE redirects the cache (fresh folder → parse)');
    const file = path.join(tmp, 'fashion-mnist', 'vectors.u8bin');
    fs.truncateSync(file, 1000);
    const rebuilt = await loadFashionMnist();
    check(rebuilt.loadedFrom === 'source' && sameArray(rebuilt.vectors.subarray(0, 784 * 10), fresh.vectors.subarray(0, 784 * 10)), 'truncated u8bin → rebuilt');
    // same size, wrong header
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, new Uint8Array(new Uint32Array([69999, 785]).buffer), 0, 8, 0);
    fs.closeSync(fd);
    const rebuilt2 = await loadFashionMnist();
    check(rebuilt2.loadedFrom === 'source', 'u8bin with a bad header → rebuilt');
    fs.writeFileSync(path.join(tmp, 'fashion-mnist', 'meta.json'), '{"format": 1, "dim": 784, "cou');
    const rebuilt3 = await loadFashionMnist();
    check(rebuilt3.loadedFrom === 'source', 'malformed meta.json → rebuilt');
    // a stale temp file left by a dead process is removed on the next write
    const stale = `${file}.tmp-999999-0`;
    fs.writeFileSync(stale, 'partial');
    fs.truncateSync(file, 0);
    await loadFashionMnist({ quiet: true });
    check(!fs.existsSync(stale), 'stale temp file of a dead process removed');
    const cached = await loadFashionMnist();
    check(cached.loadedFrom === 'cache' && sameArray(cached.vectors, fresh.vectors) && sameArray(cached.labels, fresh.labels), 'cache round-trips exactly');

    // ground-truth cache: small run, corrupt, recompute identical; larger cache serves a smaller request
    const small = await loadBenchDataset('fashion-mnist-784-euclidean', { nQueries: 24, quiet: true });
    check(small.info.groundTruthFrom === 'computed', 'ground truth computed in the fresh cache');
    const gtFile = small.info.groundTruthFile;
    fs.truncateSync(gtFile, 100);
    const again = await loadBenchDataset('fashion-mnist-784-euclidean', { nQueries: 24 });
    check(again.info.groundTruthFrom === 'computed' && sameArray(again.groundTruth, small.groundTruth), 'truncated ground truth → recomputed, identical');
    const sub = await loadBenchDataset('fashion-mnist-784-euclidean', { nQueries: 10, k: 10, quiet: true });
    let prefixOk = sub.info.groundTruthFrom === 'cache';
    for (let q = 0; q < 10; q++) {
      for (let r = 0; r < 10; r++) if (sub.groundTruth[q * 10 + r] !== small.groundTruth[q * 100 + r]) prefixOk = false;
    }
    check(prefixOk, 'a cached 24×100 ground truth serves a 10×10 request (prefix)');
    const threads1 = await loadBenchDataset('fashion-mnist-784-euclidean', { nQueries: 24, threads: 1, recomputeGroundTruth: true, quiet: true });
    check(sameArray(threads1.groundTruth, small.groundTruth), '1 thread and all threads give identical ground truth');
  } finally {
    delete process.env['ANNOY_TS_CACHE'];
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

out(failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`);
process.exit(failures === 0 ? 0 : 1);
