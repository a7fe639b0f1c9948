import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** "annoy-ts 0.1.0", from the package.json two folders up (src/node/ or dist/node/); "annoy-ts" when not found. */
export function packageVersion(): string {
  if (cached === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      cached = pkg.name === 'annoy-ts' && typeof pkg.version === 'string' ? `annoy-ts ${pkg.version}` : 'annoy-ts';
    } catch {
      cached = 'annoy-ts';
    }
  }
  return cached;
}
