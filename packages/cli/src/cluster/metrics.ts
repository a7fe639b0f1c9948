// Prometheus metrics of the cluster layer, on the server's own prom-client registry (its /metrics):
// per shard this server serves (requests, latency, in flight, generation), and per index it
// answers for the whole cluster (queries, partial answers, latency, shard requests re-sent).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ShardRequestEvent } from './client.ts';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ClusterMetrics {
  readonly shardRequests: Counter<'index' | 'shard' | 'op' | 'result'>;
  readonly shardSeconds: Histogram<'index' | 'shard' | 'op'>;
  readonly shardInFlight: Gauge<'index' | 'shard'>;
  readonly queries: Counter<'index' | 'result'>;
  readonly querySeconds: Histogram<'index'>;
  readonly scatter: Counter<'index' | 'shard' | 'outcome'>;
  readonly resent: Counter<'index' | 'shard'>;
  readonly connected: Gauge;

  constructor(registry: Registry, state: { shards(): { index: string; shard: number; generation: number; items: number }[]; connected(): boolean }) {
    const registers = [registry];
    this.shardRequests = new Counter({
      name: 'annoy_cluster_shard_requests_total', help: 'requests this server answered for a shard it serves, by operation (search, lookup) and result',
      labelNames: ['index', 'shard', 'op', 'result'], registers,
    });
    this.shardSeconds = new Histogram({
      name: 'annoy_cluster_shard_request_duration_seconds', help: 'time to answer a shard request on this server',
      labelNames: ['index', 'shard', 'op'], registers, buckets: BUCKETS,
    });
    this.shardInFlight = new Gauge({ name: 'annoy_cluster_shard_in_flight_requests', help: 'shard requests being answered on this server', labelNames: ['index', 'shard'], registers });
    const perShard = (name: string, help: string, value: (s: { generation: number; items: number }) => number) =>
      new Gauge({
        name, help, labelNames: ['index', 'shard'], registers,
        collect() {
          this.reset();
          for (const s of state.shards()) this.set({ index: s.index, shard: String(s.shard) }, value(s));
        },
      });
    perShard('annoy_cluster_shard_generation', 'the generation of each shard this server serves', (s) => s.generation);
    perShard('annoy_cluster_shard_items', 'items in each shard this server serves', (s) => s.items);
    this.queries = new Counter({
      name: 'annoy_cluster_queries_total', help: 'queries this server answered for the whole cluster (scatter-gather), by result: ok, partial, error',
      labelNames: ['index', 'result'], registers,
    });
    this.querySeconds = new Histogram({
      name: 'annoy_cluster_query_duration_seconds', help: 'time to answer a cluster query (every shard asked, answers merged)',
      labelNames: ['index'], registers, buckets: BUCKETS,
    });
    this.scatter = new Counter({
      name: 'annoy_cluster_scatter_requests_total', help: 'shard requests sent while answering cluster queries, by outcome: ok, missing (no live replica), timeout, error',
      labelNames: ['index', 'shard', 'outcome'], registers,
    });
    this.resent = new Counter({
      name: 'annoy_cluster_scatter_resent_total', help: 'shard requests sent again because no replica had answered yet (a replica died, or was slow) or one was overloaded',
      labelNames: ['index', 'shard'], registers,
    });
    this.connected = new Gauge({
      name: 'annoy_cluster_nats_connected', help: '1 while connected to NATS, 0 while reconnecting', registers,
      collect() {
        this.set(state.connected() ? 1 : 0);
      },
    });
  }

  observeShardRequest(e: ShardRequestEvent): void {
    const labels = { index: e.index, shard: String(e.shard) };
    this.scatter.inc({ ...labels, outcome: e.outcome });
    if (e.resent > 0) this.resent.inc(labels, e.resent);
  }
}
