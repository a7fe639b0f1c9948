// annoy-ts serve: the command-line shell around src/server (options, logging, signals).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import type { AnnoyServer, ServeOptions } from '../../server/index.ts';
import { intOption, str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { dimensionOption, INDEX_HELP, INDEX_OPTIONS, metricOption } from '../open-index.ts';
import { NATS_HELP, NATS_OPTIONS, natsOptions } from '../../cluster/cli.ts';

export const spec: CommandSpec = {
  name: 'serve',
  positionals: [], // INDEX…: at least one, unless --nats (then the server may be a gateway only)
  repeatLast: true,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'token-file': { type: 'string' },
    watch: { type: 'boolean' },
    threads: { type: 'string' },
    'max-k': { type: 'string' },
    'max-search-k': { type: 'string' },
    'max-batch': { type: 'string' },
    'max-filter-ids': { type: 'string' },
    'max-body': { type: 'string' },
    'max-in-flight': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'log-requests': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    collection: { type: 'string', multiple: true },
    ...INDEX_OPTIONS,
    ...NATS_OPTIONS,
  },
  help: `Usage: annoy-ts serve INDEX [INDEX…] [--port 8080] [--host 127.0.0.1] [options]

Answers nearest-neighbour queries over HTTP (JSON). Each INDEX is a file, or NAME=FILE to name it
(default name: the file name without .ann). The API is described at /openapi.json. An INDEX may be
the folder of a sharded index (annoy-ts build --shards): every query searches all its shards
(searchK per shard), and a hot swap replaces the whole set once its new manifest is in place.

Endpoints:
  GET  /health                       200 while serving (no token needed), 503 while shutting down
  GET  /v1/indexes                   name, f, metric, items, trees and generation of each index
  GET  /v1/indexes/NAME              one index
  POST /v1/indexes/NAME/query        {"vector": [...]} or {"item": 7} or {"label": "word"},
                                     with "k" (default 10) and "searchK" (default -1)
                                     → {"ids", "distances", "labels" (if any), "generation"}
  POST /v1/indexes/NAME/query/batch  {"queries": [{"vector": [...]}, {"item": 7}, …], "k", "searchK"}
  GET  /v1/indexes/NAME/items/ID     the stored vector (and label) of an item
  POST /v1/indexes/NAME/reload       admin: load the file again (or {"path": "new.ann"}) and swap
  POST /v1/reload                    admin: reload every index
  GET  /v1/collections[/NAME]        collections (--collection): items, index segments
  PUT  /v1/collections/NAME/items    {"items": [{"key", "vector", "attributes"}]}: insert or replace (token)
  DELETE /v1/collections/NAME/items  {"keys": [...]} (token)
  POST /v1/collections/NAME/query    {"vector", "k", "searchK", "filter", "maxDistance", "includeVectors"}
  POST /v1/collections/NAME/compact  rebuild the collection's index (token)
  GET  /metrics                      Prometheus metrics
  GET  /openapi.json                 the OpenAPI 3.1 description

Hot swaps: SIGHUP, an admin request or (with --watch) a changed file loads the new index beside the
old one on a worker thread, checks it against its sidecar (size, checksum, items) and switches to
it atomically; requests already running finish on the old generation, which is then freed. A file
that fails the checks is rejected and the old generation keeps serving.

Options:
  -p, --port P            port (default 8080; 0 = any free port)
      --host H            address to listen on (default 127.0.0.1: this machine only)
      --token-file FILE   require "Authorization: Bearer TOKEN" (the file's first line) everywhere
                          but /health; the environment variable ANNOY_TS_TOKEN works too
      --watch             reload an index when its file, sidecar or labels change (or a symbolic
                          link INDEX is re-pointed)
      --threads auto|0    auto (default): searches run on worker threads, one per core, sharing
                          the index's memory; 0: on the event loop
      --max-k N           largest k (default 1000)
      --max-search-k N    largest searchK (default 100000)
      --max-batch N       most queries in one batch request (default 1000)
      --max-filter-ids N  most ids or labels in a query's filter (default 100000)
      --max-body BYTES    largest request body (default 1048576)
      --max-in-flight N   most queries answered at once; more get 503 (default 10000)
      --drain-timeout S   on SIGTERM, seconds to let running requests finish (default 10)
      --log-requests      log every request (JSON lines on stdout)
      --collection NAME=DIR  serve the collection in DIR (repeatable; see annoy-ts collection
                          --help); its writes need the token (refused without --token-file)
${INDEX_HELP}
  -q, --quiet             no log lines on stderr (startup, swaps, rejected files)
      --debug             stack traces on errors
  -h, --help              this help

Admin endpoints need the token when one is set, and are off when the server listens beyond
loopback without one. SIGTERM or SIGINT: stop accepting, finish running requests, exit 0.
${NATS_HELP}`,
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** "FILE" or "NAME=FILE" → name and path. */
export function indexSpec(arg: string): { name: string; path: string } {
  const eq = arg.indexOf('=');
  if (eq > 0 && NAME.test(arg.slice(0, eq))) return { name: arg.slice(0, eq), path: arg.slice(eq + 1) };
  const name = basename(arg).replace(/\.ann$/i, '');
  if (!NAME.test(name)) {
    throw new UsageError(`serve: cannot name an index after ${JSON.stringify(arg)}: write NAME=${arg} (a name is letters, digits, '.', '_' or '-')`);
  }
  return { name, path: arg };
}

function readToken(file: string | undefined): string | undefined {
  let token: string | undefined;
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').split(/\r?\n/)[0].trim();
    } catch (cause) {
      throw new CliError(`cannot read --token-file ${file}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`);
    }
    if (!token) throw new CliError(`--token-file ${file}: the first line is empty`);
  } else if (process.env['ANNOY_TS_TOKEN'] !== undefined) {
    token = process.env['ANNOY_TS_TOKEN'].trim();
    if (!token) throw new CliError('ANNOY_TS_TOKEN is set but empty');
  }
  return token;
}

export async function execute({ values, positionals }: Parsed): Promise<void> {
  const specs = positionals.map(indexSpec);
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (seen.has(name)) throw new UsageError(`serve: two indexes are named ${JSON.stringify(name)}: name them with NAME=FILE`);
    seen.add(name);
  }
  const joined = natsOptions(values, specs); // with --nats, a sharded folder becomes one index per served shard
  const collections = ((values['collection'] as string[] | undefined) ?? []).map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0 || !NAME.test(arg.slice(0, eq))) throw new UsageError(`--collection must be NAME=DIR (a name is letters, digits, '.', '_' or '-'), got ${JSON.stringify(arg)}`);
    return { name: arg.slice(0, eq), dir: arg.slice(eq + 1) };
  });
  if (specs.length === 0 && !joined && collections.length === 0) throw new UsageError('serve: missing INDEX (see annoy-ts serve --help)');
  const indexes = joined?.indexes ?? specs;
  const threads = str(values, 'threads') ?? 'auto';
  if (threads !== 'auto' && threads !== '0') throw new UsageError(`--threads must be auto or 0, got ${JSON.stringify(threads)}`);
  const port = intOption(str(values, 'port'), 'port', 0, 8080);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const host = str(values, 'host') ?? '127.0.0.1';
  const metricText = str(values, 'metric');
  const quiet = values['quiet'] === true;
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`annoy-ts serve: ${line}\n`);
  };
  const serveOptions: ServeOptions = {
    indexes, host, port, collections,
    token: readToken(str(values, 'token-file')),
    search: threads === '0' ? 'main' : 'workers',
    watch: values['watch'] === true,
    logRequests: values['log-requests'] === true,
    log,
    cluster: joined?.options,
    load: {
      f: dimensionOption(str(values, 'f')),
      metric: metricText === undefined ? undefined : metricOption(metricText),
      verifyChecksum: values['no-verify'] !== true,
    },
    limits: {
      maxK: intOption(str(values, 'max-k'), 'max-k', 1, 1000),
      maxSearchK: intOption(str(values, 'max-search-k'), 'max-search-k', 1, 100_000),
      maxBatch: intOption(str(values, 'max-batch'), 'max-batch', 1, 1000),
      maxFilterIds: intOption(str(values, 'max-filter-ids'), 'max-filter-ids', 1, 100_000),
      maxBodyBytes: intOption(str(values, 'max-body'), 'max-body', 1024, 1 << 20),
      maxInFlight: intOption(str(values, 'max-in-flight'), 'max-in-flight', 1, 10_000),
    },
  };
  const drainSeconds = intOption(str(values, 'drain-timeout'), 'drain-timeout', 0, 10);

  const { startServer } = await import('../../server/index.ts');
  let server: AnnoyServer;
  try {
    server = await startServer(serveOptions);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${host}:${port}: the address is in use`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new CliError(`cannot listen on ${host}:${port}: no such local address`);
    if (e.code === 'EACCES') throw new CliError(`cannot listen on ${host}:${port}: permission denied`);
    throw error;
  }
  for (const slot of server.registry.slots()) {
    const g = slot.current;
    log(`${slot.name}: ${slot.path} (${g.index.getNItems()} items, f = ${g.f}, ${g.metric}, ${g.index.getNTrees()} trees${g.labels ? ', labels' : ''}) loaded in ${(g.loaded.millis / 1000).toFixed(1)} s`);
  }
  const where = server.searchMode === 'workers' ? `searches on ${availableParallelism()} worker thread${availableParallelism() === 1 ? '' : 's'}` : 'searches on the event loop';
  log(`listening on ${server.url} (${where}${serveOptions.token ? ', bearer token required' : ''}${serveOptions.watch ? ', watching files' : ''}); SIGHUP reloads, SIGTERM stops`);

  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log(`${signal} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      log(`${signal}: draining (running requests finish; at most ${drainSeconds} s)`);
      const timer = setTimeout(() => {
        log(`requests still running after ${drainSeconds} s: exiting`);
        process.exit(1);
      }, drainSeconds * 1000);
      timer.unref();
      server.close().then(() => {
        clearTimeout(timer);
        process.off('SIGHUP', hup);
        log('stopped');
        resolve();
      }, reject);
    };
    const hup = () => {
      log('SIGHUP: reloading every index');
      server.reload(undefined, undefined, 'SIGHUP').catch(() => undefined); // failures are logged by the server
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', hup);
  });
}
