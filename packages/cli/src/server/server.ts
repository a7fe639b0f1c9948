// annoy-ts serve: a Fastify application answering nearest-neighbour queries on named indexes,
// with hot swaps (see registry.ts), Prometheus metrics and an OpenAPI description.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AllowedIds, kernelInfo, type SearchResult, type WithDistances } from 'annoy-ts';
import { packageVersion } from 'annoy-ts';
import { ApiError, badRequest, notFound, toErrorBody } from './errors.ts';
import type { LoadOptions } from './loader.ts';
import { Metrics } from './metrics.ts';
import { Registry, type Generation, type ReloadResult } from './registry.ts';
import { buildSchemas, DEFAULT_LIMITS, openApi, type Limits } from './schemas.ts';
import { search, type SearchMode, type Target } from './search.ts';
import { IndexWatcher } from './watch.ts';
import { registerClusterRoutes } from '../cluster/http.ts';
import { ClusterNode, type NodeOptions } from '../cluster/node.ts';
import { CollectionService, type CollectionMount } from './collections.ts';

export interface ServeOptions {
  /** The indexes to serve, by name. */
  indexes: { name: string; path: string }[];
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port (see AnnoyServer.port). */
  port?: number;
  /** When set, every endpoint but /health needs `Authorization: Bearer <token>`. */
  token?: string;
  /** The reload endpoints; default: on when a token is set or the host is loopback. */
  admin?: boolean;
  /** 'workers' (default): searches run on the index's worker-thread pool, one thread per core; 'main': on the event loop. */
  search?: SearchMode;
  limits?: Partial<Limits>;
  /** f and metric for files without a sidecar; verifyChecksum (default true). */
  load?: Omit<LoadOptions, 'inWorker'> & { inWorker?: boolean };
  /** Reload an index when its file changes. */
  watch?: boolean;
  watchDebounceMs?: number;
  /** Fastify's request log (JSON lines on stdout). */
  logRequests?: boolean;
  /** Swaps, rejected files and internal errors, one line each. */
  log?: (line: string) => void;
  /**
   * Join a NATS cluster (see ../cluster): each index is served as a shard endpoint, and the query
   * endpoints answer for the whole cluster (scatter-gather over every shard).
   */
  cluster?: NodeOptions;
  /** Collections to serve (see collections.ts): opened at start, closed at close. */
  collections?: CollectionMount[];
}

/** The filter and radius a query or batch may give (see schemas.ts). */
interface Refine {
  filter?: { ids?: number[]; labels?: string[] };
  maxDistance?: number;
}

interface QueryBody extends Refine {
  vector?: number[];
  item?: number;
  label?: string;
  k: number;
  searchK: number;
}

interface BatchBody extends Refine {
  queries: { vector?: number[]; item?: number; label?: string }[];
  k: number;
  searchK: number;
}

const F32_MAX = 3.4028234663852886e38;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Distances are float32 values: 9 significant digits read back exactly and keep the JSON short. */
function round(x: number): number {
  return Number.isInteger(x) ? x : Number(x.toPrecision(9));
}

export class AnnoyServer {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly metrics: Metrics;
  readonly limits: Limits;
  readonly searchMode: SearchMode;
  readonly host: string;
  #port: number;
  #watcher: IndexWatcher | null = null;
  #cluster: ClusterNode | null = null;
  #collections: CollectionService | null = null;
  #closing: Promise<void> | null = null;
  #draining = false;
  #inFlight = 0;
  readonly #started = Date.now();
  readonly #log: (line: string) => void;

  private constructor(readonly options: ServeOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 8080;
    this.#log = options.log ?? (() => {});
    let mode = options.search ?? 'workers';
    if (mode === 'workers' && !kernelInfo().sharedMemory) {
      this.#log('this runtime cannot share index memory with worker threads: searching on the main thread');
      mode = 'main';
    }
    this.searchMode = mode;
    this.registry = new Registry(options.load ?? {}, mode === 'workers', {
      onSwap: (r, reason, loaded) => {
        this.metrics.reloads.inc({ index: r.name, result: 'ok' });
        this.metrics.loadSeconds.set({ index: r.name }, loaded.millis / 1000);
        this.#log(`${r.name}: generation ${r.generation} serving ${r.path} (${reason}; loaded in ${Math.round(r.millis)} ms); generation ${r.previous} frees when its requests finish`);
      },
      onFreed: (g) => this.#log(`${g.name}: generation ${g.number} freed`),
      onReloadFailed: (name, path, error, reason) => {
        this.metrics.reloads.inc({ index: name, result: 'failed' });
        this.#log(`${name}: rejected ${path} (${reason}): ${error.message}; the old generation keeps serving`);
      },
    });
    this.metrics = new Metrics(this.registry);
    this.app = this.#buildApp();
  }

  /** Loads every index, then listens. Throws (nothing listening) when an index cannot be loaded. */
  static async start(options: ServeOptions): Promise<AnnoyServer> {
    const server = new AnnoyServer(options);
    try {
      for (const { name, path } of options.indexes) {
        const slot = await server.registry.add(name, path);
        server.metrics.loadSeconds.set({ index: name }, slot.current.loaded.millis / 1000);
      }
      if (options.cluster) {
        const context = { registry: server.registry, searchMode: server.searchMode, limits: server.limits, metrics: server.metrics.registry, log: server.#log };
        server.#cluster = await ClusterNode.join(context, options.cluster);
      }
      if (options.collections?.length) {
        server.#collections = await CollectionService.open(options.collections, (name, e) => server.#log(`collection ${name}: background rebuild failed: ${e.message}`));
        server.#collections.register(server.app, buildSchemas(server.limits), server.limits, options.token !== undefined);
      }
      await server.app.listen({ host: server.host, port: server.#port });
    } catch (error) {
      await server.#collections?.close().catch(() => undefined);
      await server.#cluster?.close().catch(() => undefined);
      await server.registry.close().catch(() => undefined);
      await server.app.close().catch(() => undefined);
      throw error;
    }
    server.#port = (server.app.server.address() as AddressInfo).port;
    server.#cluster?.setHttpAddress(server.url);
    if (options.watch) {
      server.#watcher = new IndexWatcher(server.registry, options.watchDebounceMs ?? 300, (name, e) => server.#log(`${name}: cannot watch: ${e.message}`));
      server.#watcher.start();
    }
    return server;
  }

  /** The cluster membership (with --nats), or null. */
  get cluster(): ClusterNode | null {
    return this.#cluster;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.#port}`;
  }

  /** Reloads one index (optionally from another path) or, without a name, all of them. */
  async reload(name?: string, path?: string, reason = 'reload requested'): Promise<ReloadResult[]> {
    const names = name === undefined ? this.registry.names() : [name];
    const results: ReloadResult[] = [];
    const errors: string[] = [];
    for (const n of names) {
      try {
        // In a cluster, a shard of a sharded folder reloads from the folder's current build.
        results.push(await this.registry.reload(n, { path: path ?? this.#cluster?.reloadPath(n), reason }));
        if (path !== undefined) this.#watcher?.refresh(n);
      } catch (e) {
        errors.push(`${n}: ${(e as Error).message}`);
      }
    }
    if (errors.length) throw new ApiError(422, 'reload_failed', `${errors.join('; ')} (the old generation keeps serving)`);
    return results;
  }

  /** Graceful shutdown: stop accepting, let running requests finish, then free the indexes. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#draining = true;
      this.#watcher?.close();
      // Cluster first: NATS routes new shard requests to other replicas, the routed ones finish.
      await this.#cluster?.stopServing();
      // Keep-alive connections that finish their last request while draining are closed too
      // (responses say "Connection: close"; idle ones are closed every 100 ms).
      const sweep = setInterval(() => this.app.server.closeIdleConnections(), 100);
      try {
        await this.app.close();
      } finally {
        clearInterval(sweep);
      }
      await this.#cluster?.close();
      await this.registry.close();
      await this.#collections?.close();
    })();
    return this.#closing;
  }

  #admit(queries: number): void {
    if (this.#inFlight + queries > this.limits.maxInFlight) {
      throw new ApiError(503, 'overloaded', `the server is answering ${this.#inFlight} queries already (limit ${this.limits.maxInFlight}, --max-in-flight): retry shortly`);
    }
  }

  async #answer(
    name: string, targets: BatchBody['queries'], k: number, searchK: number, refine: Refine, where: (i: number) => string,
  ): Promise<{ generation: Generation; results: SearchResult[] }> {
    if (searchK === 0) throw badRequest('invalid_request', "searchK must be -1 (Annoy's default, k × trees) or a positive integer, got 0");
    this.#admit(targets.length);
    this.#inFlight += targets.length;
    try {
      return await this.registry.with(name, async (generation) => {
        const resolved = targets.map((t, i) => this.#target(generation, t, where(i)));
        const options: WithDistances = { searchK, includeDistances: true };
        if (refine.filter) options.filter = this.#allowed(generation, refine.filter);
        if (refine.maxDistance !== undefined) options.maxDistance = refine.maxDistance;
        const results = await search(generation, resolved.map((r) => r.target), k, options, this.searchMode);
        const counts = { vector: 0, item: 0, label: 0 };
        for (const r of resolved) counts[r.kind]++;
        for (const kind of ['vector', 'item', 'label'] as const) if (counts[kind]) this.metrics.queries.inc({ index: name, kind }, counts[kind]);
        return { generation, results };
      });
    } finally {
      this.#inFlight -= targets.length;
    }
  }

  /** Checks one query against the generation that will answer it. `where`: '' or 'queries[3].'. */
  #target(g: Generation, q: BatchBody['queries'][number], where: string): { target: Target; kind: 'vector' | 'item' | 'label' } {
    const given = (['vector', 'item', 'label'] as const).filter((key) => q[key] !== undefined);
    if (given.length !== 1) {
      const what = where ? where.slice(0, -1) : 'the body';
      throw badRequest('invalid_request', given.length === 0
        ? `${what} must give one of "vector", "item" or "label"`
        : `${what} must give only one of "vector", "item" or "label", got ${given.map((k) => `"${k}"`).join(' and ')}`);
    }
    if (q.vector !== undefined) {
      const v = q.vector;
      if (v.length !== g.f) {
        throw badRequest('wrong_dimension', `${where}vector has ${v.length} value${v.length === 1 ? '' : 's'}, but index "${g.name}" has f = ${g.f}`);
      }
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (!Number.isFinite(x)) throw badRequest('invalid_number', `${where}vector[${i}] is not a finite number (JSON ${x > 0 ? '1e400' : '-1e400'} and the like overflow)`);
        if (Math.abs(x) > F32_MAX) throw badRequest('invalid_number', `${where}vector[${i}] = ${x} overflows float32 (largest finite value ≈ 3.4e38)`);
      }
      return { target: { vector: v }, kind: 'vector' };
    }
    if (q.item !== undefined) {
      this.#checkItem(g, q.item, `${where}item`);
      return { target: { item: q.item }, kind: 'item' };
    }
    const label = q.label!;
    if (!g.labels) throw badRequest('no_labels', `${where}label: index "${g.name}" has no labels (build it from input with words or a label column)`);
    const id = g.labels.find(label);
    if (id === undefined) throw notFound('unknown_label', `${where}label ${JSON.stringify(label)}: no item of index "${g.name}" has this label`);
    return { target: { item: id }, kind: 'label' };
  }

  /** A filter's ids or labels, checked against the generation that will answer, as the bitset the index searches with. */
  #allowed(g: Generation, filter: NonNullable<Refine['filter']>): AllowedIds {
    const n = g.index.getNItems();
    if (filter.ids) {
      filter.ids.forEach((id, i) => this.#checkItem(g, id, `filter.ids[${i}]: item`));
      return AllowedIds.from(filter.ids, n);
    }
    const labels = g.labels;
    if (!labels) throw badRequest('no_labels', `filter.labels: index "${g.name}" has no labels (filter by "ids" instead)`);
    return AllowedIds.from(filter.labels!.map((label, i) => {
      const id = labels.find(label);
      if (id === undefined) throw notFound('unknown_label', `filter.labels[${i}] ${JSON.stringify(label)}: no item of index "${g.name}" has this label`);
      return id;
    }), n);
  }

  #checkItem(g: Generation, id: number, what: string): void {
    const n = g.index.getNItems();
    if (id >= n) {
      throw notFound('unknown_item', `${what} ${id} does not exist: index "${g.name}" has ${n === 0 ? 'no items' : `items 0 … ${n - 1}`}`);
    }
  }

  #neighbours(g: Generation, r: SearchResult): { ids: number[]; distances: number[]; labels?: (string | null)[] } {
    const out: { ids: number[]; distances: number[]; labels?: (string | null)[] } = { ids: r.ids, distances: r.distances.map(round) };
    const labels = g.labels;
    if (labels) out.labels = r.ids.map((id) => labels.get(id));
    return out;
  }

  #info(name: string) {
    const slot = this.registry.slot(name);
    const g = slot.current;
    const sidecar = g.loaded.sidecar;
    return {
      name, f: g.f, metric: g.metric, items: g.index.getNItems(), trees: g.index.getNTrees(), generation: g.number,
      path: slot.path, loadedAt: g.loadedAt.toISOString(), labels: g.labels !== null, checksum: sidecar?.checksum ?? null,
      metadata: sidecar?.metadata ?? null, graph: g.loaded.graph, draining: slot.draining.size,
      lastReload: slot.lastReload && { ...slot.lastReload, at: slot.lastReload.at.toISOString() },
    };
  }

  #buildApp(): FastifyInstance {
    const limits = this.limits;
    const s = buildSchemas(limits);
    const token = this.options.token;
    const expected = token === undefined ? null : digest(token);
    const adminAllowed = this.options.admin ?? (token !== undefined || isLoopback(this.host));
    const app = Fastify({
      logger: this.options.logRequests ? { level: 'info' } : false,
      bodyLimit: limits.maxBodyBytes,
      return503OnClosing: true,
      requestTimeout: 30_000,
      routerOptions: { maxParamLength: 256 },
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, verbose: true } },
    });

    // JSON bodies only, with the parser's own message on a syntax error.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(badRequest('invalid_json', 'the request body is empty: send a JSON object'), undefined);
      try {
        done(null, JSON.parse(text));
      } catch (e) {
        const hint = /\b(NaN|-?Infinity)\b/.test(text) ? ' (NaN and Infinity are not JSON numbers, and cannot be indexed)' : '';
        done(badRequest('invalid_json', `the request body is not valid JSON: ${(e as Error).message}${hint}`), undefined);
      }
    });

    app.addHook('onRequest', async (req, reply) => {
      const config = req.routeOptions.config as { public?: boolean; admin?: boolean };
      if (expected && !config.public) {
        const header = req.headers.authorization;
        const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
        if (given === null || !timingSafeEqual(digest(given), expected)) {
          reply.header('www-authenticate', 'Bearer');
          throw new ApiError(401, 'unauthorized', given === null ? 'this server needs a bearer token: send "Authorization: Bearer <token>"' : 'the bearer token is wrong');
        }
      }
      if (config.admin && !adminAllowed) {
        throw new ApiError(403, 'forbidden', this.options.admin === false
          ? 'admin endpoints are off on this server'
          : 'admin endpoints are off: the server listens beyond loopback without a token (--token-file)');
      }
    });

    app.addHook('onSend', async (_req, reply) => {
      if (this.#draining) reply.header('connection', 'close');
    });

    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      this.metrics.requests.inc({ method: req.method, route, status: reply.statusCode });
      this.metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    });

    app.setErrorHandler((error, req, reply) => {
      const body = toErrorBody(error, limits);
      if (body.statusCode >= 500 && body.error === 'internal') this.#log(`internal error on ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`);
      if (body.statusCode === 503 && body.error === 'overloaded') reply.header('retry-after', '1');
      reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
    });

    app.setNotFoundHandler((req, reply) => {
      reply.code(404).send({
        statusCode: 404, error: 'not_found',
        message: `there is no ${req.method} ${req.url.split('?')[0]} (the API is described at /openapi.json)`,
      });
    });

    const version = packageVersion();
    const spec = openApi(s, limits, version, token !== undefined);
    if (this.options.collections?.length) Object.assign(spec.paths as object, CollectionService.openApiPaths(s, limits, token !== undefined));

    app.get('/health', { config: { public: true }, schema: { response: { 200: s.health } } }, async () => ({
      status: 'ok', indexes: this.registry.names().length, uptimeSeconds: (Date.now() - this.#started) / 1000,
    }));

    app.get('/openapi.json', async () => spec);

    app.get('/metrics', async (_req, reply: FastifyReply) => {
      reply.type(this.metrics.registry.contentType);
      return this.metrics.registry.metrics();
    });

    app.get('/v1/indexes', { schema: { response: { 200: s.indexList } } }, async () => ({
      indexes: this.registry.names().map((n) => this.#info(n)),
    }));

    app.get<{ Params: { name: string } }>('/v1/indexes/:name', { schema: { params: s.nameParam, response: { 200: s.indexInfo } } }, async (req) => this.#info(req.params.name));

    // With --nats the query endpoints answer for the whole cluster (cluster/http.ts).
    if (this.options.cluster) registerClusterRoutes(app, s, limits, () => this.#cluster!);
    else {
      app.post<{ Params: { name: string }; Body: QueryBody }>(
        '/v1/indexes/:name/query',
        { schema: { params: s.nameParam, body: s.query, response: { 200: s.queryResult } } },
        async (req) => {
          const { k, searchK, filter, maxDistance } = req.body;
          const { generation, results } = await this.#answer(req.params.name, [req.body], k, searchK, { filter, maxDistance }, () => '');
          return { index: generation.name, generation: generation.number, ...this.#neighbours(generation, results[0]) };
        },
      );

      app.post<{ Params: { name: string }; Body: BatchBody }>(
        '/v1/indexes/:name/query/batch',
        { schema: { params: s.nameParam, body: s.batch, response: { 200: s.batchResult } } },
        async (req) => {
          const { queries, k, searchK, filter, maxDistance } = req.body;
          const { generation, results } = await this.#answer(req.params.name, queries, k, searchK, { filter, maxDistance }, (i) => `queries[${i}].`);
          return { index: generation.name, generation: generation.number, results: results.map((r) => this.#neighbours(generation, r)) };
        },
      );
    }

    app.get<{ Params: { name: string; id: string } }>(
      '/v1/indexes/:name/items/:id',
      { schema: { params: s.itemParams, response: { 200: s.itemResult } } },
      async (req) => this.registry.with(req.params.name, (g) => {
        const id = Number(req.params.id);
        this.#checkItem(g, id, 'item');
        return { index: g.name, generation: g.number, id, vector: g.index.getItemVector(id), label: g.labels?.get(id) ?? null };
      }),
    );

    app.post<{ Params: { name: string }; Body: { path?: string } | null | undefined }>(
      '/v1/indexes/:name/reload',
      { config: { admin: true }, schema: { params: s.nameParam, body: s.reloadBody, response: { 200: s.reloadResult } } },
      async (req: FastifyRequest<{ Params: { name: string }; Body: { path?: string } | null | undefined }>) => {
        this.registry.slot(req.params.name); // 404 for an unknown index
        const [result] = await this.reload(req.params.name, req.body?.path ?? undefined, 'admin endpoint');
        return result;
      },
    );

    app.post('/v1/reload', { config: { admin: true }, schema: { response: { 200: s.reloadAll } } }, async () => ({
      results: await this.reload(undefined, undefined, 'admin endpoint'),
    }));

    return app;
  }
}

export function startServer(options: ServeOptions): Promise<AnnoyServer> {
  return AnnoyServer.start(options);
}
