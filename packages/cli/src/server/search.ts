// Answering queries from one generation: on the index's worker-thread pool (the default: every
// core searches, the event loop only parses and serialises) or on the event loop itself.
import type { SearchResult } from 'annoy-ts';
import type { Generation } from './registry.ts';

export type Target = { vector: number[] } | { item: number };

export type SearchMode = 'workers' | 'main';

export async function search(generation: Generation, targets: Target[], k: number, searchK: number, mode: SearchMode): Promise<SearchResult[]> {
  const index = generation.index;
  if (mode === 'main') {
    return targets.map((t) => ('vector' in t ? index.getNnsByVector(t.vector, k, searchK, true) : index.getNnsByItem(t.item, k, searchK, true)));
  }
  if (targets.length === 1) {
    const t = targets[0];
    return 'vector' in t
      ? index.getNnsByVectorsAsync([t.vector], k, searchK, true)
      : index.getNnsByItemsAsync([t.item], k, searchK, true);
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
    vectors.length ? index.getNnsByVectorsAsync(vectors, k, searchK, true) : [],
    items.length ? index.getNnsByItemsAsync(items, k, searchK, true) : [],
  ]);
  const out = new Array<SearchResult>(targets.length);
  vectorAt.forEach((at, j) => (out[at] = byVector[j]));
  itemAt.forEach((at, j) => (out[at] = byItem[j]));
  return out;
}
