// Querying a cluster: scatter a query to every shard of an index (one request to each shard's
// queue group: one replica answers), gather, and merge the top n exactly. Every query is bounded
// by a timeout; a shard request that is not answered within `retryAfterMs` is sent again (NATS
// may hand it to another replica: a replica that died with the request in hand costs a delay, not
// an error). A shard with no live replica makes the query fail, or — when the query allows it —
// answer from the other shards with the missing ones named.
import { AnnoyArgumentError, mergeNearest, type SearchResult } from 'annoy-ts';
import { headers as natsHeaders, ServiceError, type Msg, type MsgHdrs, type NatsConnection } from 'nats';
import { connectNats, ConnectionWatch, type NatsOptions } from './connection.ts';
import { discoverReplicas, summarize, type ClusterStatus, type IndexStatus, type Topology } from './discovery.ts';
import { ClusterError, ClusterUnavailableError, shardList } from './errors.ts';
import {
  checkPrefix, decodeJson, DEFAULT_PREFIX, encodeJson, encodeVectors, HEADER, PROTOCOL_VERSION, shardSubject, STATUS,
  type LookupReply, type LookupRequest, type SearchReply,
} from './protocol.ts';

export interface ClusterOptions {
  /** Subject prefix and service name the shard servers use (default "annoy"; `serve --nats-prefix`). */
  prefix?: string;
  /** Every query answers or fails within this many milliseconds (default 5000). */
  timeoutMs?: number;
  /** Send a shard request again when it is not answered after this long (default 250 ms). */
  retryAfterMs?: number;
  /** How long an index's shard count and dimension are trusted before asking the cluster again (default 5000 ms). */
  refreshMs?: number;
  /** Called after each shard request (for metrics). */
  onShardRequest?: (event: ShardRequestEvent) => void;
}

export interface ShardRequestEvent {
  index: string;
  shard: number;
  seconds: number;
  outcome: 'ok' | 'missing' | 'timeout' | 'error';
  /** Requests sent beyond the first (re-sent after retryAfterMs, or after an overloaded replica said so). */
  resent: number;
}

export interface QueryOptions {
  /** Answer from the shards that answered, naming the missing ones, instead of failing (default false). */
  allowPartial?: boolean;
  /**
   * Require every shard's answer to come from the same set (the same manifest, or for a plain index
   * the same file): during a rollout the query is retried until they agree or the timeout passes.
   */
  consistent?: boolean;
  /** This query's timeout (default: the client's). */
  timeoutMs?: number;
  /** Return labels when the index has them (default true). */
  labels?: boolean;
}

export type Target = { vector: ArrayLike<number> } | { item: number } | { label: string };

export interface ShardAnswer {
  shard: number;
  /** The answering server's generation of the shard (counted per server). */
  generation: number;
  checksum: string | null;
  set: string | null;
  node: string;
}

export interface Neighbours {
  ids: number[];
  distances: number[];
  labels?: (string | null)[];
}

export interface ClusterAnswer {
  index: string;
  /** One per target, in order. */
  results: Neighbours[];
  /** Which replica answered for each shard (for a batch split in several messages: the first). */
  shards: ShardAnswer[];
  /** Shards with no answer (only with allowPartial): the results leave their items out. */
  missingShards: number[];
  partial: boolean;
}

type Outcome =
  | { kind: 'reply'; msg: Msg }
  | { kind: 'missing'; reason: string }
  | { kind: 'timeout' }
  | { kind: 'disconnected'; reason: string }
  | { kind: 'error'; error: Error };

const F32_MAX = 3.4028234663852886e38;
/** Room for headers and the subject in a message, beside the payload. */
const ENVELOPE = 4096;

export class ClusterClient {
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly retryAfterMs: number;
  readonly refreshMs: number;
  readonly watch: ConnectionWatch;
  readonly #owned: boolean;
  readonly #topologies = new Map<string, { topology: Topology; at: number }>();
  #discovering: Promise<Map<string, Topology>> | null = null;
  #closed = false;

  /** Uses an open NATS connection (shared, not closed by close()). See ClusterClient.connect. */
  constructor(readonly nc: NatsConnection, readonly options: ClusterOptions = {}, owned = false) {
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.timeoutMs = positive(options.timeoutMs ?? 5000, 'timeoutMs');
    this.retryAfterMs = positive(options.retryAfterMs ?? 250, 'retryAfterMs');
    this.refreshMs = positive(options.refreshMs ?? 5000, 'refreshMs');
    this.watch = new ConnectionWatch(nc);
    this.#owned = owned;
  }

  /** Connects to NATS; throws ClusterError('nats_unreachable') with one clear sentence when it cannot. */
  static async connect(options: NatsOptions & ClusterOptions): Promise<ClusterClient> {
    const nc = await connectNats({ name: 'annoy-ts client', ...options });
    return new ClusterClient(nc, options, true);
  }

  /** An index of the cluster, queried like an AnnoyIndex (every method async). */
  index(name: string, defaults: QueryOptions = {}): ClusterIndex {
    return new ClusterIndex(this, name, defaults);
  }

  /** Which indexes, shards and replicas are up, with their generations and sets. */
  async status(quietMs = 200): Promise<ClusterStatus> {
    this.#checkUsable();
    const status = summarize(this.prefix, await discoverReplicas(this.nc, this.prefix, quietMs));
    const now = Date.now();
    for (const s of status.indexes) this.#topologies.set(s.index, { topology: topologyOf(s), at: now });
    return status;
  }

  /** The shard count, dimension and metric of an index (cached for refreshMs). */
  async topology(index: string): Promise<Topology> {
    const cached = this.#topologies.get(index);
    if (cached && Date.now() - cached.at < this.refreshMs) return cached.topology;
    if (cached) {
      void this.#discover().catch(() => undefined); // refresh in the background; answer from what we know
      return cached.topology;
    }
    const found = (await this.#discover()).get(index);
    if (found) return found;
    const known = [...this.#topologies.keys()];
    throw new ClusterError('unknown_index', `no server of the cluster (prefix "${this.prefix}") serves an index named ${JSON.stringify(index)}${known.length ? `: it serves ${known.map((n) => JSON.stringify(n)).join(', ')}` : ': no index is served right now'}`);
  }

  /** topology(), within a query's deadline (the first query of an index waits for discovery). */
  #topologyBy(index: string, deadline: number, timeoutMs: number): Promise<Topology> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClusterUnavailableError('timeout', `index "${index}": discovering its shards took longer than the timeout of ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([this.topology(index), late]).finally(() => clearTimeout(timer));
  }

  #discover(): Promise<Map<string, Topology>> {
    this.#discovering ??= (async () => {
      try {
        const status = summarize(this.prefix, await discoverReplicas(this.nc, this.prefix));
        const now = Date.now();
        const found = new Map<string, Topology>();
        for (const s of status.indexes) {
          const t = topologyOf(s);
          found.set(s.index, t);
          this.#topologies.set(s.index, { topology: t, at: now });
        }
        return found;
      } finally {
        this.#discovering = null;
      }
    })();
    return this.#discovering;
  }

  #checkUsable(): void {
    if (this.#closed) throw new ClusterError('closed', 'this ClusterClient is closed');
    const problem = this.watch.problem();
    if (problem) throw new ClusterUnavailableError('disconnected', problem);
  }

  /**
   * The n nearest neighbours of each target over every shard of `index`. Vectors are checked here
   * (length f, finite, float32 range); items and labels are looked up on the shard that holds them.
   */
  async search(index: string, targets: readonly Target[], n: number, searchK = -1, options: QueryOptions = {}): Promise<ClusterAnswer> {
    this.#checkUsable();
    if (!Number.isInteger(n) || n < 1) throw new AnnoyArgumentError(`n must be a positive integer, got ${String(n)}`);
    if (!Number.isInteger(searchK) || searchK < -1 || searchK === 0) throw new AnnoyArgumentError(`searchK must be -1 (k × trees) or a positive integer, got ${String(searchK)}`);
    if (!Array.isArray(targets) || targets.length === 0) throw new AnnoyArgumentError('give at least one query');
    const timeoutMs = options.timeoutMs === undefined ? this.timeoutMs : positive(options.timeoutMs, 'timeoutMs');
    const deadline = Date.now() + timeoutMs;
    const topology = await this.#topologyBy(index, deadline, timeoutMs);
    const vectors = await this.#vectors(topology, targets, deadline, timeoutMs);
    const labels = options.labels !== false && topology.labels;
    const inconsistent = (sets: readonly unknown[]) =>
      new ClusterError('inconsistent_set', `index "${index}": the shards answered from ${sets.length} different sets (${sets.map(String).join(', ')}) until the timeout of ${timeoutMs} ms: a rollout is under way or stuck`);
    /** The sets of the last mixed answer of a consistent query, which is waiting for one set. */
    let mixed: unknown[] | null = null;
    for (;;) {
      let answer: ClusterAnswer;
      try {
        answer = await this.#scatter(topology, vectors, n, searchK, labels, deadline, timeoutMs, options.allowPartial === true);
      } catch (error) {
        // Out of time while asking again: the shards did answer, from different sets — say that.
        if (mixed && error instanceof ClusterError && error.code === 'timeout') throw inconsistent(mixed);
        throw error;
      }
      if (!options.consistent) return answer;
      const sets = [...new Set(answer.shards.map((s) => s.set))];
      if (sets.length <= 1) return answer;
      mixed = sets;
      if (Date.now() + 50 >= deadline) throw inconsistent(sets);
      await sleep(50);
    }
  }

  /** The stored vector of a global item id, from the shard that holds it. */
  async getItemVector(index: string, id: number, options: QueryOptions = {}): Promise<number[]> {
    this.#checkUsable();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const topology = await this.#topologyBy(index, Date.now() + timeoutMs, timeoutMs);
    const [vector] = await this.#vectors(topology, [{ item: id }], Date.now() + timeoutMs, timeoutMs);
    return Array.from(vector);
  }

  /** Closes the NATS connection if this client opened it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.nc.close();
  }

  // ---------------------------------------------------------------------------------------------

  async #vectors(topology: Topology, targets: readonly Target[], deadline: number, timeoutMs: number): Promise<ArrayLike<number>[]> {
    const out = new Array<ArrayLike<number>>(targets.length);
    const ids: { at: number; id: number }[] = [];
    const labels: { at: number; label: string }[] = [];
    targets.forEach((t, at) => {
      const where = targets.length > 1 ? `queries[${at}]` : 'the query';
      const given = (['vector', 'item', 'label'] as const).filter((key) => t !== null && typeof t === 'object' && (t as Record<string, unknown>)[key] !== undefined);
      if (given.length !== 1) throw new AnnoyArgumentError(`${where} must give exactly one of "vector", "item" or "label"`);
      if ('vector' in t && t.vector !== undefined) {
        out[at] = checkVector(t.vector, topology, targets.length > 1 ? `queries[${at}].vector` : 'the query vector');
      } else if ('item' in t && t.item !== undefined) {
        if (!Number.isInteger(t.item) || t.item < 0 || t.item > 0x7fffffff) throw new AnnoyArgumentError(`${where}: item must be a non-negative integer id, got ${String(t.item)}`);
        ids.push({ at, id: t.item });
      } else if ('label' in t) {
        if (typeof t.label !== 'string' || t.label.length === 0) throw new AnnoyArgumentError(`${where}: label must be a non-empty string`);
        if (!topology.labels) throw new ClusterError('no_labels', `index "${topology.index}" has no labels`);
        labels.push({ at, label: t.label });
      }
    });
    if (ids.length) await this.#lookup(topology, { ids: ids.map((x) => x.id) }, ids.map((x) => x.at), out, deadline, timeoutMs, (i) => `item ${ids[i].id}`);
    if (labels.length) await this.#lookup(topology, { labels: labels.map((x) => x.label) }, labels.map((x) => x.at), out, deadline, timeoutMs, (i) => `label ${JSON.stringify(labels[i].label)}`);
    return out;
  }

  /** Asks every shard for the stored vectors of items (by id or label); the shard holding one answers it. */
  async #lookup(topology: Topology, request: LookupRequest, positions: number[], out: ArrayLike<number>[], deadline: number, timeoutMs: number, name: (i: number) => string): Promise<void> {
    const payload = encodeJson(request);
    this.#checkPayload(payload.length, 'the item lookup');
    const h = this.#headers('lookup');
    const outcomes = await Promise.all(Array.from({ length: topology.shards }, (_, shard) => this.#ask(topology.index, shard, payload, h, deadline)));
    const best = new Array<{ id: number; vector: number[] } | undefined>(positions.length);
    const missing: number[] = [];
    outcomes.forEach((o, shard) => {
      if (o.kind !== 'reply') {
        if (o.kind === 'error') throw o.error;
        missing.push(shard);
        return;
      }
      const reply = this.#reply<LookupReply>(o.msg, topology.index, shard);
      for (const f of reply.found) {
        const current = best[f.at];
        if (current === undefined || f.id < current.id) best[f.at] = { id: f.id, vector: f.vector };
      }
    });
    for (let i = 0; i < positions.length; i++) {
      const found = best[i];
      if (found) {
        out[positions[i]] = found.vector;
        continue;
      }
      if (missing.length) {
        this.#unavailable(topology.index, outcomes, missing, timeoutMs, `cannot look up ${name(i)}: `);
      }
      const isLabel = request.labels !== undefined;
      if (!isLabel && request.ids![i] < topology.items) {
        out[positions[i]] = new Array<number>(topology.f).fill(0); // a hole: no shard holds it; as in AnnoyIndex, a zero vector
        continue;
      }
      throw new ClusterError(isLabel ? 'unknown_label' : 'unknown_item', isLabel
        ? `${name(i)}: no item of index "${topology.index}" has this label`
        : `${name(i)} does not exist: index "${topology.index}" has ids 0 … ${topology.items - 1} (${topology.count} items over ${topology.shards} shard${topology.shards === 1 ? '' : 's'})`);
    }
  }

  async #scatter(topology: Topology, vectors: ArrayLike<number>[], n: number, searchK: number, labels: boolean, deadline: number, timeoutMs: number, allowPartial: boolean): Promise<ClusterAnswer> {
    const { f } = topology;
    const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
    const requestBytes = 4 * f;
    if (requestBytes + ENVELOPE > maxPayload) {
      throw new ClusterError('too_large', `a query vector of f = ${f} takes ${requestBytes} bytes, more than the NATS server's max_payload of ${maxPayload} bytes allows (raise max_payload in its configuration)`);
    }
    // Split a batch so that both the request and the expected answer of each message fit max_payload;
    // a shard that still finds its answer too large says so (413), and that part is split again.
    const answerBytes = 32 + n * (labels ? 96 : 40);
    const perMessage = Math.max(1, Math.floor((maxPayload - ENVELOPE) / Math.max(requestBytes, answerBytes)));
    const perShard = await Promise.all(Array.from({ length: topology.shards }, (_, shard) =>
      this.#searchShard(topology, shard, vectors, 0, vectors.length, perMessage, n, searchK, labels, deadline)));

    const missing: number[] = [];
    const outcomes: Outcome[] = [];
    const shards: ShardAnswer[] = [];
    perShard.forEach((r, shard) => {
      if ('outcome' in r) {
        if (r.outcome.kind === 'error') throw r.outcome.error;
        missing.push(shard);
        outcomes[shard] = r.outcome;
      } else {
        shards.push({ shard, generation: r.first.generation, checksum: r.first.checksum, set: r.first.set, node: r.first.node });
      }
    });
    if (missing.length && !allowPartial) this.#unavailable(topology.index, outcomes, missing, timeoutMs, '');
    const largerFirst = topology.metric === 'dot';
    const results: Neighbours[] = vectors.map((_, q) => {
      const lists = perShard.flatMap((r) => ('outcome' in r ? [] : [r.lists[q]]));
      const merged: Neighbours = lists.length ? mergeNearest(lists, n, largerFirst) : { ids: [], distances: [] };
      if (labels) {
        const labelOf = new Map<number, string | null>();
        for (const l of lists) l.labels?.forEach((label, r) => labelOf.set(l.ids[r], label));
        merged.labels = merged.ids.map((id) => labelOf.get(id) ?? null);
      }
      return merged;
    });
    return { index: topology.index, results, shards, missingShards: missing, partial: missing.length > 0 };
  }

  /** Queries [from, to) of a batch on one shard, in messages of at most `perMessage` queries. */
  async #searchShard(
    topology: Topology, shard: number, vectors: ArrayLike<number>[], from: number, to: number, perMessage: number,
    n: number, searchK: number, labels: boolean, deadline: number,
  ): Promise<{ lists: Neighbours[]; first: SearchReply } | { outcome: Outcome }> {
    if (to - from > perMessage) {
      const parts: Promise<{ lists: Neighbours[]; first: SearchReply } | { outcome: Outcome }>[] = [];
      for (let at = from; at < to; at += perMessage) parts.push(this.#searchShard(topology, shard, vectors, at, Math.min(to, at + perMessage), perMessage, n, searchK, labels, deadline));
      const done = await Promise.all(parts);
      const failed = done.find((d) => 'outcome' in d);
      if (failed) return failed;
      const ok = done as { lists: Neighbours[]; first: SearchReply }[];
      return { lists: ok.flatMap((d) => d.lists), first: ok[0].first };
    }
    const h = this.#headers('search');
    h.set(HEADER.k, String(n));
    h.set(HEADER.searchK, String(searchK));
    h.set(HEADER.f, String(topology.f));
    h.set(HEADER.n, String(to - from));
    if (labels) h.set(HEADER.labels, '1');
    const outcome = await this.#ask(topology.index, shard, encodeVectors(vectors.slice(from, to), topology.f), h, deadline);
    if (outcome.kind !== 'reply') return { outcome };
    const error = ServiceError.toServiceError(outcome.msg);
    if (error?.code === STATUS.tooLarge && to - from > 1) {
      return this.#searchShard(topology, shard, vectors, from, to, Math.ceil((to - from) / 2), n, searchK, labels, deadline);
    }
    const reply = this.#reply<SearchReply>(outcome.msg, topology.index, shard);
    if (reply.ids.length !== to - from) {
      return { outcome: { kind: 'error', error: new ClusterError('shard_error', `index "${topology.index}" shard ${shard} (${reply.node}) answered ${reply.ids.length} queries of ${to - from}`) } };
    }
    const lists = reply.ids.map((ids, q) => ({ ids, distances: reply.distances[q], labels: reply.labels?.[q] }));
    return { lists, first: reply };
  }

  /** A reply's body, or the shard's error as a ClusterError. */
  #reply<T>(msg: Msg, index: string, shard: number): T {
    const error = ServiceError.toServiceError(msg);
    if (error) {
      const code = error.code === STATUS.badRequest ? 'bad_request' : error.code === STATUS.tooLarge ? 'too_large' : 'shard_error';
      throw new ClusterError(code, `index "${index}" shard ${shard}: ${error.message}`);
    }
    try {
      return decodeJson<T>(msg.data);
    } catch {
      throw new ClusterError('shard_error', `index "${index}" shard ${shard} sent an answer that is not JSON`);
    }
  }

  #unavailable(index: string, outcomes: Outcome[], missing: number[], timeoutMs: number, lead: string): never {
    const disconnected = missing.map((s) => outcomes[s]).find((o) => o?.kind === 'disconnected');
    if (disconnected && disconnected.kind === 'disconnected') throw new ClusterUnavailableError('disconnected', `${lead}${disconnected.reason}`, missing);
    const timedOut = missing.filter((s) => outcomes[s]?.kind === 'timeout');
    const absent = missing.filter((s) => outcomes[s]?.kind !== 'timeout');
    const parts: string[] = [];
    if (absent.length) parts.push(`${shardList(absent)} of index "${index}" ${absent.length === 1 ? 'has' : 'have'} no live replica`);
    if (timedOut.length) parts.push(`${shardList(timedOut)} of index "${index}" did not answer within ${timeoutMs} ms`);
    const message = `${lead}${parts.join('; ')} (allow partial results to answer from the other shards)`;
    throw new ClusterUnavailableError(absent.length ? 'shards_unavailable' : 'timeout', message, missing);
  }

  #headers(op: 'search' | 'lookup'): MsgHdrs {
    const h = natsHeaders();
    h.set(HEADER.op, op);
    h.set(HEADER.version, String(PROTOCOL_VERSION));
    return h;
  }

  #checkPayload(bytes: number, what: string): void {
    const max = this.nc.info?.max_payload ?? 1 << 20;
    if (bytes + ENVELOPE > max) throw new ClusterError('too_large', `${what} takes ${bytes} bytes, more than the NATS server's max_payload of ${max} bytes allows: send fewer queries at once`);
  }

  /**
   * One shard request: sent to the shard's queue group, re-sent (to whichever replica NATS picks)
   * when unanswered after retryAfterMs (at most twice) or when a replica is overloaded or stopping,
   * until the deadline. No responder at all: the shard is missing. NATS lost: fail at once.
   */
  #ask(index: string, shard: number, payload: Uint8Array, h: MsgHdrs, deadline: number): Promise<Outcome> {
    const subject = shardSubject(this.prefix, index, shard);
    const started = performance.now();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let sent = 0;
      let hedge: ReturnType<typeof setTimeout> | undefined;
      const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, deadline - Date.now()));
      const stopWatching = this.watch.onChange((up) => {
        if (!up) finish({ kind: 'disconnected', reason: this.watch.problem() ?? 'lost the connection to NATS' });
      });
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(hedge);
        stopWatching();
        const outcomeName = outcome.kind === 'reply' ? 'ok' : outcome.kind === 'disconnected' ? 'error' : outcome.kind;
        this.options.onShardRequest?.({ index, shard, seconds: (performance.now() - started) / 1000, outcome: outcomeName, resent: sent - 1 });
        resolve(outcome);
      };
      const send = () => {
        if (settled) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return finish({ kind: 'timeout' });
        if (!this.watch.up) return finish({ kind: 'disconnected', reason: this.watch.problem() ?? 'lost the connection to NATS' });
        sent++;
        let request: Promise<Msg>;
        try {
          request = this.nc.request(subject, payload, { timeout: remaining, headers: h });
        } catch (error) {
          return finish({ kind: 'error', error: error as Error });
        }
        request.then((msg) => {
          const error = ServiceError.toServiceError(msg);
          if (error?.code === STATUS.unavailable) {
            // Overloaded or stopping: another replica (or this one, shortly) may take it.
            clearTimeout(hedge);
            hedge = setTimeout(send, Math.min(50, 5 * 2 ** Math.min(sent, 4)));
            return;
          }
          finish({ kind: 'reply', msg });
        }, (error: { code?: string; message?: string }) => {
          if (error?.code === '503') return finish({ kind: 'missing', reason: 'no responders' });
          // A request's own timeout is the deadline, which the timer above settles; a re-sent copy may still answer.
          if (error?.code === 'TIMEOUT' || error?.code === 'CANCELLED' || error?.code === 'DISCONNECT') return;
          finish({ kind: 'error', error: new ClusterError('shard_error', `index "${index}" shard ${shard}: ${error?.message ?? String(error)}`) });
        });
        if (sent < 3) {
          clearTimeout(hedge);
          hedge = setTimeout(send, this.retryAfterMs);
        }
      };
      send();
    });
  }
}

/** One index of a cluster, queried like an AnnoyIndex; every method returns a promise. */
export class ClusterIndex {
  constructor(readonly client: ClusterClient, readonly name: string, readonly defaults: QueryOptions = {}) {}

  /** Shards, dimension, metric and items (from discovery). */
  info(): Promise<Topology> {
    return this.client.topology(this.name);
  }

  /** Every query option: partial answers, consistency, timeout; returns the per-shard details too. */
  search(targets: readonly Target[], n: number, searchK = -1, options: QueryOptions = {}): Promise<ClusterAnswer> {
    return this.client.search(this.name, targets, n, searchK, { ...this.defaults, ...options });
  }

  getNnsByVector(vector: ArrayLike<number>, n: number, searchK?: number, includeDistances?: false): Promise<number[]>;
  getNnsByVector(vector: ArrayLike<number>, n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult>;
  async getNnsByVector(vector: ArrayLike<number>, n: number, searchK = -1, includeDistances = false): Promise<number[] | SearchResult> {
    return (await this.#whole([{ vector }], n, searchK, includeDistances))[0];
  }

  getNnsByItem(i: number, n: number, searchK?: number, includeDistances?: false): Promise<number[]>;
  getNnsByItem(i: number, n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult>;
  async getNnsByItem(i: number, n: number, searchK = -1, includeDistances = false): Promise<number[] | SearchResult> {
    return (await this.#whole([{ item: i }], n, searchK, includeDistances))[0];
  }

  getNnsByVectors(vectors: readonly ArrayLike<number>[], n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByVectors(vectors: readonly ArrayLike<number>[], n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByVectors(vectors: readonly ArrayLike<number>[], n: number, searchK = -1, includeDistances = false): Promise<number[][] | SearchResult[]> {
    if (!Array.isArray(vectors)) throw new AnnoyArgumentError('vectors must be an array of query vectors');
    return this.#whole(vectors.map((vector) => ({ vector })), n, searchK, includeDistances) as Promise<number[][] | SearchResult[]>;
  }

  getNnsByItems(ids: readonly number[], n: number, searchK?: number, includeDistances?: false): Promise<number[][]>;
  getNnsByItems(ids: readonly number[], n: number, searchK: number | undefined, includeDistances: true): Promise<SearchResult[]>;
  getNnsByItems(ids: readonly number[], n: number, searchK = -1, includeDistances = false): Promise<number[][] | SearchResult[]> {
    if (!Array.isArray(ids)) throw new AnnoyArgumentError('ids must be an array of item ids');
    return this.#whole(ids.map((item) => ({ item })), n, searchK, includeDistances) as Promise<number[][] | SearchResult[]>;
  }

  getItemVector(i: number): Promise<number[]> {
    return this.client.getItemVector(this.name, i, this.defaults);
  }

  async getNItems(): Promise<number> {
    return (await this.info()).items;
  }

  /** The Annoy-shaped methods never answer partially: a missing shard is an error. */
  async #whole(targets: Target[], n: number, searchK: number, includeDistances: boolean): Promise<(number[] | SearchResult)[]> {
    const answer = await this.client.search(this.name, targets, n, searchK, { ...this.defaults, allowPartial: false, labels: false });
    return answer.results.map((r) => (includeDistances ? { ids: r.ids, distances: r.distances } : r.ids));
  }
}

function topologyOf(s: IndexStatus): Topology {
  return { index: s.index, shards: s.shards, f: s.f, metric: s.metric, labels: s.labels, items: s.items, count: s.count };
}

function checkVector(vector: ArrayLike<number>, topology: Topology, what: string): ArrayLike<number> {
  if (vector === null || typeof vector !== 'object' || typeof vector.length !== 'number') {
    throw new AnnoyArgumentError(`${what} must be an array or typed array of numbers`);
  }
  if (vector.length !== topology.f) {
    throw new AnnoyArgumentError(`${what} has ${vector.length} value${vector.length === 1 ? '' : 's'}, but index "${topology.index}" has f = ${topology.f}`);
  }
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new AnnoyArgumentError(`${what}[${i}] is not a finite number (${String(x)})`);
    if (Math.abs(x) > F32_MAX) throw new AnnoyArgumentError(`${what}[${i}] = ${x} overflows float32 (largest finite value ≈ 3.4e38)`);
  }
  return vector;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new AnnoyArgumentError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
