// Collections on the HTTP server (serve --collection NAME=DIR): writes (PUT/DELETE items, compact)
// need the server's bearer token — a server started without one refuses them —; queries take the
// attribute filter language of @annoy-ts/collection. Described in the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import { AnnoyArgumentError, AnnoyStateError, Collection, type Key, type QueryOptions, type UpsertItem } from '@annoy-ts/collection';
import { ApiError, notFound } from './errors.ts';
import type { Limits, Schemas } from './schemas.ts';

export interface CollectionMount {
  name: string;
  dir: string;
}

/** Longest JSON text of a query's filter. */
const MAX_FILTER_LENGTH = 65_536;
const MAX_KEY_LENGTH = 1024;
const MAX_DIMENSION = 65_536;

export class CollectionService {
  readonly #collections: Map<string, Collection>;

  private constructor(collections: Map<string, Collection>) {
    this.#collections = collections;
  }

  /** Opens every collection (each stays open, with background rebuilds, until close()). */
  static async open(mounts: readonly CollectionMount[], onBackgroundError: (name: string, e: Error) => void): Promise<CollectionService> {
    const collections = new Map<string, Collection>();
    try {
      for (const { name, dir } of mounts) {
        if (collections.has(name)) throw new AnnoyArgumentError(`collection name ${JSON.stringify(name)} is given twice`);
        collections.set(name, await Collection.open(dir, { onBackgroundError: (e) => onBackgroundError(name, e) }));
      }
    } catch (e) {
      await Promise.all([...collections.values()].map((c) => c.close()));
      throw e;
    }
    return new CollectionService(collections);
  }

  get size(): number {
    return this.#collections.size;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#collections.values()].map((c) => c.close()));
  }

  #get(name: string): Collection {
    const c = this.#collections.get(name);
    if (!c) throw notFound('unknown_collection', `there is no collection ${JSON.stringify(name)} (served: ${[...this.#collections.keys()].join(', ') || 'none'})`);
    return c;
  }

  #info(name: string) {
    const { dir, f, metric, trees, graph, unusedGraphs, size, base, delta, memtable, building } = this.#get(name).info();
    return { name, dir, f, metric, trees, graph, unusedGraphs, items: size, base, delta, memtable, building };
  }

  /** The routes; `writable` is false when the server has no token (writes are then refused). */
  register(app: FastifyInstance, s: Schemas, limits: Limits, writable: boolean): void {
    const schemas = collectionSchemas(s, limits);
    const writes = () => {
      if (!writable) throw new ApiError(403, 'writes_need_token', 'collection writes need a bearer token: start the server with --token-file');
    };
    const answer = async <T>(run: () => Promise<T> | T): Promise<T> => {
      try {
        return await run();
      } catch (e) {
        if (e instanceof AnnoyStateError && /closed/.test(e.message)) throw new ApiError(503, 'unavailable', 'the server is shutting down');
        throw e;
      }
    };

    app.get('/v1/collections', async () => ({ collections: [...this.#collections.keys()].map((n) => this.#info(n)) }));

    app.get<{ Params: { name: string } }>('/v1/collections/:name', { schema: { params: s.nameParam } }, async (req) => this.#info(req.params.name));

    app.put<{ Params: { name: string }; Body: { items: UpsertItem[] } }>(
      '/v1/collections/:name/items',
      { schema: { params: s.nameParam, body: schemas.upsert } },
      async (req) => {
        writes();
        const c = this.#get(req.params.name);
        await answer(() => c.upsert(req.body.items));
        // Items written: a key given twice in one batch is one item (the last one given wins).
        return { collection: req.params.name, upserted: new Set(req.body.items.map((item) => item.key)).size, size: c.size };
      },
    );

    app.delete<{ Params: { name: string }; Body: { keys: Key[] } }>(
      '/v1/collections/:name/items',
      { schema: { params: s.nameParam, body: schemas.remove } },
      async (req) => {
        writes();
        const c = this.#get(req.params.name);
        const deleted = await answer(() => c.delete(req.body.keys));
        return { collection: req.params.name, deleted, size: c.size };
      },
    );

    app.post<{ Params: { name: string }; Body: { vector: number[]; k: number; searchK: number; filter?: QueryOptions['filter']; maxDistance?: number; includeVectors?: boolean } }>(
      '/v1/collections/:name/query',
      { schema: { params: s.nameParam, body: schemas.query } },
      async (req) => {
        const c = this.#get(req.params.name);
        const { vector, k, searchK, filter, maxDistance, includeVectors } = req.body;
        if (searchK === 0) throw new ApiError(400, 'invalid_request', "searchK must be -1 (the default) or a positive integer, got 0");
        if (filter !== undefined && JSON.stringify(filter).length > MAX_FILTER_LENGTH) {
          throw new ApiError(400, 'invalid_request', `filter is longer than ${MAX_FILTER_LENGTH} characters of JSON`);
        }
        if (vector.length !== c.f) throw new ApiError(400, 'wrong_dimension', `vector has ${vector.length} values, but collection "${req.params.name}" has f = ${c.f}`);
        const options: QueryOptions = { searchK, includeVectors: includeVectors === true };
        if (filter !== undefined) options.filter = filter;
        if (maxDistance !== undefined) options.maxDistance = maxDistance;
        const results = await answer(() => c.query(vector, k, options));
        return { collection: req.params.name, results: results.map((r) => ({ ...r, distance: round(r.distance) })) };
      },
    );

    app.post<{ Params: { name: string } }>('/v1/collections/:name/compact', { schema: { params: s.nameParam } }, async (req) => {
      writes();
      const c = this.#get(req.params.name);
      const t = performance.now();
      await answer(() => c.compact());
      return { collection: req.params.name, seconds: (performance.now() - t) / 1000, size: c.size };
    });
  }

  /** The routes above, for the OpenAPI document's `paths`. */
  static openApiPaths(s: Schemas, limits: Limits, auth: boolean): Record<string, unknown> {
    const schemas = collectionSchemas(s, limits);
    const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
    const error = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });
    const name = { name: 'name', in: 'path', required: true, schema: s.nameParam.properties.name, description: 'the collection name' };
    const common = { 400: error('bad request: the message names the item, field and problem'), 404: error('unknown collection'), ...(auth ? { 401: error('missing or wrong bearer token') } : {}) };
    const write = { ...common, 403: error('the server has no token: writes are refused'), 413: error('request body too large (--max-body)'), 503: error('shutting down') };
    return {
      '/v1/collections': { get: { summary: 'the served collections', responses: { 200: { description: 'ok' } } } },
      '/v1/collections/{name}': { get: { summary: 'one collection: items, index segments, items searched exactly', parameters: [name], responses: { 200: { description: 'ok' }, ...common } } },
      '/v1/collections/{name}/items': {
        put: {
          summary: `insert or replace up to ${limits.maxBatch} items; answered once durable (a key given twice: the last wins). Needs the bearer token.`,
          parameters: [name], requestBody: { required: true, ...json(schemas.upsert) },
          responses: { 200: { description: 'written', ...json({ type: 'object', properties: { collection: { type: 'string' }, upserted: { type: 'integer' }, size: { type: 'integer' } } }) }, ...write },
        },
        delete: {
          summary: `delete up to ${limits.maxBatch} items by key (missing keys are ignored); answered once durable. Needs the bearer token.`,
          parameters: [name], requestBody: { required: true, ...json(schemas.remove) },
          responses: { 200: { description: 'deleted', ...json({ type: 'object', properties: { collection: { type: 'string' }, deleted: { type: 'integer' }, size: { type: 'integer' } } }) }, ...write },
        },
      },
      '/v1/collections/{name}/query': {
        post: {
          summary: 'the k nearest items of a vector, optionally filtered by attributes and bounded by distance',
          parameters: [name], requestBody: { required: true, ...json(schemas.query) },
          responses: { 200: { description: 'nearest first', ...json(schemas.queryResult) }, ...common, 413: error('request body too large') },
        },
      },
      '/v1/collections/{name}/compact': {
        post: { summary: 'rebuild the index from every live item (queries and writes go on); answered after the switch. Needs the bearer token.', parameters: [name], responses: { 200: { description: 'switched' }, ...write } },
      },
    };
  }
}

function round(x: number): number {
  return Number.isInteger(x) ? x : Number(x.toPrecision(9));
}

function collectionSchemas(s: Schemas, limits: Limits) {
  const key = {
    anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH }, { type: 'integer' }],
    description: 'a string, or an integer of at most 2^53 − 1 in magnitude (1 and "1" are different keys)',
  } as const;
  const vector = { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: MAX_DIMENSION, description: 'exactly f finite numbers (float32 range)' } as const;
  return {
    upsert: {
      type: 'object', additionalProperties: false, required: ['items'],
      properties: {
        items: {
          type: 'array', minItems: 1, maxItems: limits.maxBatch,
          items: {
            type: 'object', additionalProperties: false, required: ['key', 'vector'],
            properties: { key, vector, attributes: { type: ['object', 'null'], description: 'a JSON object (at most 65,536 characters as JSON)' } },
          },
        },
      },
    },
    remove: {
      type: 'object', additionalProperties: false, required: ['keys'],
      properties: { keys: { type: 'array', minItems: 1, maxItems: limits.maxBatch, items: key } },
    },
    query: {
      type: 'object', additionalProperties: false, required: ['vector'],
      properties: {
        vector,
        k: s.query.properties.k,
        searchK: { ...s.query.properties.searchK, description: `candidates inspected in the indexes: -1 = k × trees, or 1 … ${limits.maxSearchK}` },
        filter: {
          type: 'object',
          description: 'attribute filter: {"genre": "jazz", "year": {"$gte": 1950}, "tags": {"$in": ["live"]}} — equality, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $and, $or, $not; dotted paths reach into nested objects',
        },
        maxDistance: { type: 'number', description: 'only items within this distance (dot: inner product at least this)' },
        includeVectors: { type: 'boolean', default: false },
      },
    },
    queryResult: {
      type: 'object',
      properties: {
        collection: { type: 'string' },
        results: {
          type: 'array',
          items: { type: 'object', properties: { key, distance: { type: 'number' }, attributes: { type: 'object' }, vector: vector } },
        },
      },
    },
  } as const;
}
