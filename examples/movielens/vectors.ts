// User vectors from ratings: mean-centre each user's ratings, then keep the top `dim` dimensions
// of a truncated SVD. This module knows nothing about Annoy: it turns ratings into Float32Arrays.
//
// Why these steps:
//  - Mean-centring: one person's 3 stars is another's 4. Subtracting each user's mean rating turns
//    a rating into "liked it more / less than I usually do", and two users whose lists are alike
//    then point the same way, whatever their average. An unrated movie counts as 0 (no opinion).
//  - Truncated SVD: the centred matrix A (users × movies, 671 × about 9,000 here) has a sparse, very
//    high-dimensional row per user, and two users who rated no movie in common have cosine 0 even
//    if their tastes agree. Projecting the rows onto the top `dim` right singular vectors of A
//    (row u of A·V_k = U_k·Σ_k) keeps the directions along which the users differ most, in a dense
//    `dim`-d vector: what an Annoy index wants, and small enough to search fast.
//  - Unit length: neighbours are "most alike" by cosine (the index's angular metric).
//
// How: with few users (671) and many movies, the SVD comes from the eigendecomposition of the
// users × users Gram matrix G = A·Aᵀ = U·Σ²·Uᵀ, whose top eigenpairs give U_k and Σ_k. G is built
// from the sparse ratings (per movie, the products of its raters' centred ratings), and the
// symmetric eigendecomposition is ml-matrix's (a well-kept, pure-JavaScript linear-algebra library).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Rating } from './data.ts';

export interface UserVectors {
  /** Row u belongs to userIds[u] (ascending). */
  userIds: number[];
  /** One unit vector (dim floats) per user; all zeros for a user whose ratings are all equal. */
  vectors: Float32Array[];
  dim: number;
  /** Each user's mean rating (the centre subtracted), by row. */
  means: Float64Array;
  /** The top `dim` singular values of the centred matrix, largest first. */
  singularValues: number[];
  /** The share of the centred matrix's squared Frobenius norm (Σ of all σ²) kept by the top `dim`. */
  explained: number;
}

/** The users × users Gram matrix of the mean-centred ratings (row-major), with the users and their means. */
export function centredGram(ratings: readonly Rating[]): { userIds: number[]; means: Float64Array; gram: Float64Array } {
  const userIds = [...new Set(ratings.map((r) => r.userId))].sort((a, b) => a - b);
  const row = new Map(userIds.map((u, i) => [u, i]));
  const n = userIds.length;
  const sums = new Float64Array(n), counts = new Float64Array(n);
  for (const r of ratings) {
    const u = row.get(r.userId)!;
    sums[u] += r.rating;
    counts[u]++;
  }
  const means = sums.map((s, u) => s / counts[u]);
  const byMovie = new Map<number, { u: number; x: number }[]>();
  for (const r of ratings) {
    const u = row.get(r.userId)!;
    let column = byMovie.get(r.movieId);
    if (column === undefined) byMovie.set(r.movieId, (column = []));
    column.push({ u, x: r.rating - means[u] });
  }
  const gram = new Float64Array(n * n);
  for (const column of byMovie.values()) {
    for (const a of column) {
      const o = a.u * n;
      for (const b of column) gram[o + b.u] += a.x * b.x;
    }
  }
  return { userIds, means, gram };
}

/** Unit user vectors of `dim` dimensions: mean-centred ratings projected by a truncated SVD (see above). */
export function userVectors(ratings: readonly Rating[], dim: number): UserVectors {
  const { userIds, means, gram } = centredGram(ratings);
  const n = userIds.length;
  if (!Number.isInteger(dim) || dim < 1 || dim > n) throw new Error(`dim must be an integer in 1..${n} (the number of users), got ${dim}`);
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(n, n, gram), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const order = values.map((_, j) => j).sort((a, b) => values[b] - values[a] || a - b).slice(0, dim);
  // G is positive semi-definite: eigenvalues below 0 are rounding error.
  const sigma = order.map((j) => Math.sqrt(Math.max(values[j], 0)));
  let trace = 0;
  for (let u = 0; u < n; u++) trace += gram[u * n + u];
  const explained = trace > 0 ? sigma.reduce((a, s) => a + s * s, 0) / trace : 0;
  const eigenvectors = evd.eigenvectorMatrix;
  const vectors = userIds.map((_, u) => {
    const v = new Float64Array(dim);
    for (let c = 0; c < dim; c++) v[c] = eigenvectors.get(u, order[c]) * sigma[c];
    const norm = Math.hypot(...v);
    return Float32Array.from(v, (x) => (norm > 0 ? x / norm : 0));
  });
  return { userIds, vectors, dim, means, singularValues: sigma, explained };
}
