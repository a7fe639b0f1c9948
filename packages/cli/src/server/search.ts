// Answering queries from one generation: on the index's worker-thread pool (the default: every
// core searches, the event loop only parses and serialises) or on the event loop itself.
import type { SearchResult, WithDistances } from 'annoy-ts';
import type { Generation } from './registry.ts';

export type Target = { vector: number[] } | { item: number };

export type SearchMode = 'workers' | 'main';

/** `options`: searchK, and a filter (an AllowedIds built for this generation) or maxDistance when asked for. */
export async function search(generation: Generation, targets: Target[], k: number, options: WithDistances, mode: SearchMode): Promise<SearchResult[]> {
  const index = generation.index;
  if (mode === 'main') {
    return targets.map((t) => ('vector' in t ? index.getNnsByVector(t.vector, k, options) : index.getNnsByItem(t.item, k, options)));
  }
  if (targets.length === 1) {
    const t = targets[0];
    return 'vector' in t
      ? index.getNnsByVectorsAsync([t.vector], k, options)
      : index.getNnsByItemsAsync([t.item], k, options);
  }
  // A batch: vectors and items go to the pool as two calls, then back into input order.
  const vectorAt: number[] = [], itemAt: number[] = [];
  const vectors: number[][] = [], items: number[] = [];
  targets.forEach((t, i) => {
    if ('vector' in t) {
      vectorAt.push(i);
      vectors.push(t.vector);
    } else {
      itemAt.push(i);
      items.push(t.item);
    }
  });
  const [byVector, byItem] = await Promise.all([
    vectors.length ? index.getNnsByVectorsAsync(vectors, k, options) : [],
    items.length ? index.getNnsByItemsAsync(items, k, options) : [],
  ]);
  const out = new Array<SearchResult>(targets.length);
  vectorAt.forEach((at, j) => (out[at] = byVector[j]));
  itemAt.forEach((at, j) => (out[at] = byItem[j]));
  return out;
}
