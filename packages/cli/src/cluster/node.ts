// A `serve --nats` process in the cluster: it serves each of its indexes as a shard endpoint of the
// NATS services API (subject and queue group PREFIX.INDEX.SHARD, see protocol.ts), answering
// from the server's registry — so hot swaps, leases and the worker-thread pool are the HTTP
// server's own — and it holds a ClusterClient on the same connection for the HTTP gateway.
//
// Joining checks the cluster first: a shard whose dimension, metric, shard count or set differs
// from the replicas already serving that index is refused. Leaving drains: the subscriptions are
// drained (NATS stops routing to this server; requests already routed are still answered), the
// requests in flight finish, then the connection closes — so a rolling restart loses no query.
import { hostname } from 'node:os';
import { packageVersion, type SearchResult } from 'annoy-ts';
import type { NatsConnection, Service, ServiceMsg } from 'nats';
import type { Registry as PromRegistry } from 'prom-client';
import type { Generation, Registry } from '../server/registry.ts';
import { search, type SearchMode } from '../server/search.ts';
import { ClusterClient, type ClusterOptions } from './client.ts';
import { connectNats, type NatsOptions } from './connection.ts';
import { discoverReplicas, type Replica } from './discovery.ts';
import { ClusterError } from './errors.ts';
import { ClusterMetrics } from './metrics.ts';
import {
  checkPrefix, decodeJson, decodeVectors, DEFAULT_PREFIX, encodeJson, endpointName, HEADER, PROTOCOL_VERSION, shardSubject, STATUS,
  type LookupReply, type LookupRequest, type NodeInfo, type SearchReply, type ShardState,
} from './protocol.ts';

/** Which shard of which set a served index is. A plain index is shard 0 of a one-shard set. */
export interface ShardRole {
  /** The index's name in the cluster. */
  index: string;
  shard: number;
  shards: number;
  /** The set's identity: a sharded index's manifest checksum; for a plain index its own checksum. */
  set: string | null;
  /** The set's largest global id + 1 (AnnoyIndex.getNItems's meaning). */
  setItems: number;
  /** Labels by global id (a sharded set's labels file, or the plain index's own). */
  labels: { get(id: number): string | null; find(label: string): number | undefined } | null;
  /** This shard's item id → the user's (global) id. */
  toGlobal(local: number): number;
  /** A global id → this shard's id, or -1 when the item is not in this shard. */
  toLocal(global: number): number;
}

/** Which shard each registry slot is (see shards.ts for sharded folders). */
export interface ShardSource {
  /** The role of a slot's generation (asked once per generation: a hot swap may change the set). */
  role(slot: string, generation: Generation): ShardRole;
  /** The file a reload of `slot` loads (a sharded folder's current build), or undefined: the slot's own path. */
  reloadPath?(slot: string): string | undefined;
}

export function plainRole(slot: string, g: Generation): ShardRole {
  const checksum = g.loaded.sidecar?.checksum ?? null;
  const n = g.index.getNItems();
  return { index: slot, shard: 0, shards: 1, set: checksum, setItems: n, labels: g.labels, toGlobal: (id) => id, toLocal: (id) => (id < n ? id : -1) };
}

const PLAIN: ShardSource = { role: plainRole };

export interface NodeOptions extends NatsOptions, ClusterOptions {
  /** How this server's indexes map to shards (default: each a plain one-shard index). */
  shards?: ShardSource;
  /** This server's name in discovery (default: host:pid). */
  nodeName?: string;
}

export interface NodeContext {
  registry: Registry;
  searchMode: SearchMode;
  limits: { maxK: number; maxSearchK: number; maxInFlight: number };
  metrics: PromRegistry;
  log: (line: string) => void;
}

interface Served {
  slot: string;
  /** Fixed at join: the subject this endpoint listens on. */
  index: string;
  shard: number;
  shards: number;
  subject: string;
  inFlight: number;
}

const SEMVER = /\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?/;

export class ClusterNode {
  readonly client: ClusterClient;
  readonly metrics: ClusterMetrics;
  readonly info: NodeInfo;
  readonly #served: Served[] = [];
  readonly #source: ShardSource;
  readonly #roles = new WeakMap<Generation, ShardRole>();
  #service: Service | null = null;
  #inFlight = 0;
  #idle: (() => void) | null = null;
  #draining: Promise<void> | null = null;
  #closed = false;

  private constructor(readonly nc: NatsConnection, readonly prefix: string, readonly context: NodeContext, options: NodeOptions) {
    this.#source = options.shards ?? PLAIN;
    this.info = { name: options.nodeName ?? `${hostname()}:${process.pid}`, http: null, pid: process.pid, host: hostname() };
    this.metrics = new ClusterMetrics(context.metrics, {
      shards: () => this.#served.map((s) => {
        const g = this.context.registry.slot(s.slot).current;
        return { index: s.index, shard: s.shard, generation: g.number, items: g.index.getNItems() };
      }),
      connected: () => this.client.watch.up,
    });
    this.client = new ClusterClient(nc, { ...options, onShardRequest: (e) => this.metrics.observeShardRequest(e) });
  }

  /**
   * Connects, checks each served index against the replicas already in the cluster, and registers
   * the shard endpoints. Throws a ClusterError naming the problem (NATS unreachable, a mismatch).
   */
  static async join(context: NodeContext, options: NodeOptions): Promise<ClusterNode> {
    const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    const nc = await connectNats({ name: 'annoy-ts serve', ...options });
    const node = new ClusterNode(nc, prefix, context, options);
    try {
      await node.#register();
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
    nc.closed().then((error) => {
      if (error && !node.#closed) context.log(`the NATS connection closed: ${error.message}`);
    }, () => undefined);
    const shards = node.#served.map((s) => `${s.index} shard ${s.shard} of ${s.shards}`);
    context.log(`joined the cluster at ${node.client.watch.server} (prefix "${prefix}"): ${shards.length ? `serving ${shards.join(', ')}` : 'a gateway only (no shard served)'}; queries answer for the whole cluster`);
    node.client.watch.onChange((up) => node.#closed || context.log(up ? `reconnected to NATS at ${node.client.watch.server}: serving shards again` : `lost the connection to NATS at ${node.client.watch.server}: reconnecting`));
    return node;
  }

  /** The file a reload of `slot` loads: a sharded folder's current build (undefined: the slot's own path). */
  reloadPath(slot: string): string | undefined {
    return this.#source.reloadPath?.(slot);
  }

  /** The HTTP address peers and operators see in discovery (known once the server listens). */
  setHttpAddress(url: string): void {
    this.info.http = url;
  }

  role(slot: string, g: Generation): ShardRole {
    let role = this.#roles.get(g);
    if (!role) {
      role = this.#source.role(slot, g);
      this.#roles.set(g, role);
    }
    return role;
  }

  async #register(): Promise<void> {
    const { registry } = this.context;
    const mine = registry.names().map((slot) => ({ slot, g: registry.slot(slot).current }));
    const roles = mine.map(({ slot, g }) => ({ slot, g, role: this.role(slot, g) }));
    const seen = new Set<string>();
    for (const { slot, role } of roles) {
      if (!Number.isInteger(role.shard) || role.shard < 0 || role.shard >= role.shards) {
        throw new ClusterError('mismatch', `${slot}: shard ${role.shard} is not one of the ${role.shards} shards of its set`);
      }
      const key = `${role.index}\u0000${role.shard}`;
      if (seen.has(key)) throw new ClusterError('mismatch', `this server would serve shard ${role.shard} of index "${role.index}" twice`);
      seen.add(key);
    }
    if (roles.length > 0) {
      const others = await discoverReplicas(this.nc, this.prefix, 150, 1000);
      for (const { g, role } of roles) checkJoin(role, g, others);
    }
    const version = SEMVER.exec(packageVersion())?.[0] ?? '0.0.0';
    const service = await this.nc.services.add({
      name: this.prefix,
      version,
      description: 'annoy-ts shard server: nearest-neighbour search over one shard per endpoint',
      metadata: { node: this.info.name, host: this.info.host, pid: String(this.info.pid) },
      statsHandler: async (endpoint) => this.#state(endpoint.subject),
    });
    this.#service = service;
    for (const { slot, role } of roles) {
      const subject = shardSubject(this.prefix, role.index, role.shard);
      const served: Served = { slot, index: role.index, shard: role.shard, shards: role.shards, subject, inFlight: 0 };
      this.#served.push(served);
      service.addEndpoint(endpointName(role.index, role.shard), {
        subject,
        queue: subject,
        metadata: { index: role.index, shard: String(role.shard), shards: String(role.shards) },
        handler: (error, msg) => {
          if (error) return;
          void this.#handle(served, msg);
        },
      });
    }
    await this.nc.flush();
  }

  #state(subject: string): ShardState | null {
    const s = this.#served.find((x) => x.subject === subject);
    if (!s) return null;
    const g = this.context.registry.slot(s.slot).current;
    const role = this.role(s.slot, g);
    return {
      protocol: PROTOCOL_VERSION, index: s.index, shard: s.shard, shards: s.shards, f: g.f, metric: g.metric,
      items: g.index.getNItems(), setItems: role.setItems, trees: g.index.getNTrees(), labels: role.labels !== null, generation: g.number,
      checksum: g.loaded.sidecar?.checksum ?? null, set: role.set, node: this.info, inFlight: s.inFlight, draining: this.#draining !== null,
    };
  }

  /** The live shard states (for /v1/cluster on this server). */
  served(): ShardState[] {
    return this.#served.map((s) => this.#state(s.subject)!).filter((s) => s !== null);
  }

  async #handle(s: Served, msg: ServiceMsg): Promise<void> {
    const op = msg.headers?.get(HEADER.op) ?? '';
    const started = performance.now();
    const labels = { index: s.index, shard: String(s.shard) };
    let result = 'ok';
    if (this.#inFlight >= this.context.limits.maxInFlight) {
      result = 'overloaded';
      msg.respondError(STATUS.unavailable, `this server is answering ${this.#inFlight} requests already (limit ${this.context.limits.maxInFlight})`);
    } else {
      this.#inFlight++;
      s.inFlight++;
      this.metrics.shardInFlight.inc(labels);
      try {
        const reply = op === 'search' ? await this.#search(s, msg) : op === 'lookup' ? await this.#lookup(s, msg) : fail(STATUS.badRequest, `unknown operation ${JSON.stringify(op)}`);
        const bytes = encodeJson(reply);
        const max = this.nc.info?.max_payload ?? 1 << 20;
        if (bytes.length + 1024 > max) {
          result = 'too_large';
          msg.respondError(STATUS.tooLarge, `the answer takes ${bytes.length} bytes, more than the NATS server's max_payload of ${max}: ask for fewer queries or a smaller k per request`);
        } else {
          msg.respond(bytes);
        }
      } catch (error) {
        const e = error as Error & { status?: number };
        const status = e instanceof RequestError ? e.status : isArgumentError(e) ? STATUS.badRequest : STATUS.internal;
        result = status === STATUS.badRequest ? 'bad_request' : status === STATUS.unavailable ? 'unavailable' : 'error';
        if (status === STATUS.internal) this.context.log(`${s.index} shard ${s.shard}: internal error: ${e.stack ?? e.message}`);
        try {
          msg.respondError(status, status === STATUS.internal ? `internal error (${e.name})` : e.message);
        } catch {
          // the connection is gone: the client times out and re-sends to another replica
        }
      } finally {
        this.#inFlight--;
        s.inFlight--;
        this.metrics.shardInFlight.dec(labels);
        if (this.#inFlight === 0) this.#idle?.();
      }
    }
    this.metrics.shardRequests.inc({ ...labels, op: op === 'search' || op === 'lookup' ? op : 'other', result });
    this.metrics.shardSeconds.observe({ ...labels, op: op === 'search' || op === 'lookup' ? op : 'other' }, (performance.now() - started) / 1000);
  }

  async #search(s: Served, msg: ServiceMsg): Promise<SearchReply> {
    const h = msg.headers;
    const k = intHeader(h?.get(HEADER.k), 'k', 1, this.context.limits.maxK);
    const searchK = intHeader(h?.get(HEADER.searchK), 'searchK', -1, this.context.limits.maxSearchK);
    if (searchK === 0) fail(STATUS.badRequest, 'searchK must be -1 or a positive integer, got 0');
    const f = intHeader(h?.get(HEADER.f), 'f', 1, 1 << 20);
    const n = intHeader(h?.get(HEADER.n), 'n', 1, 1 << 24);
    const wantLabels = h?.get(HEADER.labels) === '1';
    const data = decodeVectors(msg.data, n, f);
    if (!data) fail(STATUS.badRequest, `the payload has ${msg.data.length} bytes; ${n} queries of f = ${f} take ${n * f * 4}`);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) fail(STATUS.badRequest, `queries[${Math.floor(i / f)}][${i % f}] is not a finite number`);
    }
    return this.context.registry.with(s.slot, async (g) => {
      if (g.f !== f) fail(STATUS.badRequest, `index "${s.index}" shard ${s.shard} has f = ${g.f}, the query has ${f} values`);
      const role = this.role(s.slot, g);
      const targets = Array.from({ length: n }, (_, q) => ({ vector: Array.from(data.subarray(q * f, (q + 1) * f)) }));
      const found: SearchResult[] = await search(g, targets, k, { searchK, includeDistances: true }, this.context.searchMode);
      const ids = found.map((r) => r.ids.map((id) => role.toGlobal(id)));
      const reply: SearchReply = {
        generation: g.number, checksum: g.loaded.sidecar?.checksum ?? null, set: role.set, node: this.info.name,
        ids, distances: found.map((r) => r.distances),
      };
      const labels = role.labels;
      if (wantLabels && labels) reply.labels = ids.map((list) => list.map((id) => labels.get(id)));
      return reply;
    });
  }

  async #lookup(s: Served, msg: ServiceMsg): Promise<LookupReply> {
    let request: LookupRequest;
    try {
      request = decodeJson<LookupRequest>(msg.data);
    } catch {
      fail(STATUS.badRequest, 'a lookup request must be JSON { "ids": [...] } or { "labels": [...] }');
    }
    return this.context.registry.with(s.slot, (g) => {
      const role = this.role(s.slot, g);
      const found: LookupReply['found'] = [];
      const n = g.index.getNItems();
      if (Array.isArray(request.ids)) {
        request.ids.forEach((id, at) => {
          if (!Number.isInteger(id) || id < 0) return;
          const local = role.toLocal(id);
          if (local >= 0 && local < n) found.push({ at, id, vector: g.index.getItemVector(local) });
        });
      } else if (Array.isArray(request.labels)) {
        const labels = role.labels;
        if (labels) {
          request.labels.forEach((label, at) => {
            if (typeof label !== 'string') return;
            const id = labels.find(label);
            const local = id === undefined ? -1 : role.toLocal(id);
            if (local >= 0 && local < n) found.push({ at, id: id!, vector: g.index.getItemVector(local) });
          });
        }
      } else {
        fail(STATUS.badRequest, 'a lookup request must give "ids" or "labels"');
      }
      return { generation: g.number, checksum: g.loaded.sidecar?.checksum ?? null, set: role.set, node: this.info.name, found };
    });
  }

  /**
   * Stops serving shards without losing a request: drains the subscriptions (NATS routes new
   * requests to the other replicas), then waits for the requests in flight. The connection stays
   * open (the HTTP gateway may still be answering); close() ends it.
   */
  stopServing(): Promise<void> {
    this.#draining ??= (async () => {
      if (this.#service && !this.nc.isClosed()) {
        const stopped = this.#service.stop().catch(() => undefined);
        // While NATS is away nothing can be routed here: do not wait for a reconnection to drain.
        if (this.client.watch.up) await stopped;
      }
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    })();
    return this.#draining;
  }

  async close(): Promise<void> {
    await this.stopServing();
    if (this.#closed) return;
    this.#closed = true;
    await this.client.close();
    if (!this.nc.isClosed() && this.client.watch.up) await this.nc.drain().catch(() => undefined);
    // drain() can resolve without closing (e.g. the connection dropped meanwhile): close, which also stops reconnecting.
    if (!this.nc.isClosed()) await this.nc.close();
  }
}

/** Refuses a shard that does not fit the replicas already serving its index. */
function checkJoin(role: ShardRole, g: Generation, others: Replica[]): void {
  const same = others.filter((r) => r.index === role.index);
  for (const r of same) {
    const problems: string[] = [];
    if (r.shards !== role.shards) problems.push(`${r.shards} shards, this one ${role.shards}`);
    if (r.f !== g.f) problems.push(`f = ${r.f}, this one f = ${g.f}`);
    if (r.metric !== g.metric) problems.push(`metric ${r.metric}, this one ${g.metric}`);
    if (r.set !== null && role.set !== null && r.set !== role.set) problems.push(`set ${r.set}, this one ${role.set}`);
    if (problems.length) {
      throw new ClusterError('mismatch', `cannot join the cluster with index "${role.index}" shard ${role.shard}: ${r.node.name} serves its shard ${r.shard} with ${problems.join('; ')} (shards of one index must share dimension, metric, shard count and set; a new set rolls out by hot swap, or under a new index name)`);
    }
  }
}

class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function fail(status: number, message: string): never {
  throw new RequestError(status, message);
}

function isArgumentError(e: Error): boolean {
  return e?.name === 'AnnoyArgumentError';
}

function intHeader(value: string | undefined, name: string, min: number, max: number): number {
  const n = value === undefined || value === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(STATUS.badRequest, `${name} must be an integer from ${min} to ${max}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  return n;
}
