// Checks a packed tarball itself, beyond what publint and attw look at:
//   node compat/check-package.mjs PACKAGE-X.Y.Z.tgz packages/NAME [--zero-dependencies]
// - only what users need: package.json, README, LICENSE, dist/**/*.js and .d.ts (no sources,
//   tests, source maps, build info);
// - dist is fresh: every compiled file has its source in packages/NAME/src and every source (but
//   those its tsconfig.json excludes) its .js and .d.ts (a stale dist/ would otherwise ship);
// - no install scripts; ESM; engines; a package with a root entry (a library for bundlers) says
//   sideEffects: false; every `exports` condition lists `types` first and points at files that are
//   in the tarball; every bin exists and has a shebang; no test hooks (…ForTest) in the declarations;
// - --zero-dependencies: no dependencies of any kind (the annoy-ts library's promise).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [tarball, packageDir] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const zeroDependencies = process.argv.includes('--zero-dependencies');
if (!tarball || !packageDir) {
  console.log('usage: node compat/check-package.mjs PACKAGE.tgz packages/NAME [--zero-dependencies]');
  process.exit(2);
}
const failures = [];
const fail = (message) => failures.push(message);

const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n')
  .filter((f) => !f.endsWith('/')).map((f) => f.replace(/^package\//, '')).sort();
const read = (file) => execFileSync('tar', ['-xzOf', tarball, `package/${file}`], { encoding: 'utf8' });
const pkg = JSON.parse(read('package.json'));

// What is in it.
const allowed = /^(package\.json|README\.md|LICENSE(\.md|\.txt)?|NOTICE|dist\/.+\.(js|d\.ts))$/;
if (pkg.name !== JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).name) fail(`${tarball} is not the package in ${packageDir}`);
for (const file of files) if (!allowed.test(file)) fail(`the tarball holds ${file}, which users do not need`);
if (!files.some((f) => /^LICENSE/.test(f))) console.log(`  note: no LICENSE file in the package (package.json says ${pkg.license})`);

// Fresh: dist/ ↔ src/ (less what the package's tsconfig.json leaves out, e.g. the AssemblyScript kernels).
const excluded = (JSON.parse(readFileSync(join(packageDir, 'tsconfig.json'), 'utf8')).exclude ?? [])
  .map((e) => e.replace(/^(\.\/)?src\//, '').replace(/\/?$/, '/'));
const srcDir = join(packageDir, 'src');
const sources = listTs(srcDir).map((f) => relative(srcDir, f).split('\\').join('/')).filter((f) => !excluded.some((e) => f.startsWith(e)));
if (sources.length === 0) fail(`no TypeScript sources under ${srcDir}`);
const js = files.filter((f) => f.endsWith('.js')).map((f) => f.slice('dist/'.length));
for (const file of js) if (!sources.includes(file.replace(/\.js$/, '.ts'))) fail(`dist/${file} has no source in src/: stale build output (rm -rf dist && npm run build)`);
for (const source of sources) {
  const base = source.replace(/\.ts$/, '');
  if (!files.includes(`dist/${base}.js`) || !files.includes(`dist/${base}.d.ts`)) fail(`src/${source} is not compiled into the tarball (dist/${base}.js + .d.ts)`);
}

// Nothing for tests in the public types: test hooks are marked @internal and stripped (stripInternal).
for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
  const hook = read(file).match(/\b\w+ForTest\b/);
  if (hook) fail(`${file} declares ${hook[0]}: a test hook in the public types (mark it @internal)`);
}

// package.json.
for (const hook of ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare']) {
  if (pkg.scripts?.[hook]) fail(`package.json has an install-time script "${hook}"`);
}
if (pkg.type !== 'module') fail('package.json: "type" is not "module"');
if (!pkg.engines?.node) fail('package.json: no engines.node');
if (pkg.exports?.['.'] !== undefined && pkg.sideEffects !== false) fail('package.json: a library entry (".") but sideEffects is not false');
if (zeroDependencies) {
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
    const names = Array.isArray(pkg[field]) ? pkg[field] : Object.keys(pkg[field] ?? {});
    if (names.length > 0) fail(`package.json: ${field} ${names.join(', ')} (this package promises no runtime dependencies)`);
  }
}
if (typeof pkg.exports !== 'object') fail('package.json: no exports map');
const targets = [];
const walk = (node, path) => {
  if (typeof node === 'string') { targets.push([path, node]); return; }
  const keys = Object.keys(node);
  // A condition object that maps straight to files must start with its declarations.
  const leaf = keys.every((k) => !k.startsWith('.') && typeof node[k] === 'string');
  if (leaf && keys[0] !== 'types') fail(`${path}: "types" is not the first condition (${keys.join(', ')})`);
  for (const k of keys) walk(node[k], `${path} → ${k}`);
};
walk(pkg.exports, 'exports');
for (const [path, target] of targets) if (!files.includes(target.replace(/^\.\//, ''))) fail(`${path} → ${target}: not in the tarball`);
for (const field of ['main', 'types']) if (pkg[field] && !files.includes(pkg[field].replace(/^\.\//, ''))) fail(`"${field}": ${pkg[field]} is not in the tarball`);
for (const [name, target] of Object.entries(pkg.bin ?? {})) {
  const file = target.replace(/^\.\//, '');
  if (!files.includes(file)) fail(`bin ${name} → ${target}: not in the tarball`);
  else if (!read(file).startsWith('#!/usr/bin/env node\n')) fail(`bin ${name} → ${target}: no "#!/usr/bin/env node" line`);
}

const count = (re) => files.filter((f) => re.test(f)).length;
console.log(`${pkg.name} ${pkg.version}: ${files.length} files (${count(/\.js$/)} .js, ${count(/\.d\.ts$/)} .d.ts), dependencies: ${Object.keys(pkg.dependencies ?? {}).join(', ') || 'none'}`);
for (const failure of failures) console.log(`  ✗ ${failure}`);
process.exitCode = failures.length === 0 ? 0 : 1;

function listTs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    return d.isDirectory() ? listTs(path) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}
