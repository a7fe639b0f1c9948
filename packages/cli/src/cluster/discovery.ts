// Discovery through the NATS services API: one `$SRV.STATS.PREFIX` request, answered by every
// shard server, lists each endpoint with its live state (see ShardState). From it: which indexes
// the cluster serves, how many shards each has, which replicas are up, their generations and sets.
import { RequestStrategy, type NatsConnection } from 'nats';
import { PROTOCOL_VERSION, type ShardState } from './protocol.ts';

export interface Replica extends ShardState {
  /** The services API id of the serving process (one per `serve` process). */
  serviceId: string;
  requests: number;
  errors: number;
}

export interface ShardStatus {
  shard: number;
  replicas: Replica[];
}

/** What a client needs to know of an index the cluster serves (ClusterClient.topology). */
export interface Topology {
  index: string;
  shards: number;
  f: number;
  metric: string;
  labels: boolean;
  /** The largest item id + 1 (AnnoyIndex.getNItems's meaning; ids no shard holds are holes). */
  items: number;
  /** Items held over all shards (each shard counted once, from its first replica; missing shards count 0). */
  count: number;
}

export interface IndexStatus extends Topology {
  /** Shards with no live replica. */
  missingShards: number[];
  /** The distinct sets (manifest or index checksums) the replicas serve: more than one during a rollout. */
  sets: (string | null)[];
  /** Replicas whose f, metric or shard count differ from the majority (refused at join; seen here only if they raced in). */
  conflicts: string[];
  shardStatus: ShardStatus[];
}

export interface ClusterStatus {
  prefix: string;
  /** Shard servers that answered, by services API id. */
  servers: number;
  indexes: IndexStatus[];
}

function isShardState(data: unknown): data is ShardState {
  const d = data as Partial<ShardState> | null;
  return typeof d === 'object' && d !== null && d.protocol === PROTOCOL_VERSION && typeof d.index === 'string' &&
    Number.isInteger(d.shard) && Number.isInteger(d.shards) && Number.isInteger(d.f) && typeof d.metric === 'string' && Number.isInteger(d.setItems);
}

/** Every live shard endpoint: waits until no answer came for `quietMs` (at most `maxWaitMs`). */
export async function discoverReplicas(nc: NatsConnection, prefix: string, quietMs = 100, maxWaitMs = 1500): Promise<Replica[]> {
  const out: Replica[] = [];
  let answers: AsyncIterable<unknown>;
  try {
    answers = await nc.services.client({ strategy: RequestStrategy.JitterTimer, maxWait: maxWaitMs, jitter: quietMs }).stats(prefix);
  } catch (error) {
    if ((error as { code?: string }).code === '503') return out; // no server answers: an empty cluster
    throw error;
  }
  try {
    for await (const answer of answers) {
      const s = answer as { id: string; endpoints?: { data?: unknown; num_requests?: number; num_errors?: number }[] };
      for (const e of s.endpoints ?? []) {
        if (isShardState(e.data)) out.push({ ...e.data, serviceId: s.id, requests: e.num_requests ?? 0, errors: e.num_errors ?? 0 });
      }
    }
  } catch (error) {
    if ((error as { code?: string }).code !== '503') throw error;
  }
  return out;
}

function majority<T>(values: T[]): T {
  const counts = new Map<T, number>();
  let best = values[0], most = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > most) {
      most = c;
      best = v;
    }
  }
  return best;
}

/** Groups endpoints by index and shard. */
export function summarize(prefix: string, replicas: Replica[]): ClusterStatus {
  const byIndex = new Map<string, Replica[]>();
  for (const r of replicas) {
    const list = byIndex.get(r.index) ?? [];
    list.push(r);
    byIndex.set(r.index, list);
  }
  const indexes: IndexStatus[] = [];
  for (const [index, list] of [...byIndex].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const shards = majority(list.map((r) => r.shards));
    const f = majority(list.map((r) => r.f));
    const metric = majority(list.map((r) => r.metric));
    const conflicts = list
      .filter((r) => r.shards !== shards || r.f !== f || r.metric !== metric)
      .map((r) => `${r.node.name} serves shard ${r.shard} of ${r.shards} with f = ${r.f}, ${r.metric} (the others: ${shards} shards, f = ${f}, ${metric})`);
    const fitting = list.filter((r) => r.shards === shards && r.f === f && r.metric === metric && r.shard >= 0 && r.shard < shards);
    const shardStatus: ShardStatus[] = Array.from({ length: shards }, (_, shard) => ({
      shard,
      replicas: fitting.filter((r) => r.shard === shard).sort((a, b) => (a.node.name < b.node.name ? -1 : 1)),
    }));
    indexes.push({
      index, shards, f, metric,
      labels: fitting.some((r) => r.labels),
      items: fitting.reduce((max, r) => Math.max(max, r.setItems), 0),
      count: shardStatus.reduce((sum, s) => sum + (s.replicas[0]?.items ?? 0), 0),
      missingShards: shardStatus.filter((s) => s.replicas.length === 0).map((s) => s.shard),
      sets: [...new Set(fitting.map((r) => r.set))],
      conflicts,
      shardStatus,
    });
  }
  return { prefix, servers: new Set(replicas.map((r) => r.serviceId)).size, indexes };
}
