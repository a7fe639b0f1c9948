// Quality on real data: 50,000 GloVe-derived word vectors, angular, 10 trees, searchK 3000.
// Our recall@10 against exact search must be no worse than real Annoy's (npm `annoy`) by more than 0.01.
import { describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { loadGlove } from '../../datasets/glove.ts';
import { annoyBinding, bindingUnavailable } from '../helpers/annoy-binding.ts';
import { recall } from '../helpers/exact.ts';
import { skipWithout } from '../helpers/requirements.ts';

const binding = annoyBinding();
const N = 50_000, DIM = 100, QUERIES = 300;

describe.skipIf(skipWithout(!!binding, bindingUnavailable))(`GloVe 50k recall vs C++ Annoy ${bindingUnavailable}`, () => {
  it('recall@10 at 10 trees, searchK 3000 is no worse than Annoy\'s', async () => {
    const glove = await loadGlove({ quiet: true });
    // A spread-out sample of the vocabulary (not just the most frequent words).
    const rows = Array.from({ length: N }, (_, i) => Math.floor((i * glove.count) / N));
    const vec = (r: number) => glove.vectors.subarray(rows[r] * DIM, (rows[r] + 1) * DIM);
    const queryRows = Array.from({ length: QUERIES }, (_, q) => (q * 7919) % N);
    const queryVector = (q: number) => Array.from(vec(queryRows[q]), (x, k) => x + 0.05 * Math.sin(q + k));

    const unit = new Float64Array(N * DIM);
    for (let r = 0; r < N; r++) {
      const v = vec(r);
      let s = 0;
      for (let k = 0; k < DIM; k++) s += v[k] * v[k];
      for (let k = 0; k < DIM; k++) unit[r * DIM + k] = v[k] / Math.sqrt(s || 1);
    }
    const truth = Array.from({ length: QUERIES }, (_, q) => {
      const qv = queryVector(q);
      const qn = Math.sqrt(qv.reduce((a, x) => a + x * x, 0));
      const scores = new Float64Array(N);
      for (let r = 0; r < N; r++) {
        let s = 0;
        for (let k = 0; k < DIM; k++) s += unit[r * DIM + k] * qv[k];
        scores[r] = s / qn;
      }
      return Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, 10);
    });

    const ours = new AnnoyIndex(DIM, 'angular');
    const theirs = binding!(DIM, 'angular');
    for (let r = 0; r < N; r++) {
      ours.addItem(r, vec(r));
      theirs.addItem(r, Array.from(vec(r)));
    }
    ours.build(10, 1);
    theirs.build(10);
    let oursRecall = 0, theirsRecall = 0;
    for (let q = 0; q < QUERIES; q++) {
      oursRecall += recall(ours.getNnsByVector(queryVector(q), 10, 3000), truth[q]);
      theirsRecall += recall(theirs.getNNsByVector(queryVector(q), 10, 3000, false), truth[q]);
    }
    oursRecall /= QUERIES;
    theirsRecall /= QUERIES;
    console.log(`recall@10 (50k GloVe, 10 trees, searchK 3000): annoy-ts ${oursRecall.toFixed(3)}, C++ Annoy ${theirsRecall.toFixed(3)}`);
    expect(oursRecall).toBeGreaterThan(0.5);
    expect(oursRecall).toBeGreaterThanOrEqual(theirsRecall - 0.01);
  });
});
