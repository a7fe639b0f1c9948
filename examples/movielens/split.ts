// The held-out split: for every user, hide their most recent ratings of 4 stars or more.
//
// This mimics "what will they watch, and like, next?": the recommender sees everything else
// (including other users' ratings from any time), and must put the hidden movies among its 10
// picks for that user. A user with fewer liked movies than `perUser` has all of them hidden (the
// user still has the rest of their ratings, at least 20 - perUser of them in ml-latest-small).
import type { Rating } from './data.ts';

export interface SplitOptions {
  /** How many of each user's liked ratings to hide (default 5). */
  perUser?: number;
  /** "Liked" means rating ≥ minStars (default 4). */
  minStars?: number;
}

export interface Split {
  /** Every rating that is not hidden, in the input order. */
  train: Rating[];
  /** userId → the hidden movieIds, most recent first. Every user of the input is a key (maybe with no movies). */
  hidden: Map<number, number[]>;
}

/**
 * Hide each user's `perUser` most recent ratings ≥ `minStars`. "Most recent" orders by timestamp,
 * later first; equal timestamps (several ratings in the same second) order by movieId, higher first,
 * so the split is a function of the data alone.
 */
export function holdOutLatestLiked(ratings: readonly Rating[], options: SplitOptions = {}): Split {
  const perUser = options.perUser ?? 5, minStars = options.minStars ?? 4;
  if (!Number.isInteger(perUser) || perUser < 0) throw new Error(`perUser must be a non-negative integer, got ${perUser}`);
  const liked = new Map<number, Rating[]>();
  for (const r of ratings) {
    if (!liked.has(r.userId)) liked.set(r.userId, []);
    if (r.rating >= minStars) liked.get(r.userId)!.push(r);
  }
  const hidden = new Map<number, number[]>();
  const hiddenKeys = new Set<string>();
  for (const [userId, rs] of liked) {
    const latest = [...rs].sort((a, b) => b.timestamp - a.timestamp || b.movieId - a.movieId).slice(0, perUser);
    hidden.set(userId, latest.map((r) => r.movieId));
    for (const r of latest) hiddenKeys.add(`${userId}:${r.movieId}`);
  }
  const train = ratings.filter((r) => !hiddenKeys.has(`${r.userId}:${r.movieId}`));
  return { train, hidden };
}
