// Recommendations with Annoy, the tutorial's other use: "find the people whose lists are most
// like mine and recommend what they saw that I did not".
//
// Every MovieLens user becomes a vector (ratings centred on the user's mean, projected to 32
// dimensions by a truncated SVD: see vectors.ts). The vectors go into an Annoy index (angular
// metric, 10 trees). For each user, the index finds the 50 most similar users, and the 10 movies
// the user has not rated that those neighbours liked most (similarity-weighted) are recommended.
//
// Evaluation: each user's 5 most recent ratings of 4 stars or more are hidden before anything is
// learnt (split.ts); a user is a hit when one of their hidden movies is among their 10. The same
// is done with exact (brute-force) neighbour search, and with the most popular unseen movies.
//
//   npm run example:movielens                              # reads ../shared/data/movielens-small
//   npm run example:movielens -- path/to/ml-latest-small   # a folder with ratings.csv and movies.csv
//   npm run example:movielens -- --users 1,42,99           # show these users' recommendations
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AnnoyIndex } from 'annoy-ts';
import { type Rating, readMovieLens } from './data.ts';
import { type HitRate, compareHits, hitRate, neighbourRecall } from './evaluate.ts';
import { type Neighbours, exactNeighbours, fromAngular, popularity, ratingsByRow, recommend, topUnseen } from './neighbours.ts';
import { holdOutLatestLiked } from './split.ts';
import { userVectors } from './vectors.ts';

const HIDDEN_PER_USER = 5; // each user's 5 most recent ratings ≥ LIKED are hidden
const LIKED = 4; // stars
const DIM = 32; // SVD dimensions
const NEIGHBOURS = 50; // similar users asked for
const N = 10; // recommendations per user
const TREES = 10;
const SEED = 42;
const REPEATS = 7; // timed runs of each search; the median is reported
const DEFAULT_DIR = fileURLToPath(new URL('../../../shared/data/movielens-small', import.meta.url));

const { positionals, values } = parseArgs({ allowPositionals: true, options: { users: { type: 'string' } } });
const dir = positionals[0] !== undefined ? resolve(positionals[0]) : DEFAULT_DIR;

const int = (x: number) => x.toLocaleString('en');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

// 1. Data and the held-out split ---------------------------------------------------------------
const { ratings, movies } = readMovieLens(dir);
const rated = new Set(ratings.map((r) => r.movieId));
const allUsers = new Set(ratings.map((r) => r.userId));
const times = ratings.map((r) => r.timestamp);
console.log(
  `MovieLens ml-latest-small (${dir}): ${int(ratings.length)} ratings by ${allUsers.size} users of ${int(rated.size)} movies ` +
    `(${int(movies.size)} in movies.csv), ${day(Math.min(...times))} to ${day(Math.max(...times))}`,
);
const { train, hidden } = holdOutLatestLiked(ratings, { perUser: HIDDEN_PER_USER, minStars: LIKED });
const hiddenCount = [...hidden.values()].reduce((a, ms) => a + ms.length, 0);
const fewer = [...hidden.values()].filter((ms) => ms.length < HIDDEN_PER_USER).length;
console.log(
  `hidden: each user's ${HIDDEN_PER_USER} most recent ratings of ${LIKED}+ stars, ${int(hiddenCount)} in all ` +
    `(${fewer} users liked fewer than ${HIDDEN_PER_USER} movies: all of theirs are hidden); ${int(train.length)} ratings left to learn from`,
);

// 2. User vectors ------------------------------------------------------------------------------
let t = performance.now();
const users = userVectors(train, DIM);
const vectorSeconds = (performance.now() - t) / 1000;
const zero = users.userIds.filter((_, i) => users.vectors[i].every((x) => x === 0));
console.log(
  `user vectors: ratings centred on each user's mean, truncated SVD to ${DIM} dimensions (they keep ${pct(users.explained)} of the ` +
    `centred ratings' sum of squares), in ${vectorSeconds.toFixed(1)} s` +
    (zero.length ? `; ${zero.length} user(s) (${zero.join(', ')}) with all training ratings equal have a zero vector, so no neighbours: popular movies instead` : ''),
);

// 3. Neighbours: exact, and from annoy-ts indexes ----------------------------------------------
const n = users.vectors.length;
const index = new AnnoyIndex(DIM, 'angular');
users.vectors.forEach((v, row) => index.addItem(row, v));
index.setSeed(SEED);
t = performance.now();
index.build(TREES);
const buildMs = performance.now() - t;

/** The NEIGHBOURS nearest other users of every user, from the index (searchK -1: Annoy's default, (NEIGHBOURS + 1) × trees). */
const fromIndex = (searchK: number): Neighbours[] =>
  users.vectors.map((_, row) => {
    const { ids, distances } = index.getNnsByItem(row, NEIGHBOURS + 1, searchK, true);
    return fromAngular(row, ids, distances, NEIGHBOURS);
  });
const EXACT = 0, ANNOY = 1; // the first two searches: the ones compared
const searches: { name: string; run: () => Neighbours[] }[] = [
  { name: 'exact search (brute force)', run: () => exactNeighbours(users.vectors, NEIGHBOURS) },
  { name: `annoy-ts, ${TREES} trees`, run: () => fromIndex(-1) },
  { name: `annoy-ts, ${TREES} trees, searchK 200`, run: () => fromIndex(200) },
  { name: `annoy-ts, ${TREES} trees, searchK ${int(n * TREES)} (all)`, run: () => fromIndex(n * TREES) },
];
// Interleaved, so that a busy moment of the machine hits every search alike.
const ms: number[][] = searches.map(() => []);
const found: Neighbours[][] = [];
for (let r = 0; r < REPEATS; r++) {
  searches.forEach((s, i) => {
    const t0 = performance.now();
    found[i] = s.run();
    ms[i].push(performance.now() - t0);
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

// 4. Recommendations and hit-rates -------------------------------------------------------------
const byRow = ratingsByRow(train, users.userIds);
const seen = byRow.map((rs) => new Set(rs.map((r) => r.movieId)));
const mostRated = popularity(train);
const mostLiked = popularity(train, LIKED);
const recommendAll = (neighbours: Neighbours[]) => users.userIds.map((_, row) => recommend(seen[row], neighbours[row], byRow, mostRated, N, LIKED));
const asMap = (lists: number[][]) => new Map(users.userIds.map((u, row) => [u, lists[row]]));

interface Row {
  name: string;
  score: HitRate;
  recall: number | null;
  buildMs: number | null;
  searchMs: number | null;
}
const rows: Row[] = [];
for (const [name, popular] of [['popularity: most rated', mostRated], [`popularity: most often rated ${LIKED}+`, mostLiked]] as const) {
  const score = hitRate(asMap(seen.map((s) => topUnseen(popular.ranking, s, N))), hidden);
  rows.push({ name, score, recall: null, buildMs: null, searchMs: null });
}
const recommendations = found.map(recommendAll);
searches.forEach((s, i) => {
  rows.push({
    name: `${NEIGHBOURS} nearest users, ${s.name}`,
    score: hitRate(asMap(recommendations[i].map((r) => r.movieIds)), hidden),
    recall: neighbourRecall(found[i], found[EXACT]),
    buildMs: i === EXACT ? null : buildMs,
    searchMs: median(ms[i]),
  });
});

const header = ['recommender', 'hit-rate@10', 'recall@10', 'neighbours as exact', 'build', `search, ${n} users`, 'per user'];
const body = rows.map((r) => [
  r.name,
  `${pct(r.score.hitRate)} (${r.score.usersHit}/${r.score.users})`,
  `${pct(r.score.recall)} (${r.score.hits}/${r.score.hidden})`,
  r.recall === null ? '—' : pct(r.recall),
  r.buildMs === null ? '—' : `${r.buildMs.toFixed(0)} ms`,
  r.searchMs === null ? '—' : `${r.searchMs.toFixed(1)} ms`,
  r.searchMs === null ? '—' : `${((1000 * r.searchMs) / n).toFixed(0)} µs`,
]);
const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
const line = (cells: string[]) => `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(' | ')} |`;
console.log(`\n${line(header)}`);
console.log(`|${widths.map((w, c) => (c === 0 ? ':' : '') + '-'.repeat(w + 1) + (c === 0 ? '' : ':')).join('|')}|`);
for (const b of body) console.log(line(b));

const [exactRow, annoyRow] = [rows[2 + EXACT], rows[2 + ANNOY]]; // after the two popularity rows
const vsExact = compareHits(annoyRow.score, exactRow.score), vsPop = compareHits(exactRow.score, rows[0].score);
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} points`;
const filled = recommendations[ANNOY].filter((r) => r.filled > 0).length;
const speedup = exactRow.searchMs! / annoyRow.searchMs!;
console.log(
  `\nhit-rate@10: a user is a hit when one of their ${HIDDEN_PER_USER} hidden movies is among their ${N}; recall@10: the share of hidden movies recommended.\n` +
    `neighbours as exact: the share of the exact ${NEIGHBOURS} nearest users that the search found. Search times: median of ${REPEATS} interleaved runs, ` +
    `all ${n} users (getNnsByItem(u, ${NEIGHBOURS + 1}), itself dropped) on a shared 2-core machine.\n` +
    `annoy-ts (${TREES} trees) vs exact: ${points(vsExact.difference)} (${vsExact.onlyA} users hit only with the index, ${vsExact.onlyB} only with exact search; ` +
    `standard error of the difference ${(100 * vsExact.standardError).toFixed(1)} points): ` +
    `${Math.abs(vsExact.difference) <= 2 * vsExact.standardError ? 'the same within noise' : 'MORE than noise apart'}, ` +
    `${speedup >= 1 ? `${speedup.toFixed(1)}× faster` : `${(1 / speedup).toFixed(1)}× SLOWER`}.\n` +
    `exact vs most rated: ${points(vsPop.difference)} (standard error ${(100 * vsPop.standardError).toFixed(1)} points). ` +
    `${filled} user(s) got popular movies to fill a list that their neighbours could not.`,
);

// 5. A few users' recommendations, with titles -------------------------------------------------
// A light, a median and a heavy rater (25th, 50th and 75th percentile of the number of ratings), unless --users says otherwise.
const byCount = users.userIds.map((u, row) => ({ u, count: byRow[row].length + (hidden.get(u)?.length ?? 0) })).sort((a, b) => a.count - b.count || a.u - b.u);
const shown = values.users !== undefined ? values.users.split(',').map(Number) : [0.25, 0.5, 0.75].map((q) => byCount[Math.floor(q * (byCount.length - 1))].u);
const title = (m: number) => movies.get(m)?.title ?? `movie ${m}`;
for (const userId of shown) {
  const row = users.userIds.indexOf(userId);
  if (row < 0) {
    console.log(`\nuser ${userId}: not in the data`);
    continue;
  }
  const mine = byRow[row];
  const favourites = [...mine].sort((a: Rating, b: Rating) => b.rating - a.rating || b.timestamp - a.timestamp).slice(0, 5);
  const hiddenIds = hidden.get(userId) ?? [];
  const recs = recommendations[ANNOY][row];
  const nb = found[ANNOY][row];
  const likedBy = (m: number) => nb.rows.filter((v) => byRow[v].some((r) => r.movieId === m && r.rating >= LIKED)).length;
  console.log(`\nuser ${userId}: ${mine.length} ratings to learn from (mean ${users.means[row].toFixed(2)} stars); nearest users ${nb.rows.slice(0, 3).map((v, i) => `${users.userIds[v]} (cos ${nb.sims[i].toFixed(2)})`).join(', ')}, …`);
  console.log(`  rated highest: ${favourites.map((r) => `${title(r.movieId)} ${r.rating}★`).join('; ')}`);
  console.log(`  hidden (liked later): ${hiddenIds.map(title).join('; ') || '—'}`);
  console.log(`  recommended:`);
  recs.movieIds.forEach((m, i) => {
    const mark = hiddenIds.includes(m) ? '✓ hidden' : '';
    const source = i >= N - recs.filled ? '(popular)' : `liked by ${likedBy(m)} of the ${NEIGHBOURS}`;
    console.log(`   ${String(i + 1).padStart(2)}. ${title(m)}  ${source}  ${mark}`.trimEnd());
  });
}
