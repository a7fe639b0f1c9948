// The browser build of annoy-ts: src/index.ts (the portable core, WebAssembly kernels embedded as
// base64) bundled by esbuild into one minified ES module with no imports, dist/web/annoy-ts.js.
// Checks that no Node built-in got in and reports the raw and gzipped size.
//
//   npm run build:web            # build, report, exit 1 when a check fails
import { build, type Metafile, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BUNDLE_FILE, GZIP_BUDGET_BYTES, REPO_ROOT } from './paths.ts';

export const CORE_ENTRY = path.join(REPO_ROOT, 'packages', 'annoy-ts', 'src', 'index.ts');

export interface BundleOptions {
  /** Where to write it (a .map goes beside it); null keeps it in memory. Default dist/web/annoy-ts.js. */
  outfile?: string | null;
  /** 'esm' (the published form) or 'iife' (assigns the exports to globalThis[globalName]; for tests). */
  format?: 'esm' | 'iife';
  globalName?: string;
}

export interface BundleReport {
  /** The file written, or null for an in-memory build. */
  file: string | null;
  code: string;
  bytes: number;
  /** gzip -9 of the code. */
  gzipBytes: number;
  /** Source files in the bundle, relative to the repository root. */
  inputs: string[];
  /** What makes it unfit for browsers: Node built-ins, Node-only sources, leftover imports. Empty when fine. */
  problems: string[];
}

/** Node's built-in module names, bare or with the node: prefix, refused at resolve time. */
const refuseNodeBuiltins: Plugin = {
  name: 'refuse-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:|^(fs|path|os|url|util|module|crypto|stream|buffer|events|zlib|child_process|worker_threads|process|http|https|net|tty)(\/.*)?$/ }, (args) => ({
      errors: [{ text: `"${args.path}" is a Node.js built-in: the browser build must not import it (imported by ${path.relative(REPO_ROOT, args.importer)})` }],
    }));
  },
};

/** Patterns in the output that would mean Node-only code made it in. */
const NODE_ONLY_PATTERNS: Array<[RegExp, string]> = [
  [/["'`]node:[a-z_/]+["'`]/, 'a node: module specifier'],
  [/\brequire\s*\(/, 'a require() call'],
  [/\bprocess\.(env|argv|stdout|stderr|versions|platform|cwd)\b/, 'a use of process'],
  [/(?<![\w$])Buffer\.(from|alloc|isBuffer|concat)\b/, 'a use of Buffer'],
  [/\b__dirname\b|\b__filename\b/, '__dirname / __filename'],
];

export function nodeOnlyProblems(code: string, metafile: Metafile, outputKey: string | null): string[] {
  const problems: string[] = [];
  for (const [pattern, what] of NODE_ONLY_PATTERNS) {
    const m = pattern.exec(code);
    if (m) problems.push(`the bundle contains ${what}: …${code.slice(Math.max(0, m.index - 30), m.index + 40)}…`);
  }
  for (const input of Object.keys(metafile.inputs)) {
    const rel = input.split(path.sep).join('/');
    if (!rel.startsWith('packages/annoy-ts/src/') || rel.startsWith('packages/annoy-ts/src/node/')) {
      problems.push(`the bundle includes ${rel}, which is not part of the portable core`);
    }
  }
  for (const [key, output] of Object.entries(metafile.outputs)) {
    if (outputKey !== null && key !== outputKey) continue;
    for (const imp of output.imports) problems.push(`the bundle still imports ${imp.path} (${imp.kind})`);
  }
  return problems;
}

export async function buildBundle(options: BundleOptions = {}): Promise<BundleReport> {
  const outfile = options.outfile === undefined ? BUNDLE_FILE : options.outfile;
  const format = options.format ?? 'esm';
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [CORE_ENTRY],
    bundle: true,
    format,
    ...(format === 'iife' ? { globalName: options.globalName ?? 'annoyTs' } : {}),
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    // The error classes take their name from new.target.name: without this, a minifier renames
    // AnnoyStateError to something like "v" and err.name shows that (costs ~0.8 kB gzipped).
    keepNames: true,
    legalComments: 'none',
    sourcemap: outfile === null ? false : 'linked',
    metafile: true,
    write: outfile !== null,
    ...(outfile === null ? { outdir: path.join(REPO_ROOT, 'dist', 'web') } : { outfile }),
    plugins: [refuseNodeBuiltins],
    logLevel: 'silent',
  });
  let code: string;
  let outputKey: string | null = null;
  if (outfile === null) {
    const js = result.outputFiles!.find((f) => f.path.endsWith('.js'))!;
    code = js.text;
  } else {
    code = await readFile(outfile, 'utf8');
    outputKey = path.relative(REPO_ROOT, outfile).split(path.sep).join('/');
  }
  const metafile = result.metafile!;
  return {
    file: outfile,
    code,
    bytes: Buffer.byteLength(code),
    gzipBytes: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(metafile.inputs).sort(),
    problems: nodeOnlyProblems(code, metafile, outputKey),
  };
}

export function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

/** One line: where, raw size, gzipped size against the budget. */
export function describeBundle(report: BundleReport): string {
  const where = report.file === null ? '(in memory)' : path.relative(process.cwd(), report.file);
  return `${where}: ${formatSize(report.bytes)} raw (${report.bytes} B), ${formatSize(report.gzipBytes)} gzipped (${report.gzipBytes} B; budget ${formatSize(GZIP_BUDGET_BYTES)}), ${report.inputs.length} source files`;
}

async function main(): Promise<void> {
  const report = await buildBundle();
  console.log(describeBundle(report));
  let failed = false;
  for (const problem of report.problems) {
    console.error(`error: ${problem}`);
    failed = true;
  }
  if (report.gzipBytes > GZIP_BUDGET_BYTES) {
    console.error(`error: the bundle is ${formatSize(report.gzipBytes)} gzipped, over the ${formatSize(GZIP_BUDGET_BYTES)} budget`);
    failed = true;
  }
  if (!failed) console.log('no Node.js built-ins, no imports: ready for browsers, Deno and Bun');
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
