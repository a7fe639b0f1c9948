// Recommendations from the nearest users on MovieLens ml-latest-small (examples/movielens): the CSV
// readers, the held-out split, the user vectors, neighbours → recommendations, the hit-rate; then
// the whole pipeline, whose annoy-ts neighbours must recommend as well as exact search does and
// clearly better than the most popular movies.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { type Rating, parseMoviesCsv, parseRatingsCsv, readMovieLens } from '../../examples/movielens/data.ts';
import { compareHits, hitRate, neighbourRecall } from '../../examples/movielens/evaluate.ts';
import { exactNeighbours, fromAngular, popularity, ratingsByRow, recommend, topUnseen } from '../../examples/movielens/neighbours.ts';
import { holdOutLatestLiked } from '../../examples/movielens/split.ts';
import { centredGram, userVectors } from '../../examples/movielens/vectors.ts';
import { skipWithout } from '../helpers/requirements.ts';

const DIR = fileURLToPath(new URL('../../../shared/data/movielens-small', import.meta.url));
const HAVE_DATA = existsSync(join(DIR, 'ratings.csv')) && existsSync(join(DIR, 'movies.csv'));

const r = (userId: number, movieId: number, rating: number, timestamp: number): Rating => ({ userId, movieId, rating, timestamp });

describe('MovieLens readers', () => {
  it('reads ratings.csv, ignoring unnamed trailing columns and what stands in them', () => {
    const csv = 'userId,movieId,rating,timestamp,,,,\n1,31,2.5,1260759144,,,,\n1,1129,2,1260759185,,3.450819672,,3.543608256\n2,10,5,835355493\n';
    expect(parseRatingsCsv(csv)).toEqual([r(1, 31, 2.5, 1260759144), r(1, 1129, 2, 1260759185), r(2, 10, 5, 835355493)]);
    expect(parseRatingsCsv('\uFEFFuserId,movieId,rating,timestamp\r\n7,1,0.5,0\r\n')).toEqual([r(7, 1, 0.5, 0)]);
  });

  it('rejects a wrong header, ratings off the half-star scale, bad ids and a second rating of the same movie', () => {
    const h = 'userId,movieId,rating,timestamp\n';
    expect(() => parseRatingsCsv('user,movie,rating,timestamp\n1,1,4,0\n')).toThrow(/header/);
    expect(() => parseRatingsCsv('userId,movieId,rating,timestamp,extra\n1,1,4,0,x\n')).toThrow(/header/);
    for (const bad of ['4.3', '0', '5.5', '', 'four']) expect(() => parseRatingsCsv(`${h}1,1,${bad},0\n`)).toThrow(/line 2: rating/);
    expect(() => parseRatingsCsv(`${h}1,1.5,4,0\n`)).toThrow(/line 2: movieId/);
    expect(() => parseRatingsCsv(`${h}1,2,4,0\n1,1,4\n`)).toThrow(/line 3: 3 fields/);
    expect(() => parseRatingsCsv(`${h}1,2,4,0\n2,2,4,0\n1,2,3,5\n`)).toThrow(/line 4: user 1 rated movie 2 a second time/);
  });

  it('reads movies.csv: quoted titles with commas and accents, genres split on "|", none listed → []', () => {
    const csv =
      'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n' +
      '29,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Adventure|Drama\n' +
      '114335,La cravate (1957),(no genres listed)\n';
    const movies = parseMoviesCsv(csv);
    expect([...movies.keys()]).toEqual([1, 29, 114335]);
    expect(movies.get(29)).toEqual({ movieId: 29, title: 'City of Lost Children, The (Cité des enfants perdus, La) (1995)', genres: ['Adventure', 'Drama'] });
    expect(movies.get(114335)?.genres).toEqual([]);
    expect(() => parseMoviesCsv('movieId,title,genres\n1,A (1990),Drama\n1,B (1991),Drama\n')).toThrow(/line 3: movie 1 listed a second time/);
    expect(() => parseMoviesCsv('id,title,genres\n')).toThrow(/header/);
  });
});

describe('held-out split', () => {
  const ratings = [
    r(1, 10, 5, 100), r(1, 11, 4, 300), r(1, 12, 3.5, 400), r(1, 13, 4.5, 300), r(1, 14, 4, 200), r(1, 15, 2, 500),
    r(2, 20, 4, 100), r(2, 21, 1, 200),
    r(3, 30, 3, 100),
  ];

  it("hides each user's most recent ratings ≥ 4 stars (same second: higher movieId first), at most perUser", () => {
    const { train, hidden } = holdOutLatestLiked(ratings, { perUser: 2 });
    expect(hidden.get(1)).toEqual([13, 11]); // 12 (3.5★) and 15 (2★) are more recent but not liked; 13 and 11 tie at t=300
    expect(hidden.get(2)).toEqual([20]); // fewer liked than perUser: all of them
    expect(hidden.get(3)).toEqual([]); // nothing liked, nothing hidden, still a key
    expect(train).toEqual(ratings.filter((x) => !(x.userId === 1 && (x.movieId === 13 || x.movieId === 11)) && !(x.userId === 2 && x.movieId === 20)));
  });

  it('defaults to 5 per user and 4 stars; minStars and perUser 0 are honoured', () => {
    expect(holdOutLatestLiked(ratings).hidden.get(1)).toEqual([13, 11, 14, 10]);
    expect(holdOutLatestLiked(ratings, { minStars: 3.5 }).hidden.get(1)).toEqual([12, 13, 11, 14, 10]);
    const none = holdOutLatestLiked(ratings, { perUser: 0 });
    expect(none.train).toEqual(ratings);
    expect([...none.hidden.values()].every((ms) => ms.length === 0)).toBe(true);
    expect(() => holdOutLatestLiked(ratings, { perUser: -1 })).toThrow(/perUser/);
  });
});

describe('user vectors', () => {
  // Four users, five movies; user 4 rates everything alike, so has nothing left after centring.
  const ratings = [
    r(1, 1, 5, 0), r(1, 2, 3, 0), r(1, 3, 1, 0),
    r(2, 1, 4, 0), r(2, 2, 2, 0), r(2, 4, 3, 0),
    r(3, 3, 5, 0), r(3, 4, 1, 0), r(3, 5, 3, 0),
    r(4, 1, 3, 0), r(4, 5, 3, 0),
  ];

  it('centres each user on their mean and builds the Gram matrix of the centred rows', () => {
    const { userIds, means, gram } = centredGram(ratings);
    expect(userIds).toEqual([1, 2, 3, 4]);
    expect(Array.from(means)).toEqual([3, 3, 3, 3]);
    // centred rows over movies 1..5: u1 (2, 0, -2, 0, 0), u2 (1, -1, 0, 0, 0), u3 (0, 0, 2, -2, 0), u4 zeros
    expect(Array.from(gram)).toEqual([8, 2, -4, 0, /**/ 2, 2, 0, 0, /**/ -4, 0, 8, 0, /**/ 0, 0, 0, 0]);
  });

  it('with as many dimensions as the rank, keeps every cosine of the centred rows exactly', () => {
    const v = userVectors(ratings, 3); // rank 3
    expect(v.userIds).toEqual([1, 2, 3, 4]);
    expect(v.explained).toBeCloseTo(1, 12);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(dot(v.vectors[0], v.vectors[0])).toBeCloseTo(1, 6);
    expect(dot(v.vectors[0], v.vectors[1])).toBeCloseTo(2 / Math.sqrt(8 * 2), 6);
    expect(dot(v.vectors[0], v.vectors[2])).toBeCloseTo(-4 / 8, 6);
    expect(dot(v.vectors[1], v.vectors[2])).toBeCloseTo(0, 6);
    expect(Array.from(v.vectors[3])).toEqual([0, 0, 0]); // all ratings equal: a zero vector
    // σ² are the eigenvalues of the Gram matrix: roots of det(G − λI) = (8 − λ)²(2 − λ) + 20λ − 64, summing to its trace, 18.
    const lambdas = v.singularValues.map((s) => s * s);
    for (const l of lambdas) expect(Math.abs((8 - l) ** 2 * (2 - l) + 20 * l - 64)).toBeLessThan(1e-9);
    expect(lambdas.reduce((a, b) => a + b, 0)).toBeCloseTo(18, 10);
    expect(lambdas[0]).toBeGreaterThan(lambdas[1]);
    expect(lambdas[1]).toBeGreaterThan(lambdas[2]);
  });

  it('with fewer dimensions, keeps the top singular directions and reports the share kept', () => {
    const v = userVectors(ratings, 1);
    const top = userVectors(ratings, 3).singularValues[0];
    expect(v.singularValues).toEqual([top]);
    expect(v.explained).toBeCloseTo((top * top) / 18, 12);
    expect(v.vectors.map((x) => Math.abs(x[0]))).toEqual([1, 1, 1, 0]);
    expect(() => userVectors(ratings, 0)).toThrow(/dim/);
    expect(() => userVectors(ratings, 5)).toThrow(/dim/);
  });
});

describe('neighbours → recommendations', () => {
  const unit = (...xs: number[]) => Float32Array.from(xs.map((x) => x / Math.hypot(...xs)));

  it('exact search: the k most similar other rows, best first, ties to the lower row', () => {
    const vectors = [unit(1, 0), unit(1, 1), unit(0, 1), unit(1, 1), unit(-1, 0)];
    const nb = exactNeighbours(vectors, 3);
    expect(nb[0].rows).toEqual([1, 3, 2]);
    expect(nb[0].sims[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(nb[1].rows).toEqual([3, 0, 2]);
    expect(nb[1].sims[0]).toBeCloseTo(1, 6);
    expect(exactNeighbours(vectors, 10)[4].rows).toEqual([2, 1, 3, 0]); // k > n - 1: everyone else
  });

  it('turns an angular index answer into neighbours: itself dropped, distance → cosine', () => {
    const nb = fromAngular(7, [7, 3, 9, 1], [0, 0.5, Math.SQRT2, 2], 2);
    expect(nb.rows).toEqual([3, 9]);
    expect(nb.sims[0]).toBeCloseTo(1 - 0.125, 12);
    expect(nb.sims[1]).toBeCloseTo(0, 12);
    expect(fromAngular(7, [3, 9, 1], [0.1, 0.2, 0.3], 2).rows).toEqual([3, 9]); // itself not among the answers
  });

  it('popularity ranks by number of ratings (or of ratings ≥ minStars), ties to the lower movieId', () => {
    const ratings = [r(1, 5, 1, 0), r(2, 5, 2, 0), r(1, 3, 5, 0), r(2, 3, 4, 0), r(3, 3, 1, 0), r(3, 9, 5, 0), r(3, 4, 5, 0)];
    expect(popularity(ratings).ranking).toEqual([3, 5, 4, 9]);
    expect(popularity(ratings).place.get(4)).toBe(2);
    expect(popularity(ratings, 4).ranking).toEqual([3, 4, 9]);
    expect(topUnseen([3, 5, 4, 9], new Set([5]), 2)).toEqual([3, 4]);
  });

  it('recommends unseen movies the neighbours liked, weighted by similarity, and fills from popularity', () => {
    const userIds = [10, 20, 30, 40];
    const train = [
      r(10, 1, 5, 0),
      r(20, 1, 4, 0), r(20, 2, 4, 0), r(20, 3, 5, 0), r(20, 4, 2, 0),
      r(30, 2, 4.5, 0), r(30, 5, 4, 0),
      r(40, 6, 5, 0),
    ];
    const byRow = ratingsByRow(train, userIds);
    expect(byRow.map((rs) => rs.length)).toEqual([1, 4, 2, 1]);
    const order = [2, 1, 3, 4, 5, 6, 7];
    const popular = { ranking: order, place: new Map(order.map((m, i) => [m, i])) };
    const seen = new Set([1]);
    // Row 1 (sim 0.9) liked 2 and 3; row 2 (0.5) liked 2 and 5; row 3 (-0.4) liked 6: adds nothing. Movie 4 got 2★.
    const rec = recommend(seen, { rows: [1, 2, 3], sims: [0.9, 0.5, -0.4] }, byRow, popular, 3);
    expect(rec).toEqual({ movieIds: [2, 3, 5], filled: 0 });
    const short = recommend(seen, { rows: [2], sims: [0.5] }, byRow, popular, 4);
    expect(short).toEqual({ movieIds: [2, 5, 3, 4], filled: 2 }); // 2 and 5 tie: the more popular first; then the most popular unseen
    const zero = recommend(seen, { rows: [1, 2], sims: [1e-8, 0] }, byRow, popular, 2); // a zero vector's "neighbours"
    expect(zero).toEqual({ movieIds: [2, 3], filled: 2 });
  });
});

describe('hit-rate', () => {
  it('counts a user as a hit when any hidden movie is recommended; users without hidden movies are not scored', () => {
    const hidden = new Map([[1, [5, 6]], [2, [7]], [3, []], [4, [8]]]);
    const recs = new Map([[1, [9, 6, 1]], [2, [1, 2]], [3, [1]]]);
    const h = hitRate(recs, hidden);
    expect(h).toMatchObject({ users: 3, usersHit: 1, hidden: 4, hits: 1, hit: [true, false, false] });
    expect(h.hitRate).toBeCloseTo(1 / 3, 12);
    expect(h.recall).toBeCloseTo(1 / 4, 12);
    const other = hitRate(new Map([[2, [7]], [4, [8]]]), hidden);
    expect(compareHits(other, h)).toEqual({ onlyA: 2, onlyB: 1, difference: 1 / 3, standardError: Math.sqrt(3) / 3 });
    expect(neighbourRecall([{ rows: [1, 2] }, { rows: [5] }], [{ rows: [2, 3] }, { rows: [5] }])).toBeCloseTo(0.75, 12);
  });
});

describe.skipIf(skipWithout(HAVE_DATA, `MovieLens ml-latest-small (${DIR})`))(
  `recommendations from the nearest users on MovieLens${HAVE_DATA ? '' : ` (skipped: ${DIR} is missing)`}`,
  () => {
    it('annoy-ts neighbours recommend as well as exact search, and beat the most popular movies', () => {
      const { ratings, movies } = readMovieLens(DIR);
      expect(ratings).toHaveLength(100004);
      expect(movies.size).toBe(9125);
      const { train, hidden } = holdOutLatestLiked(ratings, { perUser: 5, minStars: 4 });
      expect(hidden.size).toBe(671);
      expect(train.length + [...hidden.values()].reduce((a, ms) => a + ms.length, 0)).toBe(100004);

      const users = userVectors(train, 32);
      const byRow = ratingsByRow(train, users.userIds);
      const seen = byRow.map((rs) => new Set(rs.map((x) => x.movieId)));
      const popular = popularity(train);

      const index = new AnnoyIndex(32, 'angular');
      users.vectors.forEach((v, row) => index.addItem(row, v));
      index.setSeed(42);
      index.build(10);
      let t = performance.now();
      const annoyNb = users.vectors.map((_, row) => {
        const { ids, distances } = index.getNnsByItem(row, 51, -1, true);
        return fromAngular(row, ids, distances, 50);
      });
      const annoyMs = performance.now() - t;
      t = performance.now();
      const exactNb = exactNeighbours(users.vectors, 50);
      const exactMs = performance.now() - t;

      const score = (lists: number[][]) => hitRate(new Map(users.userIds.map((u, row) => [u, lists[row]])), hidden);
      const viaNeighbours = (nb: typeof exactNb) => score(users.userIds.map((_, row) => recommend(seen[row], nb[row], byRow, popular, 10, 4).movieIds));
      const annoy = viaNeighbours(annoyNb);
      const exact = viaNeighbours(exactNb);
      const pop = score(seen.map((s) => topUnseen(popular.ranking, s, 10)));
      const recall = neighbourRecall(annoyNb, exactNb);
      const vsExact = compareHits(annoy, exact);
      const vsPop = compareHits(annoy, pop);
      console.log(
        `MovieLens, 671 users, 5 hidden each: hit-rate@10 annoy-ts ${(100 * annoy.hitRate).toFixed(1)}%, exact ${(100 * exact.hitRate).toFixed(1)}%, ` +
          `most rated ${(100 * pop.hitRate).toFixed(1)}%; neighbour recall ${(100 * recall).toFixed(1)}%; ` +
          `search ${annoyMs.toFixed(0)} ms (annoy-ts) vs ${exactMs.toFixed(0)} ms (exact)`,
      );
      expect(users.userIds).toHaveLength(671);
      expect(recall).toBeGreaterThan(0.85);
      // Same within noise: |difference| within 2 paired standard errors (and never more than 2 points).
      expect(Math.abs(vsExact.difference)).toBeLessThanOrEqual(Math.max(2 * vsExact.standardError, 0.005));
      expect(Math.abs(annoy.hitRate - exact.hitRate)).toBeLessThanOrEqual(0.02);
      // Clearly better than popularity: by more than 3 paired standard errors and 5 points.
      expect(vsPop.difference).toBeGreaterThan(3 * vsPop.standardError);
      expect(annoy.hitRate - pop.hitRate).toBeGreaterThan(0.05);
      expect(exact.hitRate - pop.hitRate).toBeGreaterThan(0.05);
      expect(annoy.recall).toBeGreaterThan(pop.recall);
    });
  },
);
