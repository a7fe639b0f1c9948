// JSON schemas of the API (Fastify validates requests and serialises responses with them) and the
// OpenAPI 3.1 description built from the very same objects, so the two cannot drift apart.
import { NAME_PATTERN } from './registry.ts';

export interface Limits {
  /** Largest k (neighbours per query). */
  maxK: number;
  /** Largest searchK (-1, Annoy's default k × trees, is always allowed). */
  maxSearchK: number;
  /** Most queries in one batch request. */
  maxBatch: number;
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
  /** Most queries being answered at once; more get 503 (overloaded) rather than queueing without bound. */
  maxInFlight: number;
  /** Most ids (or labels) in a query's filter. */
  maxFilterIds: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxK: 1000, maxSearchK: 100_000, maxBatch: 1000, maxBodyBytes: 1 << 20, maxInFlight: 10_000, maxFilterIds: 100_000,
};

/** Largest vector length accepted by the schema (the index's f is checked by the handler). */
const MAX_DIMENSION = 65_536;
const MAX_ITEM_ID = 0x7fffffff - 1;

export function buildSchemas(limits: Limits) {
  const error = {
    type: 'object',
    description: 'Every error: a stable code and a message naming the problem.',
    properties: {
      statusCode: { type: 'integer' },
      error: { type: 'string', description: 'machine-readable code, e.g. unknown_index, invalid_request, wrong_dimension' },
      message: { type: 'string' },
    },
    required: ['statusCode', 'error', 'message'],
  } as const;

  const target = {
    vector: {
      type: 'array', items: { type: 'number' }, minItems: 1, maxItems: MAX_DIMENSION,
      description: 'a query vector of exactly f finite numbers (f32 range)',
    },
    item: { type: 'integer', minimum: 0, maximum: MAX_ITEM_ID, description: 'the neighbours of this item (it comes first, at distance 0)' },
    label: { type: 'string', minLength: 1, maxLength: 10_000, description: 'the neighbours of the item with this label (indexes with labels)' },
  } as const;

  const tuning = {
    k: { type: 'integer', minimum: 1, maximum: limits.maxK, default: 10, description: `neighbours to return (at most ${limits.maxK})` },
    searchK: {
      type: 'integer', minimum: -1, maximum: limits.maxSearchK, default: -1,
      description: `nodes to inspect: -1 = Annoy's default (k × trees), or 1 … ${limits.maxSearchK}; more = better recall, slower`,
    },
  } as const;

  const refine = {
    filter: {
      type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1,
      description: `only these items may be returned: {"ids": [...]} or {"labels": [...]} (indexes with labels), ` +
        `at most ${limits.maxFilterIds} of them; an empty list allows nothing. searchK then counts allowed items`,
      properties: {
        ids: { type: 'array', maxItems: limits.maxFilterIds, items: { type: 'integer', minimum: 0, maximum: MAX_ITEM_ID } },
        labels: { type: 'array', maxItems: limits.maxFilterIds, items: { type: 'string', minLength: 1, maxLength: 10_000 } },
      },
    },
    maxDistance: {
      type: 'number',
      description: 'only items within this distance, as distances are reported (dot: with an inner product of at least this); ' +
        'at most k of them, nearest first',
    },
  } as const;

  const query = {
    type: 'object', additionalProperties: false,
    description: 'exactly one of vector, item or label; optional k, searchK, filter and maxDistance',
    properties: { ...target, ...tuning, ...refine },
  } as const;

  const batch = {
    type: 'object', additionalProperties: false, required: ['queries'],
    properties: {
      queries: {
        type: 'array', minItems: 1, maxItems: limits.maxBatch,
        description: `up to ${limits.maxBatch} queries, each exactly one of vector, item or label`,
        items: { type: 'object', additionalProperties: false, properties: target },
      },
      ...tuning,
      ...refine,
    },
  } as const;

  const neighbours = {
    type: 'object',
    properties: {
      ids: { type: 'array', items: { type: 'integer' } },
      distances: { type: 'array', items: { type: 'number' }, description: 'as Annoy reports them: angular √(2 − 2·cos), euclidean, manhattan, dot (larger = closer), hamming' },
      labels: { type: 'array', items: { type: ['string', 'null'] }, description: 'present when the index has labels' },
    },
    required: ['ids', 'distances'],
  } as const;

  const served = { index: { type: 'string' }, generation: { type: 'integer', description: 'the index generation that answered (1, then +1 per swap)' } } as const;

  const queryResult = { type: 'object', properties: { ...served, ...neighbours.properties }, required: ['index', 'generation', 'ids', 'distances'] } as const;
  const batchResult = {
    type: 'object', properties: { ...served, results: { type: 'array', items: neighbours } }, required: ['index', 'generation', 'results'],
  } as const;

  const indexInfo = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      f: { type: 'integer' },
      metric: { type: 'string' },
      items: { type: 'integer' },
      trees: { type: 'integer' },
      generation: { type: 'integer' },
      path: { type: 'string' },
      loadedAt: { type: 'string', format: 'date-time' },
      labels: { type: 'boolean' },
      checksum: { type: ['string', 'null'] },
      metadata: { type: ['object', 'null'], additionalProperties: true },
      graph: {
        type: ['object', 'null'],
        description: 'the neighbour graph queries walk (INDEX.graph, checked to belong to the index bytes; reloads carry it), or null',
        properties: { path: { type: 'string' }, byteLength: { type: 'integer' }, edges: { type: 'integer' }, maxDegree: { type: 'integer' } },
      },
      draining: { type: 'integer', description: 'older generations still finishing requests' },
      lastReload: {
        type: ['object', 'null'],
        properties: { at: { type: 'string', format: 'date-time' }, ok: { type: 'boolean' }, reason: { type: 'string' }, error: { type: 'string' } },
      },
    },
    required: ['name', 'f', 'metric', 'items', 'trees', 'generation'],
  } as const;

  const nameParam = { type: 'object', properties: { name: { type: 'string', pattern: NAME_PATTERN } }, required: ['name'] } as const;
  const itemParams = {
    type: 'object',
    properties: { name: { type: 'string', pattern: NAME_PATTERN }, id: { type: 'string', pattern: '^[0-9]{1,10}$' } },
    required: ['name', 'id'],
  } as const;

  const reloadBody = {
    type: ['object', 'null'], additionalProperties: false,
    properties: { path: { type: 'string', minLength: 1, maxLength: 4096, description: 'load this file instead (re-point the index)' } },
  } as const;
  const reloadResult = {
    type: 'object',
    properties: {
      name: { type: 'string' }, status: { type: 'string', enum: ['swapped', 'unchanged'] }, generation: { type: 'integer' },
      previous: { type: 'integer' }, path: { type: 'string' }, millis: { type: 'number' },
    },
  } as const;

  const health = {
    type: 'object',
    properties: { status: { type: 'string' }, indexes: { type: 'integer' }, uptimeSeconds: { type: 'number' } },
  } as const;

  return {
    error, query, batch, queryResult, batchResult, indexInfo, nameParam, itemParams, reloadBody, reloadResult, health,
    itemResult: {
      type: 'object',
      properties: { ...served, id: { type: 'integer' }, vector: { type: 'array', items: { type: 'number' } }, label: { type: ['string', 'null'] } },
      required: ['index', 'generation', 'id', 'vector'],
    },
    indexList: { type: 'object', properties: { indexes: { type: 'array', items: indexInfo } }, required: ['indexes'] },
    reloadAll: { type: 'object', properties: { results: { type: 'array', items: reloadResult } } },
  } as const;
}

export type Schemas = ReturnType<typeof buildSchemas>;

/** The OpenAPI 3.1 description of the service, from the schemas the routes use. */
export function openApi(s: Schemas, limits: Limits, version: string, auth: boolean): Record<string, unknown> {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c], ...json({ $ref: '#/components/schemas/Error' }) }]));
  const name = { name: 'name', in: 'path', required: true, schema: s.nameParam.properties.name, description: 'the index name' };
  const security = auth ? [{ bearer: [] }] : [];
  const common = [400, ...(auth ? [401] : []), 404];
  return {
    openapi: '3.1.0',
    info: {
      title: 'annoy-ts serve',
      version,
      description: 'Nearest-neighbour queries on Annoy indexes, with hot index swaps. Limits: ' +
        `k ≤ ${limits.maxK}, searchK ≤ ${limits.maxSearchK}, ≤ ${limits.maxBatch} queries per batch, ≤ ${limits.maxFilterIds} ids or labels ` +
        `in a filter, bodies ≤ ${limits.maxBodyBytes} bytes. Queries may be filtered (filter: {"ids": [...]} or {"labels": [...]}: only ` +
        'those items are returned; a batch\'s filter applies to all its queries) and bounded (maxDistance: only items within that ' +
        'distance; dot: inner product at least it).',
    },
    components: {
      schemas: { Error: s.error, Index: s.indexInfo, Neighbours: s.batchResult.properties.results.items },
      ...(auth ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}),
    },
    security,
    paths: {
      '/health': { get: { summary: 'liveness: 200 while serving, 503 while shutting down', security: [], responses: { 200: { description: 'serving', ...json(s.health) } } } },
      '/v1/indexes': { get: { summary: 'the served indexes', responses: { 200: { description: 'ok', ...json(s.indexList) }, ...errors(...(auth ? [401] : [])) } } },
      '/v1/indexes/{name}': { get: { summary: 'one index', parameters: [name], responses: { 200: { description: 'ok', ...json(s.indexInfo) }, ...errors(...common) } } },
      '/v1/indexes/{name}/query': {
        post: {
          summary: 'the k nearest neighbours of a vector, an item or a label (optionally among allowed items only, or within maxDistance)',
          parameters: [name],
          requestBody: { required: true, ...json(s.query) },
          responses: { 200: { description: 'neighbours, nearest first', ...json(s.queryResult) }, ...errors(...common, 413, 415, 503) },
        },
      },
      '/v1/indexes/{name}/query/batch': {
        post: {
          summary: 'many queries on one index generation; results in input order',
          parameters: [name],
          requestBody: { required: true, ...json(s.batch) },
          responses: { 200: { description: 'one result per query', ...json(s.batchResult) }, ...errors(...common, 413, 415, 503) },
        },
      },
      '/v1/indexes/{name}/items/{id}': {
        get: {
          summary: 'the stored vector (and label) of an item',
          parameters: [name, { name: 'id', in: 'path', required: true, schema: s.itemParams.properties.id }],
          responses: { 200: { description: 'ok', ...json(s.itemResult) }, ...errors(...common) },
        },
      },
      '/v1/indexes/{name}/reload': {
        post: {
          summary: 'admin: load the index file again (or another file: path) beside the old one and swap atomically',
          parameters: [name],
          requestBody: { required: false, ...json(s.reloadBody) },
          responses: { 200: { description: 'swapped', ...json(s.reloadResult) }, ...errors(...common, 403, 422) },
        },
      },
      '/v1/reload': {
        post: {
          summary: 'admin: reload every index',
          responses: { 200: { description: 'all swapped', ...json(s.reloadAll) }, ...errors(...(auth ? [401] : []), 403, 422) },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics (text format)', responses: { 200: { description: 'metrics', content: { 'text/plain': {} } } } } },
      '/openapi.json': { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
  };
}

const ERROR_TEXT: Record<number, string> = {
  400: 'bad request: the message names the field and the problem',
  401: 'missing or wrong bearer token',
  403: 'admin endpoints are off (listening beyond loopback without --token)',
  404: 'unknown index, item or label',
  413: 'request body too large',
  415: 'the body is not JSON',
  422: 'the new index file was rejected; the old generation keeps serving',
  503: 'shutting down, or overloaded',
};
