// The demo's queries, shared by the page (web/demo/app.ts) and the Node side of test/web.test.ts so
// both run exactly the same calls on the same index file.
import type { AnnoyIndex } from 'annoy-ts';

export interface Neighbour {
  id: number;
  word: string;
  /** Annoy's angular distance, sqrt(2 − 2·cos). */
  distance: number;
}

/** Cosine similarity from Annoy's angular distance. */
export function cosineOf(distance: number): number {
  return 1 - (distance * distance) / 2;
}

/** A lookup from word to item id; a word that appears twice keeps its first (most frequent) id. */
export function wordIds(words: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  words.forEach((w, i) => {
    if (!ids.has(w)) ids.set(w, i);
  });
  return ids;
}

/** The words nearest to item `id`, without the word itself. */
export function nearestWords(index: AnnoyIndex, words: readonly string[], id: number, count: number, searchK: number): Neighbour[] {
  const { ids, distances } = index.getNnsByItem(id, count + 1, searchK, true);
  return pick(ids, distances, words, new Set([id]), count);
}

/** unit(a) − unit(b) + unit(c): the "a is to b as ? is to c" query vector (3CosAdd). */
export function analogyVector(index: AnnoyIndex, a: number, b: number, c: number): number[] {
  const [va, vb, vc] = [a, b, c].map((id) => unit(index.getItemVector(id)));
  return va.map((x, k) => x - vb[k] + vc[k]);
}

/** Answers to "a − b + c", without the three input words. */
export function analogy(index: AnnoyIndex, words: readonly string[], a: number, b: number, c: number, count: number, searchK: number): Neighbour[] {
  const exclude = new Set([a, b, c]);
  const { ids, distances } = index.getNnsByVector(analogyVector(index, a, b, c), count + exclude.size, searchK, true);
  return pick(ids, distances, words, exclude, count);
}

function pick(ids: number[], distances: number[], words: readonly string[], exclude: Set<number>, count: number): Neighbour[] {
  const out: Neighbour[] = [];
  for (let k = 0; k < ids.length && out.length < count; k++) {
    if (!exclude.has(ids[k])) out.push({ id: ids[k], word: words[ids[k]], distance: distances[k] });
  }
  return out;
}

function unit(v: number[]): number[] {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  return v.map((x) => x * inv);
}
