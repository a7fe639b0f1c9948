// @annoy-ts/cli/cluster: query an annoy-ts cluster (shard servers on NATS, `annoy-ts serve --nats`)
// from any Node program. See client.ts; the README's "Cluster (NATS)" section shows a deployment.
export { ClusterClient, ClusterIndex } from './client.ts';
export type { ClusterAnswer, ClusterOptions, Neighbours, QueryOptions, ShardAnswer, ShardRequestEvent, Target } from './client.ts';
export type { NatsOptions, NatsTlsOptions } from './connection.ts';
export type { ClusterStatus, IndexStatus, Replica, ShardStatus, Topology } from './discovery.ts';
export { ClusterError, ClusterUnavailableError, type ClusterErrorCode } from './errors.ts';
export { DEFAULT_PREFIX, shardSubject, type NodeInfo, type ShardState } from './protocol.ts';
