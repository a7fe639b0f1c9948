// Scoring recommendations against the hidden movies, and comparing two recommenders on the same users.

export interface HitRate {
  /** Users with at least one hidden movie (the ones scored). */
  users: number;
  /** Of those, the users with at least one hidden movie among their recommendations. */
  usersHit: number;
  /** usersHit / users: hit-rate@n. */
  hitRate: number;
  /** All hidden movies, and how many of them were recommended. */
  hidden: number;
  hits: number;
  /** hits / hidden: recall@n. */
  recall: number;
  /** Per scored user (in the order of `hidden`): hit or not. */
  hit: boolean[];
}

/**
 * Hit-rate@n: the share of users for whom at least one of their hidden movies is among the n movies
 * recommended to them (n = the length of each list). `recommended` maps userId → movieIds; users
 * without hidden movies are not scored, and a scored user without recommendations counts as a miss.
 */
export function hitRate(recommended: ReadonlyMap<number, readonly number[]>, hidden: ReadonlyMap<number, readonly number[]>): HitRate {
  let users = 0, usersHit = 0, hiddenCount = 0, hits = 0;
  const hit: boolean[] = [];
  for (const [userId, movies] of hidden) {
    if (movies.length === 0) continue;
    const recs = new Set(recommended.get(userId) ?? []);
    const h = movies.filter((m) => recs.has(m)).length;
    users++;
    hiddenCount += movies.length;
    hits += h;
    if (h > 0) usersHit++;
    hit.push(h > 0);
  }
  return { users, usersHit, hitRate: users ? usersHit / users : NaN, hidden: hiddenCount, hits, recall: hiddenCount ? hits / hiddenCount : NaN, hit };
}

/**
 * Two recommenders on the same users: how many users only A hits, only B hits, and the standard
 * error of the difference of their hit-rates (paired: √(onlyA + onlyB) / users, McNemar's). A
 * difference within about two standard errors is noise.
 */
export function compareHits(a: HitRate, b: HitRate): { onlyA: number; onlyB: number; difference: number; standardError: number } {
  if (a.hit.length !== b.hit.length) throw new Error(`${a.hit.length} users against ${b.hit.length}`);
  let onlyA = 0, onlyB = 0;
  a.hit.forEach((h, i) => {
    if (h && !b.hit[i]) onlyA++;
    if (!h && b.hit[i]) onlyB++;
  });
  const n = a.hit.length;
  return { onlyA, onlyB, difference: (onlyA - onlyB) / n, standardError: Math.sqrt(onlyA + onlyB) / n };
}

/** The mean share of the exact neighbours that the approximate search found too (recall of the neighbour search). */
export function neighbourRecall(approximate: readonly { rows: readonly number[] }[], exact: readonly { rows: readonly number[] }[]): number {
  let sum = 0;
  exact.forEach((e, i) => {
    const found = new Set(approximate[i].rows);
    sum += e.rows.length ? e.rows.filter((r) => found.has(r)).length / e.rows.length : 1;
  });
  return sum / exact.length;
}
