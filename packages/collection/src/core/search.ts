// The one place the collection asks an index for neighbours: the library's filtered search
// (getNnsByVector with an options object). It keeps searching until it has n allowed items or its
// budget (searchK allowed candidates) ends, and scans small allowed sets exactly.
import type { AnnoyIndex, Filter } from 'annoy-ts';

export interface IndexHits {
  ids: number[];
  distances: number[];
}

export function searchIndex(index: AnnoyIndex, query: Float32Array, n: number, searchK: number, filter: Filter | null, maxDistance: number | null): IndexHits {
  const options: { searchK: number; includeDistances: true; filter?: Filter; maxDistance?: number } = { searchK, includeDistances: true };
  if (filter !== null) options.filter = filter;
  if (maxDistance !== null) options.maxDistance = maxDistance;
  return index.getNnsByVector(query, n, options);
}
