// The demo page: fetch the index, its sidecar, its neighbour graph and the words; open them with
// annoy-ts; answer queries (through the graph); show how much faster the graph is than the trees.
// 'annoy-ts' resolves to ./annoy-ts.js, the library's browser bundle (see web/site.ts).
import { AnnoyIndex, type MetricName } from 'annoy-ts';
import { analogy, cosineOf, nearestWords, wordIds, type Neighbour } from './words.ts';

const DATA = 'data/';
const INDEX_FILE = 'words.ann';

/** The sidecar fields this page relies on (annoy-ts writes it beside every saved index). */
interface SidecarInfo {
  f: number;
  metric: MetricName;
  nItems: number;
  nTrees: number;
  byteLength: number;
  labels: string;
}

interface Loaded {
  index: AnnoyIndex;
  /** The same bytes opened without the graph (the trees alone), to compare with; null without a graph file. */
  trees: AnnoyIndex | null;
  words: string[];
  ids: Map<string, number>;
}

let loaded: Loaded | null = null;

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const status = el('status');
const graphStatus = el('graph-status');
const nearestForm = el<HTMLFormElement>('nearest-form');
const nearestInput = el<HTMLInputElement>('nearest-word');
const analogyForm = el<HTMLFormElement>('analogy-form');
const analogyInputs = ['analogy-a', 'analogy-b', 'analogy-c'].map((id) => el<HTMLInputElement>(id));
const countInput = el<HTMLInputElement>('setting-count');
const searchKInput = el<HTMLInputElement>('setting-search-k');

const numberFormat = new Intl.NumberFormat('en');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (t: number): string => (t < 1 ? `${t.toFixed(2)} ms` : t < 100 ? `${t.toFixed(1)} ms` : `${Math.round(t)} ms`);

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

function readSidecar(raw: unknown): SidecarInfo {
  const o = (raw ?? {}) as Record<string, unknown>;
  const ok =
    Number.isInteger(o.f) && typeof o.metric === 'string' && Number.isInteger(o.nItems) && Number.isInteger(o.nTrees) &&
    Number.isInteger(o.byteLength) && typeof o.labels === 'string';
  if (!ok) throw new Error(`${DATA}${INDEX_FILE}.json is not an annoy-ts sidecar naming a labels file`);
  return o as unknown as SidecarInfo;
}

/** Downloads the index straight into one buffer of the size the sidecar gives, reporting progress. */
async function fetchIndex(url: string, byteLength: number, progress: (received: number) => void): Promise<Uint8Array> {
  const response = await fetchOk(url);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const bytes = new Uint8Array(byteLength);
  const reader = response.body.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > byteLength) throw new Error(`${url} is larger than its sidecar says (${byteLength} bytes): rebuild the demo data`);
    bytes.set(value, received);
    received += value.byteLength;
    progress(received);
  }
  if (received !== byteLength) throw new Error(`${url} is ${received} bytes, but its sidecar says ${byteLength}: rebuild the demo data`);
  return bytes;
}

/** The index's neighbour graph (words.ann.graph), or null when the demo data has none. */
async function fetchGraph(url: string): Promise<Uint8Array | null> {
  const response = await fetch(url);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function load(): Promise<void> {
  const t0 = performance.now();
  const sidecar = readSidecar(await (await fetchOk(`${DATA}${INDEX_FILE}.json`)).json());
  let shown = 0;
  const [bytes, words, graph] = await Promise.all([
    fetchIndex(`${DATA}${INDEX_FILE}`, sidecar.byteLength, (received) => {
      const now = performance.now();
      if (now - shown < 100) return;
      shown = now;
      status.textContent = `Downloading the index: ${mib(received)} of ${mib(sidecar.byteLength)}…`;
    }),
    fetchOk(DATA + sidecar.labels).then((r) => r.json() as Promise<string[]>),
    fetchGraph(`${DATA}${INDEX_FILE}.graph`),
  ]);
  const t1 = performance.now();
  // The graph is checked to belong to exactly these bytes (length and CRC-32): one that does not is an error, never used.
  const index = AnnoyIndex.fromBuffer(bytes, sidecar.f, sidecar.metric, graph ? { graph } : {});
  const t2 = performance.now();
  const trees = graph ? AnnoyIndex.fromBuffer(bytes, sidecar.f, sidecar.metric) : null;
  if (!Array.isArray(words) || words.length !== index.getNItems()) {
    throw new Error(`${sidecar.labels} has ${Array.isArray(words) ? words.length : 'no'} words for ${index.getNItems()} items`);
  }
  loaded = { index, trees, words, ids: wordIds(words) };
  graphStatus.textContent = graph
    ? `Queries walk the neighbour graph (${INDEX_FILE}.graph, ${mib(graph.byteLength)}).`
    : `No neighbour graph (${INDEX_FILE}.graph): queries search the trees.`;
  el('word-count').textContent = numberFormat.format(words.length);
  status.textContent =
    `Loaded ${numberFormat.format(words.length)} words (${sidecar.f}-d, ${sidecar.metric}, ${sidecar.nTrees} trees) in ${ms(t2 - t0)}: ` +
    `downloaded ${mib(sidecar.byteLength)} in ${ms(t1 - t0)}, opened the index in ${ms(t2 - t1)}.`;
}

function settings(): { count: number; searchK: number } {
  const count = Math.min(100, Math.max(1, Math.trunc(Number(countInput.value)) || 10));
  const k = Math.trunc(Number(searchKInput.value));
  return { count, searchK: Number.isFinite(k) && k >= -1 && k !== 0 ? k : -1 };
}

/** search_k of the trees-alone comparison: what the page used before it had the graph (near-exact with 10 trees). */
const TREES_SEARCH_K = 10000;

/**
 * The graph against the trees alone: the same queries (the most frequent words' neighbours), the
 * graph at the current search_k and the trees at TREES_SEARCH_K, timed and scored against exact search.
 */
function compareWithTrees(): void {
  const state = loaded;
  if (!state?.trees) return;
  const { count, searchK } = settings();
  const sample = Array.from({ length: Math.min(200, state.words.length) }, (_, i) => i);
  const time = (index: AnnoyIndex, k = searchK): { ms: number; answers: number[][] } => {
    index.getNnsByItem(0, count, k); // first-use setup outside the timing
    const t = performance.now();
    const answers = sample.map((id) => index.getNnsByItem(id, count, k));
    return { ms: performance.now() - t, answers };
  };
  const graph = time(state.index);
  const trees = time(state.trees, TREES_SEARCH_K);
  const exact = sample.map((id) => new Set(state.trees!.getNnsByItem(id, count, Infinity)));
  const recall = (answers: number[][]): string =>
    (answers.reduce((sum, ids, q) => sum + ids.filter((id) => exact[q].has(id)).length, 0) / (count * sample.length)).toFixed(3);
  const graphStats = `${ms(graph.ms)} through the graph (search_k ${searchK}, recall ${recall(graph.answers)})`;
  const treeStats = `${ms(trees.ms)} with the trees alone (search_k ${TREES_SEARCH_K}, recall ${recall(trees.answers)})`;
  graphStatus.textContent =
    `${graphStatus.textContent!.split(' Speed-up:')[0]} Speed-up: ${sample.length} queries for ${count} neighbours: ` +
    `${graphStats}, ${treeStats}: ${(trees.ms / Math.max(graph.ms, 1e-3)).toFixed(1)}× faster.`;
  graphStatus.dataset.speedup = String(trees.ms / Math.max(graph.ms, 1e-3));
}

function normalize(text: string): string {
  return text.trim().toLowerCase();
}

/** Fills a results table: rank, the word (a button that looks its neighbours up), distance, cosine. */
function render(prefix: 'nearest' | 'analogy', caption: string, results: Neighbour[]): void {
  const table = el<HTMLTableElement>(`${prefix}-results`);
  el(`${prefix}-caption`).textContent = caption;
  const rows = results.map((r, k) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(r.id);
    tr.dataset.distance = String(r.distance);
    const rank = document.createElement('td');
    rank.textContent = String(k + 1);
    const word = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'word';
    button.textContent = r.word;
    button.title = `Show the words near “${r.word}”`;
    button.addEventListener('click', () => {
      nearestInput.value = r.word;
      runNearest(true);
      nearestInput.focus();
    });
    word.append(button);
    const distance = document.createElement('td');
    distance.textContent = r.distance.toFixed(3);
    const cosine = document.createElement('td');
    cosine.className = 'num';
    const cos = cosineOf(r.distance);
    const value = document.createElement('span');
    value.textContent = cos.toFixed(3);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(Math.max(0, Math.min(1, cos)) * 100).toFixed(1)}%`;
    bar.append(fill);
    cosine.append(value, bar);
    tr.append(rank, word, distance, cosine);
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = false;
}

function report(prefix: 'nearest' | 'analogy', text: string, isError = false): void {
  const timing = el(`${prefix}-time`);
  timing.textContent = text;
  timing.classList.toggle('error', isError);
  if (isError) el(`${prefix}-results`).hidden = true;
}

function unknown(words: string[], state: Loaded): string | null {
  const missing = words.filter((w) => !state.ids.has(w));
  if (missing.length === 0) return null;
  const list = missing.map((w) => (w === '' ? 'an empty word' : `“${w}”`)).join(' and ');
  return `${list} ${missing.length > 1 ? 'are' : 'is'} not among the ${numberFormat.format(state.words.length)} words.`;
}

/** Words near the typed word. `explicit`: the user asked (submit), so say so when the word is unknown. */
function runNearest(explicit: boolean): void {
  const state = loaded;
  if (!state) return;
  const word = normalize(nearestInput.value);
  const problem = unknown([word], state);
  if (problem) {
    if (explicit) report('nearest', problem, true);
    return;
  }
  const { count, searchK } = settings();
  try {
    const t = performance.now();
    const results = nearestWords(state.index, state.words, state.ids.get(word)!, count, searchK);
    const took = performance.now() - t;
    render('nearest', `Nearest to “${word}”`, results);
    report('nearest', `${results.length} words near “${word}” in ${ms(took)} (search_k ${searchK}).`);
  } catch (err) {
    report('nearest', `The query failed: ${(err as Error).message}`, true);
  }
}

function runAnalogy(): void {
  const state = loaded;
  if (!state) return;
  const [a, b, c] = analogyInputs.map((input) => normalize(input.value));
  const problem = unknown([a, b, c], state);
  if (problem) return report('analogy', problem, true);
  const { count, searchK } = settings();
  try {
    const t = performance.now();
    const results = analogy(state.index, state.words, state.ids.get(a)!, state.ids.get(b)!, state.ids.get(c)!, count, searchK);
    const took = performance.now() - t;
    render('analogy', `${a} − ${b} + ${c}`, results);
    report('analogy', `${results.length} answers to ${a} − ${b} + ${c} in ${ms(took)} (search_k ${searchK}; the three words are left out).`);
  } catch (err) {
    report('analogy', `The query failed: ${(err as Error).message}`, true);
  }
}

function wire(): void {
  nearestForm.addEventListener('submit', (event) => {
    event.preventDefault();
    runNearest(true);
  });
  nearestInput.addEventListener('input', () => runNearest(false));
  analogyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    runAnalogy();
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('button.example')) {
    button.addEventListener('click', () => {
      const words = (button.dataset.words ?? '').split(' ');
      analogyInputs.forEach((input, k) => (input.value = words[k] ?? ''));
      runAnalogy();
    });
  }
  el<HTMLFormElement>('settings-form').addEventListener('submit', (event) => event.preventDefault());
  for (const input of [countInput, searchKInput]) {
    input.addEventListener('change', () => {
      runNearest(false);
      runAnalogy();
      compareWithTrees();
    });
  }
  for (const control of document.querySelectorAll<HTMLInputElement | HTMLButtonElement>('main input, main button')) control.disabled = false;
}

async function showBundleSize(): Promise<void> {
  try {
    const site = (await (await fetchOk('site.json')).json()) as { bundle?: { bytes?: number; gzipBytes?: number } };
    const { bytes, gzipBytes } = site.bundle ?? {};
    if (typeof bytes === 'number' && typeof gzipBytes === 'number') {
      el('bundle-size').textContent = `The whole library is one ${(bytes / 1024).toFixed(1)} kB module here (${(gzipBytes / 1024).toFixed(1)} kB gzipped), WebAssembly included.`;
    }
  } catch {
    // Only a footnote.
  }
}

async function main(): Promise<void> {
  void showBundleSize();
  try {
    await load();
  } catch (err) {
    document.body.dataset.state = 'error';
    status.textContent = `Could not load the index: ${(err as Error).message}`;
    return;
  }
  wire();
  runNearest(true);
  runAnalogy();
  compareWithTrees();
  document.body.dataset.state = 'ready';
}

void main();
