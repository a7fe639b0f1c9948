// Reading MovieLens ml-latest-small: ratings.csv and movies.csv → typed rows.
//
// Both files are UTF-8 with one header row; fields with commas are quoted (RFC 4180), e.g.
// `11,"American President, The (1995)",Comedy|Drama|Romance`.
//
//   ratings.csv  userId,movieId,rating,timestamp   (half stars 0.5–5; seconds since 1970, UTC)
//   movies.csv   movieId,title,genres              (genres separated by "|")
//
// The copy in ../shared/data has been through a spreadsheet: ratings.csv carries four unnamed,
// empty columns after `timestamp` (header `userId,movieId,rating,timestamp,,,,`), and two rows
// hold stray numbers there (`1,1129,2,1260759185,,3.450819672,,3.543608256`). Only the four named
// columns are data; whatever stands in unnamed columns is ignored. Anything else unexpected (a
// wrong header, a rating off the half-star scale, a non-integer id, the same user rating the same
// movie twice) throws, naming the line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

export interface Rating {
  userId: number;
  movieId: number;
  /** 0.5, 1, …, 5 */
  rating: number;
  /** Seconds since 1970-01-01 UTC. */
  timestamp: number;
}

export interface Movie {
  movieId: number;
  /** As in the file, with the year in parentheses, e.g. "Usual Suspects, The (1995)". */
  title: string;
  /** Empty for "(no genres listed)". */
  genres: string[];
}

export interface MovieLens {
  ratings: Rating[];
  /** By movieId. */
  movies: Map<number, Movie>;
}

function rows(text: string, expected: readonly string[], file: string): string[][] {
  const all = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  const [header, ...body] = all;
  const named = header?.slice(0, expected.length);
  if (named === undefined || named.join(',') !== expected.join(',') || header.slice(expected.length).some((h) => h.trim() !== '')) {
    throw new Error(`${file}: expected the header "${expected.join(',')}" (then only unnamed columns), got ${JSON.stringify(header)}`);
  }
  body.forEach((row, r) => {
    if (row.length < expected.length) throw new Error(`${file} line ${r + 2}: ${row.length} fields, expected ${expected.length}`);
  });
  return body;
}

function integer(cell: string, what: string, where: string): number {
  if (!/^\d+$/.test(cell)) throw new Error(`${where}: ${what} must be a non-negative integer, got ${JSON.stringify(cell)}`);
  return Number(cell);
}

/** Parse the text of ratings.csv. */
export function parseRatingsCsv(text: string): Rating[] {
  const seen = new Set<string>();
  return rows(text, ['userId', 'movieId', 'rating', 'timestamp'], 'ratings.csv').map((row, r) => {
    const where = `ratings.csv line ${r + 2}`;
    const userId = integer(row[0], 'userId', where);
    const movieId = integer(row[1], 'movieId', where);
    const rating = Number(row[2]);
    if (row[2].trim() === '' || !(rating >= 0.5 && rating <= 5 && Number.isInteger(rating * 2))) {
      throw new Error(`${where}: rating must be 0.5, 1, …, 5, got ${JSON.stringify(row[2])}`);
    }
    const timestamp = integer(row[3], 'timestamp', where);
    const key = `${userId}:${movieId}`;
    if (seen.has(key)) throw new Error(`${where}: user ${userId} rated movie ${movieId} a second time`);
    seen.add(key);
    return { userId, movieId, rating, timestamp };
  });
}

/** Parse the text of movies.csv. */
export function parseMoviesCsv(text: string): Map<number, Movie> {
  const movies = new Map<number, Movie>();
  rows(text, ['movieId', 'title', 'genres'], 'movies.csv').forEach((row, r) => {
    const where = `movies.csv line ${r + 2}`;
    const movieId = integer(row[0], 'movieId', where);
    if (movies.has(movieId)) throw new Error(`${where}: movie ${movieId} listed a second time`);
    const genres = row[2] === '(no genres listed)' || row[2] === '' ? [] : row[2].split('|');
    movies.set(movieId, { movieId, title: row[1], genres });
  });
  return movies;
}

/** Read ratings.csv and movies.csv from `dir`. Throws if a rated movie is missing from movies.csv. */
export function readMovieLens(dir: string): MovieLens {
  const ratings = parseRatingsCsv(readFileSync(join(dir, 'ratings.csv'), 'utf8'));
  const movies = parseMoviesCsv(readFileSync(join(dir, 'movies.csv'), 'utf8'));
  const unknown = ratings.find((r) => !movies.has(r.movieId));
  if (unknown !== undefined) throw new Error(`${dir}: movie ${unknown.movieId} is rated but not in movies.csv`);
  return { ratings, movies };
}
