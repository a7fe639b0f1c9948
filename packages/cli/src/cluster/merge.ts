// The exact merge of per-shard answers: each shard's list is already best first (Annoy's order),
// the shards hold disjoint items, so a k-way merge of the list heads gives the n best overall.
// Across shards, equal distances go to the smaller id; within one shard its own order is kept, so
// a one-shard set answers exactly as the index itself does.

export interface Ranked {
  ids: readonly number[];
  distances: readonly number[];
  labels?: readonly (string | null)[];
}

export interface Merged {
  ids: number[];
  distances: number[];
  labels?: (string | null)[];
}

/** Whether the metric reports larger distances for closer items (dot: the inner product). */
export function largerIsCloser(metric: string): boolean {
  return metric === 'dot';
}

export function mergeTopN(lists: readonly Ranked[], n: number, metric: string): Merged {
  const descending = largerIsCloser(metric);
  const withLabels = lists.length > 0 && lists.every((l) => l.labels !== undefined);
  const heads = new Array<number>(lists.length).fill(0);
  const out: Merged = { ids: [], distances: [] };
  if (withLabels) out.labels = [];
  while (out.ids.length < n) {
    let best = -1;
    let bestD = 0, bestId = 0;
    for (let s = 0; s < lists.length; s++) {
      const h = heads[s];
      if (h >= lists[s].ids.length) continue;
      const d = lists[s].distances[h], id = lists[s].ids[h];
      if (best < 0 || (descending ? d > bestD : d < bestD) || (d === bestD && id < bestId)) {
        best = s;
        bestD = d;
        bestId = id;
      }
    }
    if (best < 0) break;
    const h = heads[best]++;
    out.ids.push(bestId);
    out.distances.push(bestD);
    if (out.labels) out.labels.push(lists[best].labels![h] ?? null);
  }
  return out;
}
