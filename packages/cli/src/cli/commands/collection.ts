// annoy-ts collection create|upsert|delete|query|compact|info DIR: a durable collection (keys,
// vectors, JSON attributes; see @annoy-ts/collection) from the shell. Input is JSON Lines.
import { existsSync } from 'node:fs';
import { Collection, type Key, type QueryOptions, type UpsertItem } from '@annoy-ts/collection';
import { intOption, parseNumber, searchKOption, str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { count, f32Number, table } from '../format.ts';
import { readLines } from '../readers/lines.ts';

const SUBCOMMANDS = ['create', 'upsert', 'delete', 'query', 'compact', 'info'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export const spec: CommandSpec = {
  name: 'collection',
  positionals: ['SUBCOMMAND', 'DIR'],
  repeatLast: true,
  options: {
    f: { type: 'string' },
    metric: { type: 'string' },
    trees: { type: 'string' },
    graph: { type: 'boolean' },
    batch: { type: 'string' },
    compact: { type: 'boolean' },
    vector: { type: 'string', multiple: true },
    k: { type: 'string', short: 'k' },
    'search-k': { type: 'string' },
    filter: { type: 'string' },
    'max-distance': { type: 'string' },
    'include-vectors': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  help: `Usage: annoy-ts collection create DIR --f F --metric M [--trees 20] [--graph]
       annoy-ts collection upsert DIR [FILE] [--batch 1000] [--compact]
       annoy-ts collection delete DIR [FILE]
       annoy-ts collection query DIR [FILE] [--vector V]... [-k 10] [--search-k N] [--filter JSON]
                                 [--max-distance D] [--include-vectors]
       annoy-ts collection compact DIR
       annoy-ts collection info DIR [--json]

A collection is a folder of items — a key (a string or an integer), a vector and JSON attributes —
kept durably in SQLite, searched with annoy-ts indexes that are rebuilt in the background. Items can
be added, replaced and deleted at any time. One process at a time may open a collection.

Input is JSON Lines, from FILE or (without FILE, or with -) standard input:
  upsert  {"key": "a1", "vector": [0.1, 0.2, …], "attributes": {"genre": "jazz"}}   one item a line
  delete  "a1"  or  17  or  {"key": "a1"}                                         one key a line
  query   [0.1, 0.2, …]  or  {"vector": [0.1, 0.2, …]}                             one query a line
Lines are applied in batches (--batch items per durable write); a bad line stops the command with
its line number, after the batches before it were written.

Subcommands:
  create    a new, empty collection (--f and --metric: angular, euclidean, manhattan, dot, hamming)
  upsert    insert or replace items; --compact rebuilds the index afterwards (without it, the
            items are searched exactly until a compaction: run 'collection compact' after large imports)
  delete    delete items by key (missing keys are ignored)
  query     the k nearest items of each query vector, as JSON Lines:
            {"results": [{"key": …, "distance": …, "attributes": {…}}, …]}
  compact   rebuild the index from every live item
  info      items, index segments, the newest items searched exactly

Options:
  --vector V          a query vector as a JSON array (repeatable; before queries from FILE)
  -k K                results per query (default 10)
  --search-k N        candidates inspected in the indexes (default -1: k × trees); "all" = exact
  --filter JSON       attribute filter, e.g. '{"genre": "jazz", "year": {"$gte": 1950}}'
                      (equality, $ne, $gt/$gte/$lt/$lte, $in/$nin, $exists, $and/$or/$not)
  --max-distance D    only items within distance D (dot: inner product at least D)
  --include-vectors   add each result's vector
  --batch N           items per durable write for upsert/delete (default 1000)
  --trees T           trees per index (create; default 20)
  --graph             also build a neighbour graph for each index (create): queries several times
                      faster at the same recall, compactions several times slower
  --json              info as one JSON object
  --debug             stack traces on errors
  -h, --help          this help
`,
};

export async function execute({ values, positionals }: Parsed): Promise<void> {
  const [sub, dir, ...files] = positionals as [string, string, ...string[]];
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(`collection: unknown subcommand ${JSON.stringify(sub)}: expected one of ${SUBCOMMANDS.join(', ')} (see annoy-ts collection --help)`);
  }
  const takesFile = sub === 'upsert' || sub === 'delete' || sub === 'query';
  if (files.length > (takesFile ? 1 : 0)) throw new UsageError(`collection ${sub}: unexpected argument ${JSON.stringify(files[takesFile ? 1 : 0])}`);
  checkOptions(sub as Subcommand, values);
  const file = files[0];
  if (sub === 'create') return create(dir, values);
  // Usage errors before any I/O.
  const plan = sub === 'query' ? queryPlan(values) : null;
  const batch = intOption(str(values, 'batch'), 'batch', 1, 1000);
  if (!existsSync(dir)) throw new CliError(`collection ${sub}: ${dir} does not exist (create it with: annoy-ts collection create ${dir} --f F --metric M)`);
  // Builds run only where asked for: a command line exits right away, and a build it started would be thrown away.
  const c = await Collection.open(dir, { autoCompact: false });
  try {
    switch (sub as Exclude<Subcommand, 'create'>) {
      case 'upsert':
        await upsert(c, file, batch, values['compact'] === true);
        break;
      case 'delete':
        await remove(c, file, batch);
        break;
      case 'query':
        await query(c, file, plan!);
        break;
      case 'compact': {
        const t = performance.now();
        await c.compact();
        process.stderr.write(`compacted ${count(c.size)} items in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
        break;
      }
      case 'info':
        info(c, values['json'] === true);
        break;
    }
  } finally {
    await c.close();
  }
}

const ALLOWED: Record<Subcommand, string[]> = {
  create: ['f', 'metric', 'trees', 'graph'],
  upsert: ['batch', 'compact'],
  delete: ['batch'],
  query: ['vector', 'k', 'search-k', 'filter', 'max-distance', 'include-vectors'],
  compact: [],
  info: ['json'],
};

function checkOptions(sub: Subcommand, values: Parsed['values']): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || name === 'help' || name === 'debug') continue;
    if (!ALLOWED[sub].includes(name)) throw new UsageError(`collection ${sub}: option --${name} does not apply (see annoy-ts collection --help)`);
  }
}

async function create(dir: string, values: Parsed['values']): Promise<void> {
  const f = str(values, 'f'), metric = str(values, 'metric');
  if (f === undefined || metric === undefined) throw new UsageError('collection create: --f and --metric are required');
  if (existsSync(`${dir}/collection.db`)) throw new CliError(`collection create: ${dir} already holds a collection`);
  const c = await Collection.open(dir, {
    f: intOption(f, 'f', 1, 0), metric: metric as never, trees: intOption(str(values, 'trees'), 'trees', 1, 20), autoCompact: false,
    graph: values['graph'] === true,
  });
  process.stderr.write(`created ${c.dir}: f = ${c.f}, metric ${c.metric}, ${c.trees} trees${c.graph ? ', neighbour graphs' : ''}\n`);
  await c.close();
}

/** JSON Lines from FILE or standard input, as [value, where]. */
async function* jsonLines(file: string | undefined): AsyncGenerator<[unknown, string]> {
  const path = file === undefined || file === '-' ? null : file;
  const name = path ?? 'standard input';
  if (path !== null && !existsSync(path)) throw new CliError(`${file} does not exist`);
  for await (const [line, n] of readLines(path, name, 0)) {
    if (line.trim() === '') continue;
    try {
      yield [JSON.parse(line), `${name} line ${n}`];
    } catch (cause) {
      if (cause instanceof SyntaxError) throw new CliError(`${name} line ${n}: not valid JSON (${cause.message})`);
      throw cause;
    }
  }
}

/** Runs `write` on batches of `size`; a failing batch names the lines it came from. */
async function inBatches<T>(source: AsyncGenerator<[T, string]>, size: number, write: (batch: T[]) => Promise<unknown>): Promise<number> {
  let batch: T[] = [], first = '', done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    try {
      await write(batch);
    } catch (e) {
      throw new CliError(`the batch of ${batch.length} starting at ${first}: ${(e as Error).message} (${count(done)} written before it)`);
    }
    done += batch.length;
    batch = [];
  };
  for await (const [value, where] of source) {
    if (batch.length === 0) first = where;
    batch.push(value);
    if (batch.length >= size) await flush();
  }
  await flush();
  return done;
}

async function upsert(c: Collection, file: string | undefined, size: number, compact: boolean): Promise<void> {
  const t = performance.now();
  const items = async function* (): AsyncGenerator<[UpsertItem, string]> {
    for await (const [value, where] of jsonLines(file)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !('key' in value) || !('vector' in value)) {
        throw new CliError(`${where}: expected an object {"key": …, "vector": [...], "attributes": {…}}`);
      }
      yield [value as UpsertItem, where];
    }
  };
  const n = await inBatches(items(), size, (batch) => c.upsert(batch));
  process.stderr.write(`upserted ${count(n)} items in ${((performance.now() - t) / 1000).toFixed(1)} s; the collection holds ${count(c.size)}\n`);
  if (compact) {
    const t2 = performance.now();
    await c.compact();
    process.stderr.write(`compacted in ${((performance.now() - t2) / 1000).toFixed(1)} s\n`);
  }
}

async function remove(c: Collection, file: string | undefined, size: number): Promise<void> {
  let deleted = 0;
  const keys = async function* (): AsyncGenerator<[Key, string]> {
    for await (const [value, where] of jsonLines(file)) {
      const key = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { key?: unknown }).key : value;
      if (typeof key !== 'string' && typeof key !== 'number') throw new CliError(`${where}: expected a key ("a1" or 17) or {"key": …}`);
      yield [key, where];
    }
  };
  const n = await inBatches(keys(), size, async (batch) => (deleted += await c.delete(batch)));
  process.stderr.write(`deleted ${count(deleted)} of ${count(n)} keys given; the collection holds ${count(c.size)}\n`);
}

interface QueryPlan {
  k: number;
  options: QueryOptions;
  vectors: unknown[];
}

function queryPlan(values: Parsed['values']): QueryPlan {
  const k = intOption(str(values, 'k'), 'k', 1, 10);
  const options: QueryOptions = { searchK: searchKOption(str(values, 'search-k') ?? '-1'), includeVectors: values['include-vectors'] === true };
  const filter = str(values, 'filter');
  if (filter !== undefined) {
    try {
      options.filter = JSON.parse(filter) as QueryOptions['filter'];
    } catch (cause) {
      throw new UsageError(`--filter must be a JSON object: ${(cause as Error).message}`);
    }
  }
  const maxDistance = str(values, 'max-distance');
  if (maxDistance !== undefined) {
    const d = parseNumber(maxDistance);
    if (d === null || Number.isNaN(d)) throw new UsageError(`--max-distance must be a number, got ${JSON.stringify(maxDistance)}`);
    options.maxDistance = d;
  }
  const vectors = ((values['vector'] as string[] | undefined) ?? []).map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UsageError(`--vector must be a JSON array of numbers, got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
    }
  });
  return { k, options, vectors };
}

async function query(c: Collection, file: string | undefined, { k, options, vectors }: QueryPlan): Promise<void> {
  const answer = (vector: unknown, where: string) => {
    if (vector === null || typeof vector !== 'object') throw new CliError(`${where}: expected a vector [..] or {"vector": [...]}`);
    const v = Array.isArray(vector) ? vector : (vector as { vector?: unknown }).vector;
    if (!Array.isArray(v)) throw new CliError(`${where}: expected a vector [..] or {"vector": [...]}`);
    let results;
    try {
      results = c.query(v as number[], k, options);
    } catch (e) {
      throw new CliError(`${where}: ${(e as Error).message}`);
    }
    process.stdout.write(JSON.stringify({ results: results.map((r) => ({ ...r, distance: f32Number(r.distance) })) }) + '\n');
  };
  vectors.forEach((v, i) => answer(v, `--vector ${i + 1}`));
  if (vectors.length === 0 || file !== undefined) for await (const [value, where] of jsonLines(file)) answer(value, where);
}

function info(c: Collection, json: boolean): void {
  const i = c.info();
  if (json) {
    process.stdout.write(JSON.stringify(i) + '\n');
    return;
  }
  const part = (p: { items: number; live: number; name?: string; graph?: boolean } | null) =>
    (p ? `${count(p.live)} live of ${count(p.items)}${p.name ? ` (${p.name}${p.graph ? ', with graph' : ''})` : ''}` : 'none');
  process.stdout.write(table([
    ['folder', i.dir],
    ['items', count(i.size)],
    ['f', String(i.f)],
    ['metric', i.metric],
    ['trees', String(i.trees)],
    ['graph', i.graph === false ? 'no' : `yes${Object.keys(i.graph).length > 0 ? ` ${JSON.stringify(i.graph)}` : ''}`],
    ...i.unusedGraphs.map((u): [string, string] => ['graph not used', `${u.segment}: ${u.reason}`]),
    ['base index', part(i.base)],
    ['delta index', part(i.delta)],
    ['searched exactly', part(i.memtable)],
    ['database', `SQLite (${i.driver})`],
  ]) + '\n');
}
