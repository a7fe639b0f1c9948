// Prometheus metrics (prom-client), on a registry of the server's own so that several servers in
// one process (tests) do not collide.
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Registry } from './registry.ts';

export class Metrics {
  readonly registry = new PromRegistry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly queries: Counter<'index' | 'kind'>;
  readonly reloads: Counter<'index' | 'result'>;
  readonly loadSeconds: Gauge<'index'>;

  constructor(indexes: Registry) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'annoy_' });
    this.requests = new Counter({
      name: 'annoy_http_requests_total', help: 'HTTP requests answered, by route pattern and status',
      labelNames: ['method', 'route', 'status'], registers,
    });
    this.duration = new Histogram({
      name: 'annoy_http_request_duration_seconds', help: 'time from request to response, by route pattern',
      labelNames: ['method', 'route'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.queries = new Counter({
      name: 'annoy_queries_total', help: 'nearest-neighbour queries answered (each query of a batch counts)',
      labelNames: ['index', 'kind'], registers,
    });
    this.reloads = new Counter({
      name: 'annoy_index_reloads_total', help: 'index reloads, by result (ok: swapped in; failed: rejected, the old generation kept serving)',
      labelNames: ['index', 'result'], registers,
    });
    this.loadSeconds = new Gauge({ name: 'annoy_index_load_seconds', help: 'duration of the last successful load', labelNames: ['index'], registers });
    const perIndex = (name: string, help: string, value: (slot: ReturnType<Registry['slots']>[number]) => number) =>
      new Gauge({
        name, help, labelNames: ['index'], registers,
        collect() {
          this.reset();
          for (const slot of indexes.slots()) this.set({ index: slot.name }, value(slot));
        },
      });
    perIndex('annoy_index_generation', 'the generation serving (1 at start, +1 per swap)', (s) => s.current.number);
    perIndex('annoy_index_items', 'items in the serving generation', (s) => s.current.index.getNItems());
    perIndex('annoy_index_trees', 'trees in the serving generation', (s) => s.current.index.getNTrees());
    perIndex('annoy_index_draining_generations', 'replaced generations still finishing requests', (s) => s.draining.size);
    perIndex('annoy_index_loaded_timestamp_seconds', 'when the serving generation was loaded', (s) => s.current.loadedAt.getTime() / 1000);
    perIndex('annoy_index_in_flight_requests', 'requests being answered, over all generations', (s) =>
      s.current.leases + [...s.draining].reduce((sum, g) => sum + g.leases, 0));
  }
}
