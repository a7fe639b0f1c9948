// The one place the collection asks an index for neighbours: the library's filtered search
// (getNnsByVector with an options object), which keeps searching until it has n allowed items or
// its budget ends, and scans small allowed sets exactly.
import type { AnnoyIndex } from 'annoy-ts';

export interface IndexHits {
  ids: number[];
  distances: number[];
}

type Filter = ((pos: number) => boolean) | Int32Array;

interface FilteredSearch {
  getNnsByVector(
    vector: ArrayLike<number>, n: number,
    options: { searchK?: number; includeDistances: true; filter?: Filter; maxDistance?: number },
  ): IndexHits;
}

let filteredSearch: boolean | null = null;

export function searchIndex(index: AnnoyIndex, query: Float32Array, n: number, searchK: number, filter: Filter | null, maxDistance: number | null): IndexHits {
  if (filteredSearch === null) filteredSearch = hasFilteredSearch(index);
  if (!filteredSearch) return postFiltered(index, query, n, searchK, filter, maxDistance);
  const options: { searchK: number; includeDistances: true; filter?: Filter; maxDistance?: number } = { searchK, includeDistances: true };
  if (filter !== null) options.filter = filter;
  if (maxDistance !== null) options.maxDistance = maxDistance;
  return (index as unknown as FilteredSearch).getNnsByVector(query, n, options);
}

function hasFilteredSearch(index: AnnoyIndex): boolean {
  try {
    (index as unknown as FilteredSearch).getNnsByVector(new Float32Array(index.f), 1, { searchK: 1, includeDistances: true });
    return true;
  } catch {
    return false;
  }
}

/** TEMPORARY (until the library's filtered search lands): asks for more until n allowed items come back. */
function postFiltered(index: AnnoyIndex, query: Float32Array, n: number, searchK: number, filter: Filter | null, maxDistance: number | null): IndexHits {
  const allowed = filter === null ? null : typeof filter === 'function' ? filter : ((set: Set<number>) => (p: number) => set.has(p))(new Set(filter));
  const total = index.getNItems();
  let want = Math.min(total, Number.isFinite(n) ? n : total);
  for (;;) {
    const r = index.getNnsByVector(query, want, searchK === -1 ? -1 : Math.max(searchK, want * 2), true);
    const ids: number[] = [], distances: number[] = [];
    for (let j = 0; j < r.ids.length && ids.length < n; j++) {
      const id = r.ids[j]!, d = r.distances[j]!;
      if (allowed && !allowed(id)) continue;
      if (maxDistance !== null && !(index.metric === 'dot' ? d >= maxDistance : d <= maxDistance)) continue;
      ids.push(id);
      distances.push(d);
    }
    if (ids.length >= n || want >= total) return { ids, distances };
    want = Math.min(total, want * 4);
  }
}
