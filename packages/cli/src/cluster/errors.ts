// Errors of the cluster layer. Each carries a stable `code` (the HTTP gateway's `error` field)
// and a message naming the index, the shards and what went wrong.
import { AnnoyError } from 'annoy-ts';

export type ClusterErrorCode =
  | 'unknown_index'
  | 'unknown_item'
  | 'unknown_label'
  | 'no_labels'
  | 'shards_unavailable'
  | 'timeout'
  | 'disconnected'
  | 'inconsistent_set'
  | 'too_large'
  | 'bad_request'
  | 'shard_error'
  | 'mismatch'
  | 'nats_unreachable'
  | 'closed';

export class ClusterError extends AnnoyError {
  override name = 'ClusterError';
  constructor(readonly code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Some shards had no live replica (or none answered in time), and the query did not allow a partial answer. */
export class ClusterUnavailableError extends ClusterError {
  override name = 'ClusterUnavailableError';
  constructor(code: 'shards_unavailable' | 'timeout' | 'disconnected', message: string, readonly missingShards: number[] = []) {
    super(code, message);
  }
}

/** HTTP status for each code (the gateway's answers). */
export const HTTP_STATUS: Record<ClusterErrorCode, number> = {
  unknown_index: 404,
  unknown_item: 404,
  unknown_label: 404,
  no_labels: 400,
  bad_request: 400,
  too_large: 413,
  inconsistent_set: 409,
  mismatch: 409,
  shards_unavailable: 503,
  disconnected: 503,
  nats_unreachable: 503,
  closed: 503,
  timeout: 504,
  shard_error: 502,
};

/** "shard 2", "shards 0, 1 and 3". */
export function shardList(shards: readonly number[]): string {
  if (shards.length === 1) return `shard ${shards[0]}`;
  return `shards ${shards.slice(0, -1).join(', ')} and ${shards[shards.length - 1]}`;
}
