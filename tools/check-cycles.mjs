#!/usr/bin/env node
// Fails (exit 1) when the sources of packages/*/src import each other in a cycle, naming every
// cycle. Every import counts, type-only or not: `import`, `import type`, `export … from`,
// side-effect imports, and `import('…')` with a literal specifier (a lazy load or a type query
// still ties the two modules together). Relative specifiers resolve to files; a workspace
// package's name resolves through its package.json "exports" to the source of each entry
// (dist/X.js → src/X.ts), so a cycle between packages is found too. Other bare specifiers
// (node:*, npm packages) are leaves.
//
// A small lexer rather than the TypeScript compiler API: TypeScript 7 ships no JavaScript API, and
// a lexer that knows comments, strings, template literals and regular expressions cannot mistake
// an `import` inside a string (a worker's bootstrap code) or a comment for a real one.
//
//   node tools/check-cycles.mjs            # report; exit 1 on any cycle
//   node tools/check-cycles.mjs --json     # { files, edges, cycles } on stdout
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
/** Cycles listed per strongly connected component at most (enumeration is exponential in the worst case). */
const MAX_CYCLES_PER_COMPONENT = 100;

/** @typedef {{ type: 'id' | 'str' | 'punct', value: string }} Token */

/** Tokens of a TypeScript/JavaScript source, comments dropped; template literal text is skipped, its `${}` parts lexed. */
export function tokenize(text) {
  /** @type {Token[]} */
  const tokens = [];
  /** Brace depth at which each open template literal's `${` started. */
  const templates = [];
  let depth = 0;
  let i = 0;
  const n = text.length;
  const isId = (c) => /[\p{L}\p{N}_$\u200c\u200d]/u.test(c);
  const regexMayStart = () => {
    const last = tokens[tokens.length - 1];
    if (!last) return true;
    if (last.type === 'str') return false;
    if (last.type === 'id') {
      return /^(?:return|typeof|case|do|else|in|of|new|delete|void|throw|instanceof|yield|await)$/.test(last.value);
    }
    return !/^[)\]}]$/.test(last.value);
  };
  /** Skips template text from i (just after '`' or a closing '}'); returns after the closing '`' or the '${'. */
  const templateText = () => {
    while (i < n) {
      const c = text[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '`') { i++; return; }
      if (c === '$' && text[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth++;
        tokens.push({ type: 'punct', value: '${' });
        return;
      }
      i++;
    }
  };
  while (i < n) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (i < n && text[i] !== c && text[i] !== '\n') {
        if (text[i] === '\\') { value += text[i + 1]; i += 2; } else value += text[i++];
      }
      i++;
      tokens.push({ type: 'str', value });
    } else if (c === '`') {
      i++;
      tokens.push({ type: 'str', value: '`' });
      templateText();
    } else if (c === '{') {
      depth++;
      i++;
      tokens.push({ type: 'punct', value: c });
    } else if (c === '}') {
      depth--;
      i++;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        tokens.push({ type: 'str', value: '`' });
        templateText();
      } else {
        tokens.push({ type: 'punct', value: c });
      }
    } else if (c === '/' && regexMayStart()) {
      let inClass = false;
      i++;
      while (i < n && text[i] !== '\n') {
        const r = text[i];
        if (r === '\\') { i += 2; continue; }
        if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        i++;
      }
      i++;
      while (i < n && isId(text[i])) i++;
      tokens.push({ type: 'str', value: '/regex/' });
    } else if (/\s/.test(c)) {
      i++;
    } else if (isId(c)) {
      const start = i;
      while (i < n && isId(text[i])) i++;
      tokens.push({ type: 'id', value: text.slice(start, i) });
    } else {
      i++;
      tokens.push({ type: 'punct', value: c });
    }
  }
  return tokens;
}

/**
 * The module specifiers a source imports: { specifier, kind }, kind 'value', 'type' (import type,
 * export type, or only `type` names in the braces), 'side-effect' or 'dynamic'.
 */
export function importsOf(text) {
  const t = tokenize(text);
  const out = [];
  const at = (k) => t[k] ?? { type: 'punct', value: '' };
  for (let k = 0; k < t.length; k++) {
    const tok = t[k];
    if (tok.type !== 'id' || (tok.value !== 'import' && tok.value !== 'export')) continue;
    if (at(k - 1).value === '.') continue; // a property named import/export
    const next = at(k + 1);
    if (tok.value === 'import' && next.value === '.') continue; // import.meta
    if (tok.value === 'import' && next.value === '(') {
      if (at(k + 2).type === 'str' && at(k + 2).value !== '`' && at(k + 3).value === ')') out.push({ specifier: at(k + 2).value, kind: 'dynamic' });
      continue;
    }
    if (tok.value === 'import' && next.type === 'str') {
      out.push({ specifier: next.value, kind: 'side-effect' });
      continue;
    }
    // An import/export clause: names, braces, commas, `*`, `as`, `type`, then `from '…'`.
    if (tok.value === 'export' && !(next.value === '{' || next.value === '*' || (next.value === 'type' && (at(k + 2).value === '{' || at(k + 2).value === '*')))) continue;
    let typeOnly = next.value === 'type' && at(k + 2).value !== ',' && at(k + 2).value !== 'from';
    let names = 0, typeNames = 0, inBraces = false;
    let j = k + 1;
    for (; j < t.length; j++) {
      const u = t[j];
      if (u.type === 'id' && u.value === 'from' && at(j + 1).type === 'str' && !inBraces) break;
      if (u.type === 'str') { j = -1; break; }
      if (u.value === '{') inBraces = true;
      else if (u.value === '}') inBraces = false;
      else if (u.value === ';') { j = -1; break; }
      else if (inBraces && u.type === 'id' && (at(j - 1).value === '{' || at(j - 1).value === ',')) {
        names++;
        if (u.value === 'type' && at(j + 1).type === 'id' && at(j + 1).value !== 'as') typeNames++;
      }
    }
    if (j < 0 || j >= t.length) continue;
    if (!typeOnly && names > 0 && names === typeNames && at(k + 1).value === '{') typeOnly = true;
    out.push({ specifier: at(j + 1).value, kind: typeOnly ? 'type' : 'value' });
    k = j + 1;
  }
  return out;
}

function walk(dir, files = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, files);
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Workspace packages: name → { dir, exports: subpath → source files }. */
function workspacePackages() {
  const packages = new Map();
  const base = join(root, 'packages');
  for (const name of readdirSync(base)) {
    const dir = join(base, name);
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    const entries = new Map();
    const exportsField = typeof pkg.exports === 'object' && pkg.exports && !Array.isArray(pkg.exports) &&
      Object.keys(pkg.exports).some((key) => key.startsWith('.')) ? pkg.exports : { '.': pkg.exports ?? pkg.main };
    for (const [subpath, target] of Object.entries(exportsField)) {
      const sources = new Set();
      const collect = (value) => {
        if (typeof value === 'string') {
          const source = join(dir, value.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts').replace(/\.js$/, '.ts'));
          if (existsSync(source)) sources.add(source);
        } else if (value && typeof value === 'object') {
          for (const nested of Object.values(value)) collect(nested);
        }
      };
      collect(target);
      entries.set(subpath, [...sources]);
    }
    packages.set(pkg.name, { dir, entries });
  }
  return packages;
}

function resolveSpecifier(from, specifier, packages) {
  if (specifier.startsWith('.')) {
    const path = resolve(dirname(from), specifier);
    const candidates = [path, path.replace(/\.js$/, '.ts'), path.replace(/\.mjs$/, '.mts'), `${path}.ts`, `${path}.js`, join(path, 'index.ts'), join(path, 'index.js')];
    const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
    return found ? [found] : [];
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const pkg = packages.get(name);
  if (!pkg) return [];
  const subpath = specifier === name ? '.' : `.${specifier.slice(name.length)}`;
  return pkg.entries.get(subpath) ?? [];
}

/** The import graph: file → [{ to, kind }] (files relative to the repository root). */
export function importGraph() {
  const packages = workspacePackages();
  const files = [...packages.values()].flatMap((p) => (existsSync(join(p.dir, 'src')) ? walk(join(p.dir, 'src')) : []));
  const graph = new Map();
  for (const file of files) {
    const edges = [];
    for (const { specifier, kind } of importsOf(readFileSync(file, 'utf8'))) {
      for (const to of resolveSpecifier(file, specifier, packages)) edges.push({ to: relative(root, to), kind });
    }
    graph.set(relative(root, file), edges);
  }
  return graph;
}

/** Strongly connected components (Tarjan), each with more than one file or a self-import. */
function components(graph) {
  const index = new Map(), low = new Map(), onStack = new Set(), stack = [], out = [];
  let counter = 0;
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(v, Math.min(low.get(v), index.get(to)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).some((e) => e.to === v)) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** The elementary cycles inside one component, each starting at its smallest file. */
function cyclesIn(component, graph) {
  const members = new Set(component);
  const cycles = [];
  for (const start of component) {
    const path = [start], kinds = [];
    const onPath = new Set([start]);
    const extend = (v) => {
      if (cycles.length >= MAX_CYCLES_PER_COMPONENT) return;
      for (const { to, kind } of graph.get(v) ?? []) {
        if (!members.has(to) || to < start) continue;
        if (to === start) {
          cycles.push({ files: [...path], kinds: [...kinds, kind] });
        } else if (!onPath.has(to)) {
          path.push(to);
          kinds.push(kind);
          onPath.add(to);
          extend(to);
          onPath.delete(to);
          kinds.pop();
          path.pop();
        }
      }
    };
    extend(start);
  }
  // The same pair of files can be joined by two import statements (a value and a type import): list the cycle once.
  const seen = new Set();
  return cycles.filter((c) => {
    const key = c.files.join('\0');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function findCycles(graph = importGraph()) {
  return components(graph).flatMap((component) => cyclesIn(component, graph));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const cycles = findCycles(graph);
  if (process.argv.includes('--json')) {
    const edges = [...graph.values()].reduce((s, e) => s + e.length, 0);
    console.log(JSON.stringify({ files: graph.size, edges, cycles }, null, 2));
  } else if (cycles.length === 0) {
    const edges = [...graph.values()].reduce((s, e) => s + e.length, 0);
    console.log(`no import cycles (${graph.size} files, ${edges} imports under packages/*/src)`);
  } else {
    console.error(`${cycles.length} import cycle${cycles.length === 1 ? '' : 's'} under packages/*/src:`);
    for (const { files, kinds } of cycles) {
      const hops = files.map((f, k) => `${f} -${kinds[k] === 'value' ? '' : kinds[k]}->`).join(' ');
      console.error(`  ${hops} ${files[0]}`);
    }
  }
  process.exit(cycles.length === 0 ? 0 : 1);
}
