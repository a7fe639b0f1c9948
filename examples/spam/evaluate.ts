// Scoring nearest-label predictions, and the exact (brute-force) nearest neighbour to compare with.
import type { Label } from './data.ts';

export interface Scores {
  /** Correct predictions / all predictions. */
  accuracy: number;
  /** Of the true spam, the share predicted spam. */
  spamRecall: number;
  /** Of the predicted spam, the share that is spam (NaN when nothing was predicted spam). */
  spamPrecision: number;
  correct: number;
  total: number;
}

export function score(truth: readonly Label[], predicted: readonly Label[]): Scores {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  let correct = 0, tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] === predicted[i]) correct++;
    if (predicted[i] === 'spam' && truth[i] === 'spam') tp++;
    if (predicted[i] === 'spam' && truth[i] === 'ham') fp++;
    if (predicted[i] === 'ham' && truth[i] === 'spam') fn++;
  }
  return { accuracy: correct / truth.length, spamRecall: tp / (tp + fn), spamPrecision: tp / (tp + fp), correct, total: truth.length };
}

/** The label every query gets from the majority-class baseline: the most common label among `labels`. */
export function majorityLabel(labels: readonly Label[]): Label {
  const spam = labels.filter((l) => l === 'spam').length;
  return spam * 2 > labels.length ? 'spam' : 'ham';
}

/**
 * Exact search by inner product: the ids of the n items of `items` (count × dim, row-major) with
 * the largest dot product with `query`, best first, ties to the lower id. On unit vectors this is
 * also the exact cosine (angular) ranking.
 */
export function exactNearestByDot(items: Float32Array, dim: number, query: ArrayLike<number>, n = 1): number[] {
  const count = items.length / dim;
  const best: { id: number; s: number }[] = [];
  for (let i = 0; i < count; i++) {
    let s = 0;
    const o = i * dim;
    for (let k = 0; k < dim; k++) s += items[o + k] * query[k];
    if (best.length < n || s > best[best.length - 1].s) {
      let j = best.length;
      while (j > 0 && best[j - 1].s < s) j--;
      best.splice(j, 0, { id: i, s });
      if (best.length > n) best.pop();
    }
  }
  return best.map((b) => b.id);
}
