// The classic Annoy tutorial: label SMS messages as spam or ham by the label of their nearest
// neighbour, without training any classifier.
//
// Every message of the SMS Spam Collection becomes a vector (the average of its words' GloVe
// vectors, L2-normalised: see embed.ts). The first 5,000 go into an Annoy index (dot metric,
// 50 trees), which is saved and loaded back from the file. Each of the remaining 572 messages asks
// for its 100 nearest neighbours and takes the label of the first. For comparison: the same with
// the angular metric, exact (brute-force) search, the dot metric on unnormalised averages, and the
// majority-class baseline.
//
//   npm run example:spam                    # reads ../shared/data/spam.csv
//   npm run example:spam -- path/to/spam.csv
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AnnoyIndex } from 'annoy-ts';
import { loadGlove } from '../../datasets/glove.ts';
import { cacheDir } from '../../datasets/paths.ts';
import { type Label, readSpamCsv } from './data.ts';
import { cleanText, createEmbedder, tokenize } from './embed.ts';
import { type Scores, exactNearestByDot, majorityLabel, score } from './evaluate.ts';

type Metric = 'dot' | 'angular';

const INDEXED = 5000; // the first 5,000 messages are indexed, the rest are the queries
const TREES = 50;
const NEIGHBOURS = 100; // asked for, as in the tutorial; only the first is used
const SEED = 42;
const DEFAULT_CSV = fileURLToPath(new URL('../../../shared/data/spam.csv', import.meta.url));

const { positionals } = parseArgs({ allowPositionals: true });
const csvPath = positionals[0] !== undefined ? resolve(positionals[0]) : DEFAULT_CSV;

// 1. Data --------------------------------------------------------------------------------------
const messages = readSpamCsv(csvPath);
if (messages.length <= INDEXED) throw new Error(`${csvPath} has ${messages.length} messages; need more than ${INDEXED}`);
const labels = messages.map((m) => m.label);
const indexed = labels.slice(0, INDEXED), queried = labels.slice(INDEXED);
const count = (ls: Label[], l: Label) => ls.filter((x) => x === l).length;
console.log(`SMS Spam Collection (${csvPath}): ${messages.length} messages, ${count(labels, 'ham')} ham, ${count(labels, 'spam')} spam`);
console.log(`indexing the first ${INDEXED} (${count(indexed, 'spam')} spam), querying the other ${queried.length} (${count(queried, 'ham')} ham, ${count(queried, 'spam')} spam)`);

// 2. Embeddings --------------------------------------------------------------------------------
const glove = await loadGlove();
const embedder = createEmbedder(glove);
let t = performance.now();
const unit = messages.map((m) => embedder.embed(m.text)); // averaged, L2-normalised
const raw = messages.map((m) => embedder.embed(m.text, { normalise: false })); // averaged only
const embedSeconds = (performance.now() - t) / 1000;
const tokens = unit.reduce((a, e) => a + e.tokens, 0), known = unit.reduce((a, e) => a + e.known, 0);
const fallbacks = unit.filter((e) => e.known === 0).length;
console.log(
  `embedded with ${glove.count.toLocaleString('en')} GloVe word vectors (${glove.dim}-d) in ${embedSeconds.toFixed(1)} s: ` +
    `${((100 * known) / tokens).toFixed(1)}% of ${tokens.toLocaleString('en')} tokens known, ${fallbacks} message(s) with none (fallback vector)\n`,
);

// 3. The variants ------------------------------------------------------------------------------
const unitVectors = unit.map((e) => e.vector), rawVectors = raw.map((e) => e.vector);
mkdirSync(cacheDir('spam'), { recursive: true });

/** Exact 1-NN by inner product (on unit vectors, that is also by cosine): a scan of all 5,000. */
function exactFirst(vectors: Float32Array[]) {
  const dim = glove.dim;
  const items = new Float32Array(INDEXED * dim);
  for (let i = 0; i < INDEXED; i++) items.set(vectors[i], i * dim);
  const t0 = performance.now();
  const ids = vectors.slice(INDEXED).map((q) => exactNearestByDot(items, dim, q, 1)[0]);
  return { ids, buildSeconds: null, queryMs: (performance.now() - t0) / ids.length };
}

/** The tutorial's pipeline: build, save, load from the file, ask for 100 neighbours, keep the first. */
function annoyFirst(metric: Metric, vectors: Float32Array[], fileName: string) {
  const index = new AnnoyIndex(glove.dim, metric);
  for (let i = 0; i < INDEXED; i++) index.addItem(i, vectors[i]);
  index.setSeed(SEED);
  const t0 = performance.now();
  index.build(TREES);
  const buildSeconds = (performance.now() - t0) / 1000;
  const path = join(cacheDir('spam'), fileName);
  index.save(path);
  const loaded = new AnnoyIndex(glove.dim, metric);
  loaded.load(path);
  if (loaded.getNItems() !== INDEXED) throw new Error(`${path} holds ${loaded.getNItems()} items, expected ${INDEXED}`);
  const t1 = performance.now();
  const ids = vectors.slice(INDEXED).map((q) => loaded.getNnsByVector(q, NEIGHBOURS)[0]);
  const queryMs = (performance.now() - t1) / ids.length;
  return { ids, index: loaded, buildSeconds, queryMs, fileMiB: statSync(path).size / 2 ** 20 };
}

interface Row {
  name: string;
  scores: Scores;
  /** Queries whose first neighbour is the exact nearest neighbour (null: not applicable). */
  sameAsExact: number | null;
  /** How many distinct indexed messages are some query's first neighbour. */
  distinct: number | null;
  buildSeconds: number | null;
  queryMs: number | null;
}
const rows: Row[] = [];
/** A variant's row: its first neighbours' labels scored, and compared with the exact first neighbours. */
function addRow(name: string, r: { ids: number[]; buildSeconds: number | null; queryMs: number }, exactIds: number[]): void {
  rows.push({
    name,
    scores: score(queried, r.ids.map((id) => labels[id])),
    sameAsExact: r.ids.filter((id, q) => id === exactIds[q]).length,
    distinct: new Set(r.ids).size,
    buildSeconds: r.buildSeconds,
    queryMs: r.queryMs,
  });
}

const exact = exactFirst(unitVectors);
const dot = annoyFirst('dot', unitVectors, 'spam-dot.ann');
addRow(`annoy-ts dot, ${TREES} trees`, dot, exact.ids);
addRow(`annoy-ts angular, ${TREES} trees`, annoyFirst('angular', unitVectors, 'spam-angular.ann'), exact.ids);
addRow('exact search (brute force)', exact, exact.ids);
const rawExact = exactFirst(rawVectors);
const rawDot = annoyFirst('dot', rawVectors, 'spam-dot-unnormalised.ann');
addRow('annoy-ts dot, unnormalised', rawDot, rawExact.ids);
addRow('exact dot, unnormalised', rawExact, rawExact.ids);
const majority = majorityLabel(indexed);
rows.push({
  name: `majority class (always ${majority})`,
  scores: score(queried, queried.map(() => majority)),
  sameAsExact: null,
  distinct: null,
  buildSeconds: null,
  queryMs: null,
});

/** A message for display: cleaned, on one line, shortened. */
const show = (s: string, max = 110) => {
  const x = cleanText(s).replace(/\s+/g, ' ');
  return x.length > max ? `${x.slice(0, max - 1)}…` : x;
};

// 4. The table ---------------------------------------------------------------------------------
const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const header = ['variant', 'accuracy', 'spam recall', 'spam precision', 'same 1st NN as exact', 'distinct 1st NNs', 'build', 'query'];
const body = rows.map((r) => [
  r.name,
  `${pct(r.scores.accuracy)} (${r.scores.correct}/${r.scores.total})`,
  pct(r.scores.spamRecall),
  pct(r.scores.spamPrecision),
  r.sameAsExact === null ? '—' : `${r.sameAsExact}/${queried.length}`,
  r.distinct === null ? '—' : String(r.distinct),
  r.buildSeconds === null ? '—' : `${r.buildSeconds.toFixed(2)} s`,
  r.queryMs === null ? '—' : `${r.queryMs.toFixed(2)} ms`,
]);
const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
const line = (cells: string[]) => `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, c) => (c === 0 ? ':' : '') + '-'.repeat(w + 1) + (c === 0 ? '' : ':')).join('|')}|`);
for (const b of body) console.log(line(b));
console.log(
  `\n${queried.length} queries; query = ms per getNnsByVector(v, ${NEIGHBOURS}) (searchK -1 = ${NEIGHBOURS} × ${TREES} trees) on the index loaded ` +
    `from its file (${dot.fileMiB.toFixed(1)} MiB), or per brute-force scan of the ${INDEXED} vectors.`,
);
const hubs = new Map<number, number>();
for (const id of rawDot.ids) hubs.set(id, (hubs.get(id) ?? 0) + 1);
const [hub, hubCount] = [...hubs].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
const lengths = rawVectors.slice(0, INDEXED).map((v) => Math.hypot(...v));
const longer = lengths.filter((x) => x > lengths[hub]).length;
console.log(
  `Unnormalised averages: the inner product rewards length, so the longest averages win whatever they say. ` +
    `${hubCount} of the ${queried.length} queries get the same nearest message, #${hub} (${labels[hub]}): ` +
    `"${show(messages[hub].text, 60)}", average length ${lengths[hub].toFixed(2)} ` +
    `(${longer === 0 ? 'the longest' : `${longer + 1}${ordinal(longer + 1)} longest`} of the ${INDEXED}; median ${median(lengths).toFixed(2)}).`,
);

function ordinal(n: number): string {
  return n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// 5. Two example queries, like the tutorial --------------------------------------------------------
const firstOf = (l: Label) => INDEXED + queried.indexOf(l);
for (const q of [firstOf('spam'), firstOf('ham')]) {
  const { ids, distances } = dot.index.getNnsByVector(unitVectors[q], NEIGHBOURS, -1, true);
  console.log(`\nquery #${q} (${labels[q]}): ${show(messages[q].text)}`);
  console.log(`  known tokens: ${tokenize(messages[q].text).filter((x) => embedder.has(x)).join(' ')}`);
  for (let r = 0; r < 3; r++) {
    console.log(`  ${r + 1}. dot ${distances[r].toFixed(3)}  #${ids[r]} ${labels[ids[r]].padEnd(4)}  ${show(messages[ids[r]].text, 90)}`);
  }
  console.log(`  → predicted ${labels[ids[0]]} (${labels[ids[0]] === labels[q] ? 'right' : 'wrong'})`);
}
