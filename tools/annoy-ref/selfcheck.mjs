#!/usr/bin/env node
// Self-check of the annoy-ts reference driver against the golden fixtures.
//
//   node tools/annoy-ref/selfcheck.mjs [FIXTURES_DIR] [--native]
//
// For every fixture folder (default: fixtures/annoy in the repository,
// or $ANNOY_FIXTURES): rebuilds index.ann with the scalar driver and compares it
// byte for byte (hamming: masking the bytes Annoy leaves uninitialised in split
// records, spec 5.4), then checks `info`, `vectors`, `query`, `items` and
// `distance` against the fixture files. The legacy fixture (written by Python
// in 2014) is only read, never rebuilt.
// --native additionally smoke-tests the native driver on the exhaustive
// searches: same ids, distances within rounding (1e-5 relative; angular
// self-distances of up to 1e-3 count as 0).
// Plain Node.js, no dependencies. Exit status 0 = all good.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const args = process.argv.slice(2);
const native = args.includes('--native');
const positional = args.filter((a) => !a.startsWith('--'));
const fixturesDir = resolve(
  positional[0] ?? process.env.ANNOY_FIXTURES ?? join(repo, 'fixtures/annoy'),
);

function setup(flag) {
  const out = execFileSync('bash', [join(here, 'setup.sh'), ...(flag ? [flag] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop();
}

function run(driver, argv) {
  const out = execFileSync(driver, argv, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

function readFbin(p) {
  const b = readFileSync(p);
  const n = b.readUInt32LE(0);
  const d = b.readUInt32LE(4);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) data[i] = b.readFloatLE(8 + 4 * i);
  return { n, d, data };
}

function readIbin(p) {
  const b = readFileSync(p);
  const n = b.readUInt32LE(0);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readInt32LE(8 + 4 * i);
  return out;
}

// Distances are printed with %.9g: equal when they are the same float32.
const f32 = (x) => Math.fround(typeof x === 'string' ? Number(x) : x);
const sameDist = (a, b) => f32(a) === f32(b) || (Number.isNaN(f32(a)) && Number.isNaN(f32(b)));
// Native (AVX/FMA) rounding: 1e-5 relative; angular's sqrt(2 - 2cos) turns a
// last-bit error in cos into ~4e-4 near 0, so anything below 1e-3 counts as 0.
const closeDist = (a, b) => {
  const x = f32(a), y = f32(b);
  return x === y || Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x), Math.abs(y)) || (Math.abs(x) < 1e-3 && Math.abs(y) < 1e-3);
};

let failures = 0;
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.log(`    FAIL ${what}`);
  }
  return ok;
}

function compareResults(name, got, want, dist = sameDist, idsMustMatch = true) {
  if (!check(got.length === want.length, `${name}: ${got.length} results, expected ${want.length}`)) return;
  let bad = 0;
  for (let r = 0; r < want.length; r++) {
    const g = got[r], w = want[r];
    const idsOk = !idsMustMatch || (g.ids.length === w.ids.length && g.ids.every((v, i) => v === w.ids[i]));
    const dOk = g.distances.length === w.distances.length && g.distances.every((v, i) => dist(v, w.distances[i]));
    if (!idsOk || !dOk) {
      if (bad++ < 3) console.log(`    ${name} row ${r}: got ${JSON.stringify(g)} want ${JSON.stringify(w)}`);
    }
  }
  check(bad === 0, `${name}: ${bad} of ${want.length} rows differ`);
}

// Byte comparison of two index files; for hamming, skip the padding (bytes
// 12..15) and words v[1..W) of split records (id >= n_items, nd > K).
function compareIndex(got, want, info) {
  if (got.length !== want.length) return `size ${got.length} != ${want.length}`;
  const { node_size: s, K, n_items: nItems, metric } = info;
  let masked = 0;
  for (let off = 0; off < want.length; off += s) {
    const id = off / s;
    const a = got.subarray(off, off + s), b = want.subarray(off, off + s);
    if (metric === 'hamming' && id >= nItems && b.readInt32LE(0) > K) {
      masked++;
      for (let i = 0; i < s; i++) {
        if ((i >= 12 && i < 16) || i >= 24) continue;
        if (a[i] !== b[i]) return `record ${id} (split) byte ${i} differs`;
      }
    } else if (!a.equals(b)) {
      let i = 0;
      while (a[i] === b[i]) i++;
      return `record ${id} byte ${i} differs`;
    }
  }
  return metric === 'hamming' ? `ok (${masked} split records masked)` : 'ok';
}

function checkFixture(dir, driver, nativeDriver, tmp) {
  const name = dir.split('/').pop();
  const info = readJson(join(dir, 'info.json'));
  const { metric, f } = info;
  const index = join(dir, 'index.ann');
  const build = existsSync(join(dir, 'build.json')) ? readJson(join(dir, 'build.json')).build : null;
  console.log(`${name}: ${metric} f=${f}`);

  // 1. rebuild, byte for byte
  if (name === 'legacy-angular-f10' || !build) {
    console.log('    build: skipped (legacy file written by Python)');
  } else {
    const out = join(tmp, `${name}.ann`);
    const argv = ['build', metric, String(f), join(dir, 'vectors.fbin'), String(build.n_trees_requested), String(build.seed), out];
    if (existsSync(join(dir, 'ids.ibin'))) argv.push(join(dir, 'ids.ibin'));
    const res = run(driver, argv);
    check(res.n_items === info.n_items && res.n_trees === info.n_trees, `build reports n_items=${res.n_items} n_trees=${res.n_trees}`);
    const verdict = compareIndex(readFileSync(out), readFileSync(index), info);
    check(verdict.startsWith('ok'), `rebuilt index.ann: ${verdict}`);
    console.log(`    build: ${verdict} (${res.build_seconds.toFixed(4)} s)`);
  }

  // 2. info and the structural check
  const got = run(driver, ['info', metric, String(f), index]);
  for (const key of ['node_size', 'K', 'n_nodes', 'n_items', 'n_trees']) check(got[key] === info[key], `info.${key} = ${got[key]}, expected ${info[key]}`);
  check(JSON.stringify(got.roots) === JSON.stringify(info.roots), `info.roots ${JSON.stringify(got.roots)}`);
  check(got.trees_ok === true, `trees_ok: ${got.problem}`);

  // 3. stored vectors equal the input rows (holes: zeros)
  const vecFile = join(dir, existsSync(join(dir, 'vectors.fbin')) ? 'vectors.fbin' : 'items.fbin');
  const outVec = join(tmp, `${name}.vectors.fbin`);
  run(driver, ['vectors', metric, String(f), index, outVec]);
  const stored = readFbin(outVec), input = readFbin(vecFile);
  const ids = existsSync(join(dir, 'ids.ibin')) ? readIbin(join(dir, 'ids.ibin')) : Int32Array.from({ length: input.n }, (_, i) => i);
  const expected = new Float32Array(info.n_items * f);
  for (let r = 0; r < input.n; r++) expected.set(input.data.subarray(r * f, (r + 1) * f), ids[r] * f);
  check(stored.n === info.n_items && stored.d === f, `vectors: n=${stored.n} d=${stored.d}`);
  check(stored.data.every((v, i) => Object.is(v, expected[i]) || v === expected[i]), 'vectors: stored vectors differ from input');

  // 4. searches and distances
  const queries = join(dir, 'queries.fbin');
  for (const file of ['query-k10.json', 'query-k10-all.json', 'items-k10.json', 'items-k10-all.json']) {
    const want = readJson(join(dir, file));
    let res;
    if (want.by === 'vector') {
      res = run(driver, ['query', metric, String(f), index, queries, String(want.k), String(want.search_k)]);
    } else {
      const items = want.items;
      const contiguous = items.every((v, i) => v === items[0] + i);
      if (!check(contiguous, `${file}: items not contiguous`)) continue;
      res = run(driver, ['items', metric, String(f), index, String(want.k), String(want.search_k), String(items[0]), String(items.length)]);
    }
    compareResults(file, res.results, want.results);
    if (nativeDriver && file.includes('-all')) {
      // Exhaustive searches: same ids, distances within rounding (AVX/fast-math).
      const nres = want.by === 'vector'
        ? run(nativeDriver, ['query', metric, String(f), index, queries, String(want.k), String(want.search_k)])
        : run(nativeDriver, ['items', metric, String(f), index, String(want.k), String(want.search_k), String(want.items[0]), String(want.items.length)]);
      compareResults(`native ${file}`, nres.results, want.results, closeDist, metric === 'hamming');
    }
  }
  const dist = readJson(join(dir, 'distances.json'));
  const res = run(driver, ['distance', metric, String(f), index, ...dist.pairs.flatMap(([i, j]) => [String(i), String(j)])]);
  check(res.pairs.length === dist.pairs.length, 'distance: pair count');
  let bad = 0;
  dist.pairs.forEach(([i, j, d], k) => {
    const g = res.pairs[k];
    if (!g || g[0] !== i || g[1] !== j || !sameDist(g[2], d)) bad++;
  });
  check(bad === 0, `distances.json: ${bad} pairs differ`);
}

const t0 = Date.now();
const driver = setup();
const nativeDriver = native ? setup('--native') : null;
console.log(`driver: ${driver}${nativeDriver ? `\nnative: ${nativeDriver}` : ''}\nfixtures: ${fixturesDir}`);
const tmp = mkdtempSync(join(tmpdir(), 'annoy-ref-selfcheck-'));
try {
  const dirs = readdirSync(fixturesDir)
    .map((d) => join(fixturesDir, d))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'info.json')))
    .sort();
  if (dirs.length === 0) throw new Error(`no fixtures found in ${fixturesDir}`);
  for (const dir of dirs) {
    try {
      checkFixture(dir, driver, nativeDriver, tmp);
    } catch (e) {
      failures++;
      console.log(`    FAIL ${e instanceof Error ? e.message : e}${e?.stderr ? `\n${e.stderr}` : ''}`);
    }
  }
  console.log(`\n${dirs.length} fixtures, ${checks} checks, ${failures} failures (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
