// Compatibility smoke test of the *installed* annoy-ts package, run unchanged by Node, Bun and Deno
// from a temporary project whose node_modules holds the packed tarball (see compat/run.sh):
//
//   <runtime> smoke.mjs --fixtures DIR --scratch DIR --out results.json
//
// 1. importing every module reachable from the entries changes no global (sideEffects: false);
// 2. `import 'annoy-ts'` resolves to the expected entry (Node, Bun and Deno: dist/node/index.js);
// 3. every metric: build, query, exhaustive search = brute force, toBuffer/fromBuffer, save, load,
//    open (sidecar), builds with nJobs = 2 (worker threads) — with the Node entry, and all but the
//    file and thread parts with the portable entry (dist/index.js) too;
// 4. the golden fixtures written by real Annoy: load() and fromBuffer() answer as real Annoy did.
// It writes every answer to --out (compat/compare.mjs compares runtimes) and exits 1 on a failure.
import process from 'node:process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { answersOf, Checker, coreSuite, fixtureFrom, fnv1a, GOLDEN_FILES, goldenSuite, METRICS, portableSuite } from './core.mjs';

const args = parseArgs(process.argv.slice(2));
const runtime = typeof globalThis.Deno !== 'undefined' ? `deno ${globalThis.Deno.version.deno}`
  : typeof globalThis.Bun !== 'undefined' ? `bun ${globalThis.Bun.version}`
  : `node ${process.versions.node}`;
const check = new Checker();

// 1. sideEffects: false — importing the library's modules leaves the global scope alone.
const before = globalSnapshot();
const api = await import('annoy-ts');
const entryUrl = import.meta.resolve('annoy-ts');
const packageRoot = new URL(entryUrl.slice(0, entryUrl.lastIndexOf('/annoy-ts/') + '/annoy-ts/'.length));
const distDir = fileURLToPath(new URL('dist/', packageRoot));
// Every module a bundler can reach through static imports from the two entries. (Worker scripts,
// started with new Worker(new URL(...)), and the CLI are entry points of their own, not imports.)
const libraryModules = reachable([join(distDir, 'index.js'), join(distDir, 'node', 'index.js')]);
for (const file of libraryModules) await import(pathToFileURL(file).href);
const after = globalSnapshot();
check.same(after, before, 'importing the library modules changed globals or built-in prototypes');
check.ok(libraryModules.length > 20, `found only ${libraryModules.length} library modules under ${distDir}`);

// 2. The entry this runtime picks from `exports`.
const entry = relative(fileURLToPath(packageRoot), fileURLToPath(entryUrl)).split('\\').join('/');
check.same(entry, 'dist/node/index.js', `${runtime} resolved 'annoy-ts' to`);
for (const name of ['crc32', 'inferRecordLayout', 'sidecarPath', 'packageVersion', 'readFileBytes', 'writeFileAtomic']) {
  check.ok(typeof api[name] === 'function', `the Node entry exports ${name}`);
}
const pkg = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8'));
check.same(api.packageVersion(), `annoy-ts ${pkg.version}`, 'packageVersion() (reads the installed package.json)');
const portable = await import(new URL('dist/index.js', packageRoot).href);
check.ok(portable.AnnoyIndex !== api.AnnoyIndex && api.AnnoyIndex.prototype instanceof portable.AnnoyIndex,
  'the Node AnnoyIndex extends the portable one');
check.ok(portable.AnnoyError === api.AnnoyError, 'both entries share the error classes');

// 3. Every metric with the Node entry, then file I/O on the indexes it built.
const { answers: core, indexes } = coreSuite(api, check);
rmSync(args.scratch, { recursive: true, force: true });
mkdirSync(args.scratch, { recursive: true });
const io = {};
for (const metric of METRICS) {
  const c = new Checker(`${metric} (files): `);
  const { f, bytes, queries, items, answers } = indexes[metric];
  const built = api.AnnoyIndex.fromBuffer(bytes, f, metric);
  const source = new api.AnnoyIndex(f, metric);
  // save() needs an index built in this object: rebuild it from the stored vectors.
  for (let i = 0; i < built.getNItems(); i++) source.addItem(i, built.getItemVector(i));
  source.setSeed(42);
  source.build(10);
  c.same(fnv1a(source.toBuffer()), fnv1a(bytes), 'rebuilt from getItemVector: same bytes');
  const path = join(args.scratch, `${metric}.ann`);
  source.save(path);
  c.same(answersOf(source, queries, items), answers, 'answers after save()');
  const onDisk = readFileSync(path);
  c.same(fnv1a(onDisk), fnv1a(bytes), 'the saved file holds exactly toBuffer()');
  c.ok(existsSync(`${path}.json`), 'save() wrote the sidecar');
  const loaded = new api.AnnoyIndex(f, metric);
  loaded.load(path);
  c.same(answersOf(loaded, queries, items), answers, 'load() answers like the built index');
  const opened = api.AnnoyIndex.open(path);
  c.ok(opened.f === f && opened.metric === metric, 'open() takes f and metric from the sidecar');
  c.same(answersOf(opened, queries, items), answers, 'open() answers like the built index');
  io[metric] = { crc32: api.crc32(onDisk) };
  check.failures.push(...c.failures);
  check.count += c.count;
}
check.throws(() => new api.AnnoyIndex(2, 'angular').load(join(args.scratch, 'missing.ann')), api.AnnoyIOError, /missing\.ann/, 'load() of a missing file');

// 3b. Builds with nJobs = 2: on worker threads (node:worker_threads, shared WebAssembly memory) where
// the Node entry supports them. The result depends only on items, seed, trees and nJobs, so it
// must be identical in every runtime; nJobs = 1 must equal the single-threaded build above.
const parallel = {};
for (const metric of METRICS) {
  const c = new Checker(`${metric} (nJobs): `);
  const { f, bytes, queries, items } = indexes[metric];
  const vectors = api.AnnoyIndex.fromBuffer(bytes, f, metric);
  const build = (nJobs) => {
    const index = new api.AnnoyIndex(f, metric);
    for (let i = 0; i < vectors.getNItems(); i++) index.addItem(i, vectors.getItemVector(i));
    index.setSeed(42);
    index.build(10, nJobs);
    return index;
  };
  c.same(fnv1a(build(1).toBuffer()), fnv1a(bytes), 'build(10, 1) = the default build');
  const two = build(2);
  const answers = answersOf(two, queries, items);
  c.same(answers.nTrees, 10, 'build(10, 2): getNTrees');
  c.same(answers.byItemAll, answersOf(vectors, queries, items).byItemAll, 'build(10, 2): exhaustive search answers like the default build');
  parallel[metric] = { fnv1a: fnv1a(two.toBuffer()), ...answers };
  check.failures.push(...c.failures);
  check.count += c.count;
}

// 3c. The neighbour graph (issue 15), one round trip per metric: build(…, { graph: true }) leaves the
// .ann bytes those of a build without it; save() writes path.graph beside them; open() attaches it
// and the portable fromBuffer(…, { graph }) too, answering exactly like the built index; a graph of
// other bytes is refused. Answers through the graph are checked against exhaustive search here
// (recall), not compared across runtimes (the walk may use relaxed SIMD where the runtime has it).
for (const metric of METRICS) {
  const c = new Checker(`${metric} (graph): `);
  const { f, bytes, queries, items } = indexes[metric];
  const trees = api.AnnoyIndex.fromBuffer(bytes, f, metric);
  const index = new api.AnnoyIndex(f, metric);
  for (let i = 0; i < trees.getNItems(); i++) index.addItem(i, trees.getItemVector(i));
  index.setSeed(42);
  index.build(10, 1, { graph: true });
  c.ok(index.hasGraph() && !trees.hasGraph(), 'build(…, { graph: true }) attaches a graph (fromBuffer without one does not)');
  c.same(fnv1a(index.toBuffer()), fnv1a(bytes), 'the index bytes are those of the build without a graph');
  const path = join(args.scratch, `${metric}-graph.ann`);
  index.save(path);
  c.same(fnv1a(readFileSync(path)), fnv1a(bytes), 'save() wrote the unchanged index file');
  c.ok(existsSync(`${path}.graph`), 'save() wrote path.graph');
  const graphBytes = readFileSync(`${path}.graph`);
  const viaGraph = (ix) => [-1, 400].map((searchK) => [...queries.map((q) => ix.getNnsByVector(q, 10, searchK, true)), ...items.map((i) => ix.getNnsByItem(i, 10, searchK, true))]);
  const built = viaGraph(index);
  const opened = api.AnnoyIndex.open(path);
  c.ok(opened.hasGraph(), 'open() attached path.graph');
  c.same(viaGraph(opened), built, 'open() answers like the built index');
  const browser = portable.AnnoyIndex.fromBuffer(new Uint8Array(bytes), f, metric, { graph: new Uint8Array(graphBytes) });
  c.ok(browser.hasGraph(), 'portable fromBuffer(…, { graph }) attached it');
  c.same(viaGraph(browser), built, 'portable fromBuffer(…, { graph }) answers like the built index');
  const exact = [...queries.map((q) => trees.getNnsByVector(q, 10, Infinity)), ...items.map((i) => trees.getNnsByItem(i, 10, Infinity))];
  let found = 0;
  built[1].forEach((r, j) => { for (const id of r.ids) if (exact[j].includes(id)) found++; });
  const recall = found / (10 * exact.length);
  c.ok(recall >= 0.9, () => `recall@10 through the graph at searchK 400 is ${recall.toFixed(3)}, expected ≥ 0.9`);
  const previous = METRICS[METRICS.indexOf(metric) - 1]; // its graph was saved by the round before
  if (previous) {
    const other = new Uint8Array(readFileSync(join(args.scratch, `${previous}-graph.ann.graph`)));
    c.throws(() => portable.AnnoyIndex.fromBuffer(new Uint8Array(bytes), f, metric, { graph: other }), api.AnnoyFormatError, /graph/, `the graph of the ${previous} index is refused`);
  }
  check.failures.push(...c.failures);
  check.count += c.count;
}

// 4. Golden fixtures written by real Annoy, through load() (Node entry) ...
const fixtures = readdirSync(args.fixtures, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(args.fixtures, d.name, 'index.ann')))
  .map((d) => d.name).sort();
check.ok(fixtures.length > 0, `no fixtures under ${args.fixtures}`);
const golden = {};
const raw = [];
for (const name of fixtures) {
  const dir = join(args.fixtures, name);
  const files = { 'index.ann': readFileSync(join(dir, 'index.ann')), 'queries.fbin': readFileSync(join(dir, 'queries.fbin')) };
  for (const file of GOLDEN_FILES) files[file] = readFileSync(join(dir, file), 'utf8');
  const fixture = fixtureFrom(name, files);
  raw.push(fixture);
  golden[name] = goldenSuite(fixture, (fx, f, metric) => {
    const index = new api.AnnoyIndex(f, metric);
    index.load(join(dir, 'index.ann'));
    return index;
  }, check);
}

// ... and the portable entry on the same bytes (fromBuffer), as a browser would use it.
const portableRun = portableSuite(portable, raw, 'portable entry: ');
check.failures.push(...portableRun.check.failures);
check.count += portableRun.check.count;
check.same(portableRun.answers.core, core, 'portable entry vs Node entry: built-index answers');
check.same(portableRun.answers.golden, golden, 'portable entry vs Node entry: golden fixture answers');

const result = { runtime, entry, checks: check.count, failures: check.failures, answers: { core, golden, io, parallel } };
writeFileSync(args.out, `${JSON.stringify(result)}\n`);
const status = check.failures.length === 0 ? 'ok' : `${check.failures.length} FAILED`;
console.log(`${runtime}: ${check.count} checks, ${status}; entry ${entry}; ${fixtures.length} golden fixtures`);
for (const failure of check.failures.slice(0, 20)) console.log(`  ✗ ${failure}`);
if (check.failures.length > 0) process.exitCode = 1;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const key of ['fixtures', 'scratch', 'out']) if (!out[key]) throw new Error(`smoke.mjs: --${key} is required`);
  return out;
}

/** The .js files reachable from `entries` through relative static imports and re-exports. */
function reachable(entries) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|[;\s])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/g)) {
      visit(join(dirname(file), m[1]));
    }
  };
  entries.forEach(visit);
  return [...seen].sort();
}

/** Names of the globals and of the properties of the built-in prototypes a library could patch. */
function globalSnapshot() {
  const builtins = [Object, Array, Function, String, Number, Boolean, Symbol, Promise, Map, Set, Math, JSON, Error,
    ArrayBuffer, DataView, Uint8Array, Float32Array, Float64Array, Int32Array, BigInt, WebAssembly];
  return {
    globals: Object.getOwnPropertyNames(globalThis).sort(),
    builtins: builtins.map((b) => [
      Object.getOwnPropertyNames(b).sort().join(','),
      b.prototype ? Object.getOwnPropertyNames(b.prototype).sort().join(',') : '',
    ]),
  };
}
