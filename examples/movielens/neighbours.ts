// From neighbours to recommendations: "find the people whose lists are most like mine and
// recommend what they saw (and liked) that I did not". Also exact (brute-force) neighbour search,
// to compare the index with, and the popularity baseline. Users are rows 0..n-1 here (the order of
// UserVectors.userIds); movies are movieIds.
import type { Rating } from './data.ts';

/** A user's neighbours: rows of other users, most similar first, with their cosine similarities. */
export interface Neighbours {
  rows: number[];
  sims: number[];
}

/**
 * Exact search: for every row, the `k` other rows with the largest inner product (= cosine, on
 * unit vectors), best first, ties to the lower row. A scan of all n vectors per query.
 */
export function exactNeighbours(vectors: readonly Float32Array[], k: number): Neighbours[] {
  const n = vectors.length, dim = vectors[0]?.length ?? 0;
  const flat = new Float32Array(n * dim);
  vectors.forEach((v, i) => flat.set(v, i * dim));
  const bestRows = new Int32Array(k), bestSims = new Float64Array(k);
  return vectors.map((q, self) => {
    let size = 0;
    for (let i = 0; i < n; i++) {
      if (i === self) continue;
      let s = 0;
      const o = i * dim;
      for (let c = 0; c < dim; c++) s += flat[o + c] * q[c];
      if (size < k || s > bestSims[size - 1]) {
        let j = size < k ? size++ : size - 1; // the new one goes in at j or above; a full list drops its last
        while (j > 0 && bestSims[j - 1] < s) {
          bestSims[j] = bestSims[j - 1];
          bestRows[j] = bestRows[j - 1];
          j--;
        }
        bestSims[j] = s;
        bestRows[j] = i;
      }
    }
    return { rows: Array.from(bestRows.subarray(0, size)), sims: Array.from(bestSims.subarray(0, size)) };
  });
}

/**
 * Neighbours from an angular index's answer to "the items nearest item `self`" (ids and distances,
 * nearest first): drop `self`, keep `k`, and turn Annoy's angular distance d = √(2 − 2·cos) back
 * into the cosine, 1 − d²/2.
 */
export function fromAngular(self: number, ids: readonly number[], distances: readonly number[], k: number): Neighbours {
  const rows: number[] = [], sims: number[] = [];
  for (let i = 0; i < ids.length && rows.length < k; i++) {
    if (ids[i] === self) continue;
    rows.push(ids[i]);
    sims.push(1 - (distances[i] * distances[i]) / 2);
  }
  return { rows, sims };
}

/** Training ratings by row of `userIds` (users with none get an empty list). */
export function ratingsByRow(ratings: readonly Rating[], userIds: readonly number[]): Rating[][] {
  const row = new Map(userIds.map((u, i) => [u, i]));
  const byRow: Rating[][] = userIds.map(() => []);
  for (const r of ratings) {
    const i = row.get(r.userId);
    if (i !== undefined) byRow[i].push(r);
  }
  return byRow;
}

/** Movies by popularity: `ranking` lists movieIds most popular first; `place` maps a movieId to its index there. */
export interface Popularity {
  ranking: number[];
  place: Map<number, number>;
}

/** Movies by number of (training) ratings, or of ratings ≥ minStars, most first; ties to the lower movieId. */
export function popularity(ratings: readonly Rating[], minStars = 0): Popularity {
  const counts = new Map<number, number>();
  for (const r of ratings) if (r.rating >= minStars) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
  const ranking = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([m]) => m);
  return { ranking, place: new Map(ranking.map((m, i) => [m, i])) };
}

/** The first `n` movies of `ranking` that are not in `seen`: the popularity baseline's recommendations. */
export function topUnseen(ranking: readonly number[], seen: ReadonlySet<number>, n: number): number[] {
  const out: number[] = [];
  for (const m of ranking) {
    if (out.length === n) break;
    if (!seen.has(m)) out.push(m);
  }
  return out;
}

export interface Recommendation {
  /** movieIds, best first. */
  movieIds: number[];
  /** How many of them came from the popularity ranking because the neighbours liked fewer than n unseen movies. */
  filled: number;
}

/** Similarities up to this count as 0: cosines from Annoy's float32 distances are off by ~1e-7. */
export const ZERO_SIMILARITY = 1e-6;

/**
 * Recommend `n` movies the user has not rated: each neighbour who rated a movie ≥ `minStars` adds
 * their similarity to it (similarities ≤ ZERO_SIMILARITY, e.g. negative ones, add nothing); the
 * highest totals win, ties going to the more popular movie. If the neighbours liked fewer than `n`
 * movies the user has not seen, the rest come from `popular` (the popularity baseline). A user
 * with a zero vector (cosine 0 with everyone) thus gets the popularity baseline's list.
 */
export function recommend(
  seen: ReadonlySet<number>,
  neighbours: Neighbours,
  byRow: readonly (readonly Rating[])[],
  popular: Popularity,
  n = 10,
  minStars = 4,
): Recommendation {
  const scores = new Map<number, number>();
  neighbours.rows.forEach((v, i) => {
    const w = neighbours.sims[i];
    if (!(w > ZERO_SIMILARITY)) return;
    for (const r of byRow[v]) {
      if (r.rating >= minStars && !seen.has(r.movieId)) scores.set(r.movieId, (scores.get(r.movieId) ?? 0) + w);
    }
  });
  const place = (m: number) => popular.place.get(m) ?? Number.MAX_SAFE_INTEGER;
  const movieIds = [...scores]
    .sort((a, b) => b[1] - a[1] || place(a[0]) - place(b[0]) || a[0] - b[0])
    .slice(0, n)
    .map(([m]) => m);
  const filled = n - movieIds.length;
  if (filled > 0) movieIds.push(...topUnseen(popular.ranking, new Set([...seen, ...movieIds]), filled));
  return { movieIds, filled: Math.max(filled, 0) };
}
