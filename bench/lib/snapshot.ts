/**
 * A copy of the library's src/ (and its package.json, which src/node/version.ts reads), of the
 * child-process script (bench/child.ts and bench/lib/) and of the compiled C++
 * program, taken when a run starts: every child process of the run — hours
 * apart in a full run — runs the same annoy-ts and the same harness code even
 * while the working tree is being edited or another run recompiles things. The
 * children import the TypeScript of the copy through tsx, exactly as they would
 * import src/ itself (packages still resolve from the repository's
 * node_modules, which is above the copy).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/** Where the library package lives in the repository. */
const LIBRARY = 'packages/annoy-ts';

export interface Snapshot {
  /** Absolute path of the copy's src/node/index.ts. */
  entry: string;
  /** Absolute path of the copy's bench/child.ts. */
  child: string;
  /** 'working tree', or the commit the copy was taken from (--src REV). */
  revision: string;
  /** SHA-1 over the relative paths and contents of every file copied from src/. */
  hash: string;
  files: number;
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** Copies src/ and package.json into `into`: from the working tree, or from git revision `rev`. */
export function snapshotSources(into: string, rev: string | null = null): Snapshot {
  const to = path.join(into, 'src');
  let revision = 'working tree';
  if (rev === null) {
    fs.cpSync(path.join(REPO_ROOT, LIBRARY, 'src'), to, { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, LIBRARY, 'package.json'), path.join(into, 'package.json'));
  } else {
    const git = (args: string[], input?: Buffer): Buffer =>
      execFileSync(args[0] === 'tar' ? 'tar' : 'git', args[0] === 'tar' ? args.slice(1) : args, {
        cwd: REPO_ROOT,
        maxBuffer: 1 << 30,
        stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        ...(input ? { input } : {}),
      });
    revision = git(['rev-parse', '--verify', `${rev}^{commit}`]).toString().trim();
    fs.mkdirSync(into, { recursive: true });
    // Revisions from before the workspace split kept the library in src/ at the top.
    const inPackages = git(['ls-tree', '--name-only', revision, LIBRARY]).toString().trim() !== '';
    const prefix = inPackages ? `${LIBRARY}/` : '';
    const strip = inPackages ? ['--strip-components=2'] : [];
    git(['tar', '-x', '-C', into, ...strip], git(['archive', '--format=tar', revision, `${prefix}src`, `${prefix}package.json`]));
  }
  // The harness's child side, always from the working tree (it is the harness, not the code measured).
  fs.mkdirSync(path.join(into, 'bench'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'bench', 'child.ts'), path.join(into, 'bench', 'child.ts'));
  fs.cpSync(path.join(REPO_ROOT, 'bench', 'lib'), path.join(into, 'bench', 'lib'), { recursive: true });
  const h = createHash('sha1');
  const files = listFiles(to);
  for (const rel of files) {
    const bytes = fs.readFileSync(path.join(to, rel));
    h.update(`${rel}\0${bytes.length}\0`).update(bytes);
  }
  return { entry: path.join(to, 'node', 'index.ts'), child: path.join(into, 'bench', 'child.ts'), revision, hash: h.digest('hex'), files: files.length };
}
