import type { SearchResult } from 'annoy-ts';
import { intOption, searchKOption, str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { FILTER_HELP, FILTER_OPTIONS, maxDistanceOption, neighboursOption, readRestrictions } from '../filter-options.ts';
import { count, table } from '../format.ts';
import { INDEX_HELP, INDEX_OPTIONS, isFolder, openIndex, openSearchable, type SearchableIndex } from '../open-index.ts';
import { Rng } from '../prng.ts';
import { readVectors } from '../readers/index.ts';

export const spec: CommandSpec = {
  name: 'eval',
  positionals: ['INDEX'],
  options: {
    queries: { type: 'string' },
    k: { type: 'string', short: 'k' },
    'search-k': { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string' },
    'min-time': { type: 'string' },
    json: { type: 'boolean' },
    'no-graph': { type: 'boolean' },
    ...FILTER_OPTIONS,
    ...INDEX_OPTIONS,
  },
  help: `Usage: annoy-ts eval INDEX [--queries FILE] [-k 10] [--search-k N[,N…]] [--sample 100]
                    [--filter-ids FILE] [--max-distance D] [--json]

Measures recall@k of the index against exact search, and its speed (queries per second, one thread).
INDEX may be the folder of a sharded index (search_k then counts per shard). When INDEX has a
neighbour graph (INDEX.graph, from 'annoy-ts build --graph'), every search_k is measured twice:
walking the graph, and with the trees alone (the index opened without its graph), side by side.
--no-graph measures the trees alone.
The exact answers come from searching every tree completely, which scores every item with the
index's own distance. A returned item counts as found when it is among the exact k nearest, or
ties with the k-th exact distance.

Options:
  --queries FILE     query vectors (any format 'annoy-ts build' reads); without it, a sample of the
                     index's own items is used (each then finds itself at rank 1)
  -k K               neighbours per query (default 10)
  --search-k LIST    comma-separated search_k values to compare (default -1 = Annoy's k × trees;
                     "all" = exact)
  --sample N         evaluate at most N queries, drawn at random (default 100)
  --seed S           seed for drawing the sample (default 1)
  --min-time SEC     repeat each timing pass until it has run this long (default 0.2)
${FILTER_HELP}
                      (the exact answers are then the exact filtered / in-range ones)
  --no-graph         ignore INDEX.graph: measure the trees alone
  --json             one JSON object instead of a table
${INDEX_HELP}
  --debug            stack traces on errors
  -h, --help         this help
`,
};

interface Row {
  /** 'graph': the neighbour graph walked; 'trees': the forest alone (rows of an index with a graph). */
  method?: 'graph' | 'trees';
  searchK: number;
  recall: number;
  qps: number;
}

export async function execute({ values, positionals: [path] }: Parsed): Promise<void> {
  const k = neighboursOption(values, (text) => intOption(text, 'k', 1, 10));
  maxDistanceOption(values);
  const sample = intOption(str(values, 'sample'), 'sample', 1, 100);
  const seed = intOption(str(values, 'seed'), 'seed', 0, 1);
  const minTime = Number(str(values, 'min-time') ?? '0.2');
  if (!(minTime >= 0 && minTime <= 600)) throw new UsageError(`--min-time must be a number of seconds from 0 to 600, got ${JSON.stringify(str(values, 'min-time'))}`);
  const searchKs = (str(values, 'search-k') ?? '-1').split(',').map((s) => searchKOption(s.trim()));
  const queriesPath = str(values, 'queries');

  const { index, sharded, labels } = values['no-graph'] === true && !isFolder(path)
    ? { ...openIndex(path, values, { graph: false }), sharded: null }
    : openSearchable(path, values);
  // The same file without its graph: the trees alone, to compare with (and to compute the exact answers).
  const trees: SearchableIndex | null = sharded === null && 'hasGraph' in index && (index as { hasGraph(): boolean }).hasGraph()
    ? openIndex(path, values, { graph: false }).index
    : null;
  const restrictions = readRestrictions(values, index.getNItems(), labels);
  const rng = new Rng(seed);
  let queries: ArrayLike<number>[];
  let source: string;
  if (queriesPath !== undefined) {
    const data = await readVectors(queriesPath);
    if (data.dim !== index.f) throw new CliError(`${queriesPath} has ${data.dim} values per vector, but the index has f = ${index.f}`);
    const rows = pick(data.count, sample, rng);
    queries = rows.map((r) => data.data.subarray(r * data.dim, (r + 1) * data.dim));
    source = rows.length < data.count ? `${rows.length} of the ${count(data.count)} vectors in ${queriesPath}` : `the ${rows.length} vectors in ${queriesPath}`;
  } else {
    const ids = pick(index.getNItems(), sample, rng);
    queries = ids.map((id) => index.getItemVector(id));
    source = `${ids.length} of the index's own items`;
  }

  const exact = queries.map((q) => (trees ?? index).getNnsByVector(q, k, { searchK: Infinity, includeDistances: true, ...restrictions.options }));
  const larger = index.metric === 'dot'; // dot returns inner products: larger is closer

  const measure = (searched: SearchableIndex, searchK: number): Row => {
    let answers: SearchResult[] = [];
    let passes = 0;
    searched.getNnsByVector(queries[0], k, { searchK, includeDistances: true, ...restrictions.options }); // first-use setup (workspaces) outside the timing
    const started = performance.now();
    do {
      answers = queries.map((q) => searched.getNnsByVector(q, k, { searchK, includeDistances: true, ...restrictions.options }));
      passes++;
    } while ((performance.now() - started) / 1000 < minTime);
    const seconds = (performance.now() - started) / 1000;
    const recall = answers.reduce((sum, got, i) => sum + recallOf(got, exact[i], larger), 0) / queries.length;
    return { searchK, recall, qps: (passes * queries.length) / Math.max(seconds, 1e-9) };
  };
  // With a graph: each search_k through the graph, then through the trees alone (same queries, same exact answers).
  const rows: Row[] = searchKs.flatMap((searchK) => (trees
    ? [{ ...measure(index, searchK), method: 'graph' as const }, { ...measure(trees, searchK), method: 'trees' as const }]
    : [measure(index, searchK)]));

  if (values['json'] === true) {
    process.stdout.write(JSON.stringify({
      index: path, k: k === Infinity ? 'all' : k, queries: queries.length, source, items: index.getNItems(), trees: index.getNTrees(),
      ...(restrictions.options.filter ? { allowed: restrictions.options.filter.count } : {}),
      ...(restrictions.options.maxDistance !== undefined ? { maxDistance: restrictions.options.maxDistance } : {}),
      ...(trees ? { graph: true } : {}),
      results: rows.map((r) => ({
        ...(r.method ? { method: r.method } : {}), searchK: r.searchK === Infinity ? 'all' : r.searchK, recall: round(r.recall, 4), qps: round(r.qps),
      })),
    }) + '\n');
    return;
  }
  const lines = [
    `${path}: ${count(index.getNItems())} items, f = ${index.f}, ${index.metric}, ${index.getNTrees()} trees${sharded ? ` per shard, ${sharded.getNShards()} shards (search_k per shard)` : ''}`,
    `queries: ${source}; k = ${k === Infinity ? 'all' : k}${restrictions.describe.length ? `; ${restrictions.describe.join(', ')}` : ''}`,
    `exact answers: every ${restrictions.options.filter ? 'allowed ' : ''}item scored`,
    ...(trees ? [`graph: ${path}.graph attached; each search_k measured through the graph and with the trees alone`] : []),
    '',
    indent(table([
      [...(trees ? ['method'] : []), 'search_k', `recall@${k === Infinity ? 'all' : k}`, 'queries/s', 'ms/query', ...(trees ? ['graph vs trees'] : [])],
      ...rows.map((r, i) => [
        ...(r.method ? [r.method] : []),
        r.searchK === -1 ? '-1 (default)' : r.searchK === Infinity ? 'all' : String(r.searchK),
        r.recall.toFixed(3), count(Math.round(r.qps)), (1000 / r.qps).toFixed(3),
        ...(r.method === 'trees' ? [`${(rows[i - 1].qps / r.qps).toFixed(1)}× the queries/s`] : r.method ? [''] : []),
      ]),
    ], [...(trees ? [false] : []), false, true, true, true, ...(trees ? [true] : [])])),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Share of the exact top k that `got` found; a tie with the k-th exact distance counts as found. */
export function recallOf(got: SearchResult, exact: SearchResult, larger: boolean): number {
  const want = exact.ids.length;
  if (want === 0) return 1;
  const kth = Math.fround(exact.distances[want - 1]);
  const wanted = new Set(exact.ids);
  let hits = 0;
  got.ids.forEach((id, i) => {
    const d = Math.fround(got.distances[i]);
    if (wanted.has(id) || (larger ? d >= kth : d <= kth)) hits++;
  });
  return Math.min(hits, want) / want;
}

/** Up to `n` distinct numbers from 0 … total−1 (all of them, in order, when total ≤ n). */
function pick(total: number, n: number, rng: Rng): number[] {
  if (total <= n) return Array.from({ length: total }, (_, i) => i);
  const chosen = new Set<number>();
  while (chosen.size < n) chosen.add(rng.nextInt(total));
  return [...chosen].sort((a, b) => a - b);
}

function round(x: number, digits = 0): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
