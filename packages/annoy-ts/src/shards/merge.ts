// The exact merge of per-shard answers. Pure (no Node built-ins).
import type { SearchResult } from '../annoy-index.ts';

/**
 * The n best of several shards' answers (ids already global, no id in two answers): nearest first
 * — for `dot`, whose distances are similarities, largest first — and equal distances by the
 * smaller id, the order one AnnoyIndex reports. Each shard's n best contain the shard's share of
 * the overall n best, so the result is exactly the overall n best among what the shards found.
 */
export function mergeNearest(parts: readonly SearchResult[], n: number, largerFirst: boolean): SearchResult {
  if (parts.length === 1) return reorderTies(parts[0], n);
  let total = 0;
  for (const p of parts) total += p.ids.length;
  const ids = new Float64Array(total), distances = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    ids.set(p.ids, at);
    distances.set(p.distances, at);
    at += p.ids.length;
  }
  const order = Array.from({ length: total }, (_, r) => r);
  const sign = largerFirst ? -1 : 1;
  order.sort((a, b) => sign * (distances[a] - distances[b]) || ids[a] - ids[b]);
  const take = Math.min(n, total);
  const out: SearchResult = { ids: new Array<number>(take), distances: new Array<number>(take) };
  for (let r = 0; r < take; r++) {
    out.ids[r] = ids[order[r]];
    out.distances[r] = distances[order[r]];
  }
  return out;
}

/**
 * One shard's answer is already ordered by distance; only runs of equal distances may need their
 * ids sorted (a shard orders ties by its local ids, which follow the global ones, so this is
 * normally a no-op check).
 */
function reorderTies(part: SearchResult, n: number): SearchResult {
  const ids = part.ids.slice(0, n), distances = part.distances.slice(0, n);
  for (let r = 1; r < ids.length; r++) {
    if (distances[r] === distances[r - 1] && ids[r] < ids[r - 1]) {
      let s = r;
      while (s > 0 && distances[s] === distances[s - 1] && ids[s] < ids[s - 1]) {
        [ids[s], ids[s - 1]] = [ids[s - 1], ids[s]];
        s--;
      }
    }
  }
  return { ids, distances };
}
