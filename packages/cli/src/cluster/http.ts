// The HTTP gateway of a `serve --nats` server: its query endpoints answer for the whole cluster
// (every shard of the index asked over NATS, the answers merged), and GET /v1/cluster shows which
// shards and replicas are up. The request bodies are the plain server's (same fields, same
// limits) plus three cluster options: allowPartial, consistent, timeoutMs.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../server/errors.ts';
import type { Limits, Schemas } from '../server/schemas.ts';
import type { ClusterAnswer, QueryOptions, Target } from './client.ts';
import { ClusterError, ClusterUnavailableError, HTTP_STATUS } from './errors.ts';
import type { ClusterNode } from './node.ts';

interface ClusterFields {
  allowPartial?: boolean;
  consistent?: boolean;
  timeoutMs?: number;
}

type QueryTarget = { vector?: number[]; item?: number; label?: string };
type QueryBody = QueryTarget & ClusterFields & { k: number; searchK: number };
type BatchBody = ClusterFields & { queries: QueryTarget[]; k: number; searchK: number };

const MAX_TIMEOUT_MS = 60_000;

const clusterFields = {
  allowPartial: { type: 'boolean', description: 'answer from the shards that answered, naming the missing ones in missingShards (default false: a missing shard is an error)' },
  consistent: { type: 'boolean', description: 'require every shard to answer from the same set (manifest or file checksum): retried during a rollout until the timeout' },
  timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS, description: "this query's timeout (default: the server's --nats-timeout)" },
} as const;

function schemas(s: Schemas) {
  const neighbours = s.batchResult.properties.results.items;
  const shardAnswer = {
    type: 'object',
    properties: {
      shard: { type: 'integer' }, generation: { type: 'integer' }, checksum: { type: ['string', 'null'] },
      set: { type: ['string', 'null'] }, node: { type: 'string' },
    },
  } as const;
  const cluster = {
    index: { type: 'string' },
    shards: { type: 'array', items: shardAnswer, description: 'the replica that answered for each shard, with its generation and set' },
    missingShards: { type: 'array', items: { type: 'integer' }, description: 'shards that did not answer (only with allowPartial)' },
    partial: { type: 'boolean' },
  } as const;
  // Filters and radii are not answered across a cluster yet: without these fields in the schema, a
  // body that gives one is refused (400) rather than answered unfiltered.
  const { filter: _queryFilter, maxDistance: _queryRadius, ...queryFields } = s.query.properties;
  const { filter: _batchFilter, maxDistance: _batchRadius, ...batchFields } = s.batch.properties;
  return {
    query: { ...s.query, properties: { ...queryFields, ...clusterFields } },
    batch: { ...s.batch, properties: { ...batchFields, ...clusterFields } },
    queryResult: { type: 'object', properties: { ...cluster, ...neighbours.properties }, required: ['index', 'ids', 'distances', 'shards', 'partial'] },
    batchResult: { type: 'object', properties: { ...cluster, results: { type: 'array', items: neighbours } }, required: ['index', 'results', 'shards', 'partial'] },
  };
}

/** Distances as float32 values: 9 significant digits read back exactly (as the plain server sends them). */
function round(x: number): number {
  return Number.isInteger(x) ? x : Number(x.toPrecision(9));
}

function toApiError(error: unknown): unknown {
  if (error instanceof ClusterUnavailableError) {
    const e = new ApiError(HTTP_STATUS[error.code], error.code, error.message);
    return Object.assign(e, { missingShards: error.missingShards });
  }
  if (error instanceof ClusterError) return new ApiError(HTTP_STATUS[error.code], error.code, error.message);
  return error;
}

/**
 * Registers the cluster's query routes (in place of the single-server ones) and GET /v1/cluster.
 * `node` is called per request: the server joins the cluster after building its routes.
 */
export function registerClusterRoutes(app: FastifyInstance, s: Schemas, limits: Limits, node: () => ClusterNode): void {
  const c = schemas(s);
  let inFlight = 0;

  const answer = async (name: string, targets: QueryTarget[], body: ClusterFields & { k: number; searchK: number }): Promise<ClusterAnswer> => {
    if (body.searchK === 0) throw new ApiError(400, 'invalid_request', "searchK must be -1 (Annoy's default, k × trees) or a positive integer, got 0");
    if (inFlight + targets.length > limits.maxInFlight) {
      throw new ApiError(503, 'overloaded', `the server is answering ${inFlight} queries already (limit ${limits.maxInFlight}, --max-in-flight): retry shortly`);
    }
    const n = node();
    const started = performance.now();
    inFlight += targets.length;
    try {
      const options: QueryOptions = { allowPartial: body.allowPartial === true, consistent: body.consistent === true, timeoutMs: body.timeoutMs };
      const result = await n.client.search(name, targets as Target[], body.k, body.searchK, options);
      n.metrics.queries.inc({ index: name, result: result.partial ? 'partial' : 'ok' }, targets.length);
      return result;
    } catch (error) {
      n.metrics.queries.inc({ index: name, result: 'error' }, targets.length);
      throw toApiError(error);
    } finally {
      inFlight -= targets.length;
      n.metrics.querySeconds.observe({ index: name }, (performance.now() - started) / 1000);
    }
  };

  const shape = (r: ClusterAnswer['results'][number]) => ({ ids: r.ids, distances: r.distances.map(round), ...(r.labels ? { labels: r.labels } : {}) });
  const meta = (a: ClusterAnswer) => ({ index: a.index, shards: a.shards, missingShards: a.missingShards, partial: a.partial });

  app.post<{ Params: { name: string }; Body: QueryBody }>(
    '/v1/indexes/:name/query',
    { schema: { params: s.nameParam, body: c.query, response: { 200: c.queryResult } } },
    async (req) => {
      const { vector, item, label, ...rest } = req.body;
      const a = await answer(req.params.name, [{ vector, item, label }].map(defined), rest);
      return { ...meta(a), ...shape(a.results[0]) };
    },
  );

  app.post<{ Params: { name: string }; Body: BatchBody }>(
    '/v1/indexes/:name/query/batch',
    { schema: { params: s.nameParam, body: c.batch, response: { 200: c.batchResult } } },
    async (req) => {
      const { queries, ...rest } = req.body;
      const a = await answer(req.params.name, queries.map(defined), rest);
      return { ...meta(a), results: a.results.map(shape) };
    },
  );

  app.get('/v1/cluster', async () => {
    try {
      return await node().client.status();
    } catch (error) {
      throw toApiError(error);
    }
  });
}

/** Drops the keys a JSON body did not give (so "exactly one of vector, item, label" is checked on what was sent). */
function defined(t: QueryTarget): QueryTarget {
  const out: QueryTarget = {};
  if (t.vector !== undefined) out.vector = t.vector;
  if (t.item !== undefined) out.item = t.item;
  if (t.label !== undefined) out.label = t.label;
  return out;
}
