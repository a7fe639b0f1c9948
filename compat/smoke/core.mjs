// The portable part of the compatibility smoke suite: no file system, no Node built-ins, so the same
// code runs under Node, Bun, Deno and — bundled by esbuild for the browser — in a sandbox that has
// only web globals. It takes the annoy-ts module namespace it should test and returns
//   { failures: string[], answers: {...} }
// where `answers` holds every query answer, distance and byte hash, which compat/compare.mjs
// compares across runtimes (they must be identical to Node 20's).
//
// Plain JavaScript on purpose: Node 20 cannot run TypeScript without a loader, and the point is to
// exercise the published package as a user's JavaScript would.
//
// The seeded generator is the project's one (packages/cli/src/cli/prng.ts): compat/run.sh
// transpiles it to prng.mjs beside this file in the temporary project.
import { Rng } from './prng.mjs';

export const METRICS = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];

/** Collects failed expectations instead of stopping at the first one. */
export class Checker {
  constructor(prefix = '') {
    this.prefix = prefix;
    this.failures = [];
    this.count = 0;
  }
  ok(condition, message) {
    this.count++;
    if (!condition) this.failures.push(`${this.prefix}${typeof message === 'function' ? message() : message}`);
    return Boolean(condition);
  }
  same(actual, expected, message) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    return this.ok(a === e, () => `${message}: got ${clip(a)}, expected ${clip(e)}`);
  }
  throws(fn, klass, pattern, message) {
    try {
      fn();
    } catch (error) {
      return this.ok(error instanceof klass && pattern.test(String(error.message)),
        () => `${message}: threw ${error && error.name}: ${error && error.message}`);
    }
    return this.ok(false, `${message}: did not throw`);
  }
}

function clip(text, max = 240) {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Deterministic vectors for a metric: gaussian (dot: scaled rows), hamming: 0/1. */
export function makeVectors(metric, n, f, seed) {
  const rng = new Rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const scale = metric === 'dot' ? rng.nextRange(0.25, 2.25) : 1;
    const row = new Array(f);
    for (let j = 0; j < f; j++) row[j] = metric === 'hamming' ? rng.nextInt(2) : Math.fround(rng.nextGaussian() * scale);
    rows.push(row);
  }
  return rows;
}

/** FNV-1a (32-bit) of bytes, as hex: a portable fingerprint of an index file. */
export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const ascending = (metric) => metric !== 'dot';

/** Exact top-k of item i by brute force over getDistance, ordered as Annoy orders (distance, then id). */
function bruteForce(index, metric, i, k, ids) {
  const scored = ids.map((j) => [j, index.getDistance(i, j)]);
  scored.sort((x, y) => (x[1] === y[1] ? x[0] - y[0] : ascending(metric) ? x[1] - y[1] : y[1] - x[1]));
  return scored.slice(0, k);
}

/** Every answer the suite compares for one index: queries by vector and item, default and exhaustive. */
export function answersOf(index, queries, items, k = 10) {
  return {
    nItems: index.getNItems(),
    nTrees: index.getNTrees(),
    byVector: queries.map((q) => index.getNnsByVector(q, k, -1, true)),
    byVectorAll: queries.map((q) => index.getNnsByVector(q, k, Infinity, true)),
    byItem: items.map((i) => index.getNnsByItem(i, k, -1, true)),
    byItemAll: items.map((i) => index.getNnsByItem(i, k, Infinity, true)),
  };
}

export const BUILT = { n: 300, f: 16, hammingF: 100, trees: 10, seed: 42, queries: 8, items: 8 };

/**
 * Build, serialise, reopen and query every metric with `api` (an annoy-ts module namespace).
 * Returns the answers per metric plus the bytes of each index (for the file tests of smoke.mjs).
 */
export function coreSuite(api, check) {
  const { AnnoyIndex, AnnoyError, AnnoyArgumentError, AnnoyStateError } = api;
  const answers = {};
  const indexes = {};
  for (const [m, metric] of METRICS.entries()) {
    const c = new Checker(`${check.prefix}${metric}: `);
    const f = metric === 'hamming' ? BUILT.hammingF : BUILT.f;
    const vectors = makeVectors(metric, BUILT.n, f, 1000 + m);
    const queries = makeVectors(metric, BUILT.queries, f, 2000 + m);
    const items = Array.from({ length: BUILT.items }, (_, j) => j * 37);

    const index = new AnnoyIndex(f, metric);
    c.ok(index.f === f && index.metric === metric, 'f and metric properties');
    vectors.forEach((v, i) => index.addItem(i, v));
    index.setSeed(BUILT.seed);
    index.build(BUILT.trees);
    const built = answersOf(index, queries, items);
    c.same(built.nItems, BUILT.n, 'getNItems');
    c.same(built.nTrees, BUILT.trees, 'getNTrees');
    for (const r of built.byVector) c.ok(r.ids.length === 10 && r.distances.length === 10, 'a default query returns 10 neighbours');

    // Exhaustive search = brute force over getDistance (ids and distances).
    const all = vectors.map((_, i) => i);
    items.forEach((i, j) => {
      const exact = bruteForce(index, metric, i, 10, all);
      c.same(built.byItemAll[j].ids, exact.map((x) => x[0]), `item ${i}: exhaustive search = brute force (ids)`);
      c.same(built.byItemAll[j].distances, exact.map((x) => x[1]), `item ${i}: exhaustive search = brute force (distances)`);
    });
    // Stored vectors are the float32 of the input (hamming: the bits).
    for (const i of [0, 1, BUILT.n - 1]) c.same(index.getItemVector(i), vectors[i].map(Math.fround), `getItemVector(${i})`);
    c.ok(ascending(metric) ? index.getDistance(5, 5) === 0 : index.getDistance(5, 5) > 0, 'getDistance(i, i)');

    // Bytes: toBuffer → fromBuffer gives the same answers; a rebuild with the same seed the same bytes.
    const bytes = index.toBuffer().slice();
    const reopened = AnnoyIndex.fromBuffer(bytes.slice().buffer, f, metric);
    c.same(answersOf(reopened, queries, items), built, 'fromBuffer(toBuffer()) answers like the built index');
    const again = new AnnoyIndex(f, metric);
    vectors.forEach((v, i) => again.addItem(i, v));
    again.setSeed(BUILT.seed);
    again.build(BUILT.trees);
    c.same(fnv1a(again.toBuffer()), fnv1a(bytes), 'a seeded rebuild is byte-identical');
    again.unbuild();
    again.build(BUILT.trees);
    c.ok(again.getNTrees() === BUILT.trees, 'unbuild() then build() again');

    answers[metric] = { f, bytes: bytes.length, fnv1a: fnv1a(bytes), distances: [[0, 1], [2, 299], [17, 42]].map(([i, j]) => index.getDistance(i, j)), ...built };
    indexes[metric] = { f, bytes, queries, items, answers: built };
    check.failures.push(...c.failures);
    check.count += c.count;
  }

  // Errors are the documented classes, shared by both entry points.
  check.throws(() => new AnnoyIndex(3, 'cosine'), AnnoyArgumentError, /cosine/, 'unknown metric');
  check.throws(() => new AnnoyIndex(3, 'angular').addItem(0, [1, 2]), AnnoyArgumentError, /dimension|length|3/, 'wrong dimension');
  check.throws(() => new AnnoyIndex(3, 'angular').getNnsByItem(0, 1), AnnoyStateError, /./, 'query before build');
  check.ok(AnnoyArgumentError.prototype instanceof AnnoyError, 'AnnoyArgumentError extends AnnoyError');
  return { answers, indexes };
}

/** Parses an .fbin file (uint32 n, uint32 d, n·d float32, little-endian) into rows. */
export function parseFbin(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true), d = view.getUint32(4, true);
  const rows = [];
  for (let r = 0; r < n; r++) {
    const row = new Array(d);
    for (let j = 0; j < d; j++) row[j] = view.getFloat32(8 + 4 * (r * d + j), true);
    rows.push(row);
  }
  return rows;
}

/** Distances in the fixtures carry 9 significant digits: equal after float32 rounding. */
export function sameAnswer(actual, expected) {
  return actual.ids.length === expected.ids.length &&
    actual.ids.every((id, j) => id === expected.ids[j]) &&
    actual.distances.every((d, j) => Math.fround(d) === Math.fround(expected.distances[j]));
}

/**
 * Golden fixtures written by real Annoy 1.17: `fixture` = { name, bytes: Uint8Array, info, queries: rows,
 * expected: { 'query-k10': …, 'query-k10-all': …, 'items-k10': …, 'items-k10-all': …, distances: … } }.
 * `open(bytes, f, metric)` opens the index (fromBuffer, or load() from a file under Node/Bun/Deno).
 */
export function goldenSuite(fixture, open, check) {
  const c = new Checker(`${check.prefix}fixture ${fixture.name}: `);
  const { info, expected } = fixture;
  const { metric, f } = expected['query-k10'];
  const index = open(fixture, f, metric);
  c.same(index.getNItems(), info.n_items, 'getNItems (info.json)');
  c.same(index.getNTrees(), info.n_trees, 'getNTrees (info.json)');
  const answers = { nItems: index.getNItems(), nTrees: index.getNTrees() };
  for (const key of ['query-k10', 'query-k10-all', 'items-k10', 'items-k10-all']) {
    const spec = expected[key];
    const searchK = spec.search_k;
    const got = spec.by === 'vector'
      ? fixture.queries.map((q) => index.getNnsByVector(q, spec.k, searchK, true))
      : spec.items.map((i) => index.getNnsByItem(i, spec.k, searchK, true));
    c.same(got.length, spec.results.length, `${key}: number of queries`);
    got.forEach((r, j) => c.ok(sameAnswer(r, spec.results[j]),
      () => `${key} #${j}: got ${JSON.stringify(r)}, real Annoy gave ${JSON.stringify(spec.results[j])}`));
    answers[key] = got;
  }
  const pairs = expected.distances.pairs;
  const distances = pairs.map(([i, j]) => index.getDistance(i, j));
  pairs.forEach(([i, j, d], p) => c.ok(Math.fround(distances[p]) === Math.fround(d), () => `getDistance(${i}, ${j}) = ${distances[p]}, real Annoy: ${d}`));
  answers.distances = distances;
  check.failures.push(...c.failures);
  check.count += c.count;
  return answers;
}

export const GOLDEN_FILES = ['info.json', 'query-k10.json', 'query-k10-all.json', 'items-k10.json', 'items-k10-all.json', 'distances.json'];

/** Turns the raw files of one fixture folder (name → bytes / text) into what goldenSuite takes. */
export function fixtureFrom(name, files) {
  const json = (file) => JSON.parse(files[file]);
  return {
    name,
    bytes: files['index.ann'],
    info: json('info.json'),
    queries: parseFbin(files['queries.fbin']),
    expected: {
      'query-k10': json('query-k10.json'),
      'query-k10-all': json('query-k10-all.json'),
      'items-k10': json('items-k10.json'),
      'items-k10-all': json('items-k10-all.json'),
      distances: json('distances.json'),
    },
  };
}

/** The whole portable suite over the bytes of the golden fixtures: what the browser bundle runs. */
export function portableSuite(api, fixtures, prefix = '') {
  // Run only against the portable entry (dist/index.js): the Node entry's save() works.
  const check = new Checker(prefix);
  const { answers } = coreSuite(api, check);
  const golden = {};
  for (const fixture of fixtures) {
    golden[fixture.name] = goldenSuite(fixture, (fx, f, metric) => api.AnnoyIndex.fromBuffer(fx.bytes, f, metric), check);
  }
  // Without a file system the portable AnnoyIndex refuses save/load with a pointer to toBuffer().
  const small = new api.AnnoyIndex(2, 'euclidean');
  small.addItem(0, [1, 2]);
  small.build(1);
  check.throws(() => small.save('x.ann'), api.AnnoyStateError, /toBuffer/, 'portable save() refuses with a hint');
  return { check, answers: { core: answers, golden } };
}
