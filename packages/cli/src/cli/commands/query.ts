import { intOption, parseValue, searchKOption, str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { FILTER_HELP, FILTER_OPTIONS, maxDistanceOption, neighboursOption, readRestrictions } from '../filter-options.ts';
import { f32, f32Number, table } from '../format.ts';
import type { SearchResult, WithDistances } from 'annoy-ts';
import type { Labels } from '../../server/labels.ts';
import { INDEX_HELP, INDEX_OPTIONS, openSearchable, type SearchableIndex } from '../open-index.ts';
import { readVectors } from '../readers/index.ts';

export const spec: CommandSpec = {
  name: 'query',
  positionals: ['INDEX'],
  options: {
    vector: { type: 'string', multiple: true },
    item: { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    file: { type: 'string', multiple: true },
    k: { type: 'string', short: 'k' },
    'search-k': { type: 'string' },
    json: { type: 'boolean' },
    ...FILTER_OPTIONS,
    ...INDEX_OPTIONS,
  },
  help: `Usage: annoy-ts query INDEX (--vector V | --item ID | --label WORD | --file QUERIES)... [-k 10]
                     [--search-k N] [--filter-ids FILE] [--max-distance D] [--json]

INDEX is an index file, or the folder of a sharded index (annoy-ts build --shards): every shard is
searched and the answers merged; --search-k then counts per shard.

Prints the k nearest neighbours of each query: a table, or with --json one JSON object per query
per line: {"ids": [...], "distances": [...]} plus "labels" when the index has labels. Queries run
in the order given; every query option may be repeated.

Queries:
  --vector V        a vector: a JSON array '[0.1, 0.2, …]' or numbers separated by commas/spaces
  --item ID         the neighbours of item ID (the item itself comes first, at distance 0)
  --label WORD      the neighbours of the item labelled WORD (indexes built from labelled input)
  --file QUERIES    every vector in a file (any format 'annoy-ts build' reads)

Options:
  -k K              neighbours per query (default 10)
  --search-k N      nodes to inspect: -1 = Annoy's default (k × trees), more = better recall;
                    "all" searches every tree completely (exact); with --filter-ids it counts
                    allowed items
${FILTER_HELP}
  --json            JSON Lines output
${INDEX_HELP}
  --debug           stack traces on errors
  -h, --help        this help

Distances are what Annoy returns: angular √(2 − 2·cos), euclidean L2, manhattan L1, dot the inner
product (larger = closer), hamming the number of differing bits.
`,
};

interface Query {
  /** How the table names the query. */
  title: string;
  run(index: SearchableIndex, k: number, options: WithDistances): SearchResult;
}

export async function execute({ values, positionals: [path], order }: Parsed): Promise<void> {
  const k = neighboursOption(values, (text) => intOption(text, 'k', 1, 10));
  const searchK = searchKOption(str(values, 'search-k') ?? '-1');
  maxDistanceOption(values);
  const requested = order.filter((o) => ['vector', 'item', 'label', 'file'].includes(o.name));
  if (requested.length === 0) throw new UsageError('query: give at least one of --vector, --item, --label or --file (see annoy-ts query --help)');
  // Check what can be checked without the index first, so usage errors come before I/O.
  const items = requested.filter((o) => o.name === 'item').map((o) => intOption(o.value, 'item', 0, 0));
  const vectors = requested.filter((o) => o.name === 'vector').map((o) => parseVectorOption(o.value!));

  const { index, labels } = openSearchable(path, values);
  const queries: Query[] = [];
  let itemAt = 0, vectorAt = 0;
  for (const o of requested) {
    if (o.name === 'vector') {
      const v = vectors[vectorAt++];
      checkDimension(v.length, index, '--vector');
      queries.push({ title: `vector [${v.slice(0, 4).map(f32).join(', ')}${v.length > 4 ? ', …' : ''}]`, run: (ix, n, o) => ix.getNnsByVector(v, n, o) });
    } else if (o.name === 'item') {
      const id = items[itemAt++];
      if (id >= index.getNItems()) throw new CliError(`--item ${id}: ${path} has items 0 … ${index.getNItems() - 1}`);
      queries.push({ title: `item ${id}${labelSuffix(labels, id)}`, run: (ix, n, o) => ix.getNnsByItem(id, n, o) });
    } else if (o.name === 'label') {
      if (!labels) throw new CliError(`--label: ${path} has no labels (build it from input with words or a label column)`);
      const id = labels.find(o.value!);
      if (id === undefined) throw new CliError(`--label ${JSON.stringify(o.value)}: no item has this label`);
      queries.push({ title: `item ${id} ${JSON.stringify(o.value)}`, run: (ix, n, opts) => ix.getNnsByItem(id, n, opts) });
    } else {
      const data = await readVectors(o.value!);
      checkDimension(data.dim, index, o.value!);
      for (let r = 0; r < data.count; r++) {
        const v = data.data.subarray(r * data.dim, (r + 1) * data.dim);
        const name = data.labels?.[r];
        queries.push({ title: `${o.value} row ${r + 1}${name ? ` ${JSON.stringify(name)}` : ''}`, run: (ix, n, opts) => ix.getNnsByVector(v, n, opts) });
      }
    }
  }

  const restrictions = readRestrictions(values, index.getNItems(), labels);
  const options: WithDistances = { searchK, includeDistances: true, ...restrictions.options };
  const json = values['json'] === true;
  const out: string[] = [];
  const flush = () => {
    if (out.length) process.stdout.write(out.join(''));
    out.length = 0;
  };
  queries.forEach((q, i) => {
    const { ids, distances } = q.run(index, k, options);
    if (json) {
      const line: Record<string, unknown> = { ids, distances: distances.map(f32Number) };
      if (labels) line['labels'] = ids.map((id) => labels.get(id));
      out.push(JSON.stringify(line) + '\n');
    } else {
      const rows = [['rank', 'id', 'distance', ...(labels ? ['label'] : [])]];
      ids.forEach((id, r) => rows.push([String(r + 1), String(id), f32(distances[r]), ...(labels ? [labels.get(id) ?? ''] : [])]));
      const title = [q.title, ...restrictions.describe].join(', ');
      out.push(`${i > 0 ? '\n' : ''}${title}\n${ids.length ? indent(table(rows, [true, true, true, false])) : '  (no items)'}\n`);
    }
    if (out.length >= 256) flush();
  });
  flush();
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function labelSuffix(labels: Labels | null, id: number): string {
  const l = labels?.get(id);
  return l ? ` ${JSON.stringify(l)}` : '';
}

function checkDimension(dim: number, index: SearchableIndex, what: string): void {
  if (dim !== index.f) throw new CliError(`${what} has ${dim} value${dim === 1 ? '' : 's'} per vector, but the index has f = ${index.f}`);
}

/** '[1, 2, 3]', '1,2,3' or '1 2 3'. */
export function parseVectorOption(text: string): number[] {
  const t = text.trim();
  let parts: string[];
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new UsageError(`--vector ${JSON.stringify(text)}: a JSON array must end with ']'`);
    parts = t.slice(1, -1).split(',');
  } else {
    parts = t.split(/[\s,]+/);
  }
  parts = parts.map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') throw new UsageError('--vector is empty');
  return parts.map((p, i) => parseValue(p, `--vector value ${i + 1}`, UsageError));
}
