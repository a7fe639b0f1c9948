// Bundler check: esbuild bundles apps that import the installed annoy-ts for the browser
// (platform browser: conditions browser/import/default, no Node built-ins, no polyfills), then runs
// the bundles in a V8 sandbox that has nothing but ECMAScript and WebAssembly — no process, Buffer,
// require, fetch, TextEncoder or timers — so a stray Node dependency cannot hide.
//
//   node compat/browser/bundle.mjs --project DIR --fixtures DIR --out results/browser.json
//
// DIR is the temporary project of compat/run.sh (the packed annoy-ts installed in its node_modules,
// compat/browser and compat/smoke copied in). Writes the smoke answers in smoke.mjs's shape (for
// compare.mjs) plus the bundle sizes, prints the sizes, exits 1 on a failure.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const failures = [];
const fail = (message) => failures.push(message);

const base = {
  absWorkingDir: args.project, bundle: true, platform: 'browser', target: 'es2022', minify: true,
  metafile: true, write: false, logLevel: 'silent', legalComments: 'none',
};

async function bundle(entry, options = {}, { expectWarning = null } = {}) {
  try {
    const result = await esbuild.build({ ...base, entryPoints: [entry], outfile: 'out.js', ...options });
    const js = result.outputFiles.find((o) => o.path.endsWith('.js')).contents;
    const inputs = Object.keys(result.metafile.inputs);
    for (const input of inputs) {
      if (/node_modules\/annoy-ts\/dist\/node\//.test(input)) fail(`${entry}: the browser bundle contains ${input} (Node-only)`);
      if (/node_modules\/(@annoy-ts\/|cli-progress|csv-parse|fastify|prom-client|nats)\b/.test(input)) fail(`${entry}: the browser bundle contains ${input} (the command line's package or its dependencies)`);
    }
    for (const w of result.warnings) if (!expectWarning?.test(w.text)) fail(`${entry}: esbuild warning: ${w.text}`);
    return { js, inputs, text: new TextDecoder().decode(js) };
  } catch (error) {
    fail(`${entry}: esbuild failed: ${(error.errors ?? [error]).map((e) => e.text ?? e.message).join('; ')}`);
    return null;
  }
}

/** Runs a script in a fresh V8 context with only ECMAScript, WebAssembly and a console that records. */
function sandbox(code) {
  const lines = [];
  const context = vm.createContext({ console: { log: (...a) => lines.push(a.join(' ')), error: (...a) => lines.push(a.join(' ')) } });
  const missing = vm.runInContext('["process","Buffer","require","fetch","TextEncoder","atob","setTimeout"].filter((g) => typeof globalThis[g] !== "undefined")', context);
  if (missing.length > 0) fail(`the sandbox unexpectedly has ${missing.join(', ')}`);
  vm.runInContext(code, context, { filename: 'bundle.js' });
  return { context, lines };
}

const sizes = {};
const sizeOf = (bytes) => ({
  bytes: bytes.length,
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});

// 1. The tiny app: its size (ESM, minified) is what annoy-ts costs a page; then run it (IIFE).
const app = await bundle('browser/app.mjs', { format: 'esm' });
if (app) {
  sizes.app = { ...sizeOf(app.js), entry: app.inputs.filter((i) => i.includes('annoy-ts/dist/')).length + ' annoy-ts modules' };
  if (!app.inputs.some((i) => i.endsWith('annoy-ts/dist/index.js'))) fail('browser/app.mjs: the bundle does not use annoy-ts/dist/index.js');
  const iife = await bundle('browser/app.mjs', { format: 'iife' });
  if (iife) {
    try {
      const { lines } = sandbox(iife.text);
      const out = JSON.parse(lines[0] ?? 'null');
      if (JSON.stringify(out?.built) !== '[0,2]' || JSON.stringify(out?.served?.ids) !== '[0,2]') fail(`browser/app.mjs printed ${lines.join(' | ')}`);
    } catch (error) {
      fail(`browser/app.mjs threw in the sandbox: ${error?.stack ?? error}`);
    }
  }
}

// 2. A bare `import 'annoy-ts'` must vanish: sideEffects: false lets bundlers drop unused modules.
const bare = await bundle('bare-import.mjs', {
  format: 'esm', entryPoints: undefined,
  stdin: { contents: "import 'annoy-ts';", resolveDir: args.project, sourcefile: 'bare-import.mjs' },
}, { expectWarning: /marked as having no side effects/ });   // esbuild's note that it dropped the import
if (bare) {
  sizes.bareImport = { bytes: bare.js.length };
  if (bare.js.length > 0) fail(`a bare "import 'annoy-ts'" still bundles ${bare.js.length} bytes (sideEffects: false not honoured?)`);
}

// 3. The portable smoke suite, minified, in the sandbox, on the golden fixtures' bytes.
let result = { checks: 0, failures: [], answers: null };
const smoke = await bundle('browser/smoke-entry.mjs', { format: 'iife' });
if (smoke) {
  try {
    const { context } = sandbox(smoke.text);
    const newBytes = vm.runInContext('(n) => new Uint8Array(n)', context);   // typed arrays of the sandbox's realm
    const fixtureFiles = readdirSync(args.fixtures, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(args.fixtures, d.name, 'index.ann')))
      .map((d) => d.name).sort()
      .map((name) => {
        const dir = join(args.fixtures, name);
        const files = {};
        for (const file of readdirSync(dir)) {
          if (file.endsWith('.json')) files[file] = readFileSync(join(dir, file), 'utf8');
          else if (file === 'index.ann' || file === 'queries.fbin') {
            const bytes = readFileSync(join(dir, file));
            files[file] = newBytes(bytes.length);
            files[file].set(bytes);
          }
        }
        return { name, files };
      });
    result = JSON.parse(context.annoySmoke(fixtureFiles));
  } catch (error) {
    fail(`the portable smoke suite threw in the sandbox: ${error?.stack ?? error}`);
  }
}

const runtime = `browser bundle (esbuild ${esbuild.version}, platform browser, V8 sandbox)`;
const all = [...failures, ...result.failures];
writeFileSync(args.out, `${JSON.stringify({ runtime, entry: 'dist/index.js', checks: result.checks + 4, failures: all, answers: result.answers, sizes })}\n`);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
if (sizes.app) console.log(`browser bundle of compat/browser/app.mjs (esbuild ${esbuild.version}, minified ESM): ${kib(sizes.app.bytes)}, ${kib(sizes.app.gzip)} gzip, ${kib(sizes.app.brotli)} brotli (${sizes.app.entry})`);
if (sizes.bareImport) console.log(`bare "import 'annoy-ts'" bundles to ${sizes.bareImport.bytes} bytes (tree-shaken)`);
console.log(`${runtime}: ${result.checks} checks, ${all.length === 0 ? 'ok' : `${all.length} FAILED`}`);
for (const failure of all.slice(0, 20)) console.log(`  ✗ ${failure}`);
if (all.length > 0) process.exitCode = 1;
