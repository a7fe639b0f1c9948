// The benchmark harness's own pure functions (bench/lib): recall, Pareto
// frontier, QPS-at-recall interpolation, option parsing and the report. The
// benchmark itself never runs under `npm test` (it is `npm run bench`).
import { describe, expect, it } from 'vitest';
import { fullConfig, parseArgs, quickConfig } from '../../bench/lib/config.ts';
import { paretoFrontier, qpsAtRecall, ratio } from '../../bench/lib/frontier.ts';
import { plotSpec, renderSvg } from '../../bench/lib/plot.ts';
import { computeRecall, distanceOver, exactDistance } from '../../bench/lib/recall.ts';
import { renderMarkdown } from '../../bench/lib/report.ts';
import type { PointRecord, ResultRecord } from '../../bench/lib/types.ts';

describe('exactDistance', () => {
  it('uses Annoy’s conventions', () => {
    const a = new Float32Array([1, 0, 3, 4]);
    const b = new Float32Array([0, 1, 0, 0]);
    expect(exactDistance('euclidean', a, 2, a, 0, 2)).toBeCloseTo(Math.hypot(2, 4), 12);
    expect(exactDistance('angular', a, 0, b, 0, 2)).toBeCloseTo(Math.SQRT2, 12); // orthogonal
    expect(exactDistance('angular', a, 0, new Float32Array([5, 0]), 0, 2)).toBe(0); // same direction
    expect(exactDistance('angular', a, 0, new Float32Array([0, 0]), 0, 2)).toBeCloseTo(Math.SQRT2, 12); // zero vector: cos = 0
  });
});

describe('computeRecall', () => {
  // One dimension, base items at 0, 1, 2, …, 9; the query at 0.
  const base = Float32Array.from({ length: 10 }, (_, i) => i);
  const queries = new Float32Array([0, 0]);
  const distance = distanceOver('euclidean', base, queries, 1);
  const gtK = 4;
  const gtIds = new Int32Array([0, 1, 2, 3, 0, 1, 2, 3]);
  const gtDistances = new Float32Array([0, 1, 2, 3, 0, 1, 2, 3]);

  it('counts returned true neighbours', () => {
    const r = computeRecall({ results: [[0, 1, 9], [3, 2, 1]], k: 3, gtIds, gtDistances, gtK, distance });
    // query 0: 0 and 1 of {0,1,2}; query 1: 2 and 1 of {0,1,2}
    expect(r.recallIds).toBeCloseTo(4 / 6, 12);
    expect(r.recall).toBeCloseTo(4 / 6, 12);
    expect(Array.from(r.hits)).toEqual([2, 2]);
  });

  it('counts duplicates once and scores short results lower', () => {
    const r = computeRecall({ results: [[0, 0, 0], [1]], k: 3, gtIds, gtDistances, gtK, distance });
    expect(r.recall).toBeCloseTo(2 / 6, 12);
  });

  it('accepts an item tied with the k-th neighbour (but not one beyond it)', () => {
    const tied = Float32Array.from([0, 1, 2, 3, 2, 9]); // item 4 is as far as item 2
    const dist = distanceOver('euclidean', tied, new Float32Array([0]), 1);
    const ids = new Int32Array([0, 1, 2, 4]);
    const d = new Float32Array([0, 1, 2, 2]);
    const withTie = computeRecall({ results: [[0, 1, 4]], k: 3, gtIds: ids, gtDistances: d, gtK: 4, distance: dist });
    expect(withTie.recall).toBe(1);
    expect(withTie.recallIds).toBeCloseTo(2 / 3, 12);
    const beyond = computeRecall({ results: [[0, 1, 3]], k: 3, gtIds: ids, gtDistances: d, gtK: 4, distance: dist });
    expect(beyond.recall).toBeCloseTo(2 / 3, 12);
  });

  it('ignores ids outside the base', () => {
    const r = computeRecall({ results: [[0, -1, 99]], k: 3, gtIds, gtDistances, gtK, distance });
    expect(r.recall).toBeCloseTo(1 / 3, 12);
  });
});

describe('paretoFrontier', () => {
  it('keeps the points nothing beats, by recall ascending', () => {
    const pts = [
      { recall: 0.5, qps: 1000 },
      { recall: 0.6, qps: 1200 }, // beats the first
      { recall: 0.9, qps: 300 },
      { recall: 0.8, qps: 250 }, // beaten by 0.9/300
      { recall: 0.9, qps: 200 }, // beaten by 0.9/300
      { recall: 0.99, qps: 50 },
      { recall: Number.NaN, qps: 1e9 },
    ];
    expect(paretoFrontier(pts)).toEqual([
      { recall: 0.6, qps: 1200 },
      { recall: 0.9, qps: 300 },
      { recall: 0.99, qps: 50 },
    ]);
  });
});

describe('qpsAtRecall', () => {
  const frontier = [
    { recall: 0.6, qps: 1000 },
    { recall: 0.9, qps: 100 },
    { recall: 0.99, qps: 10 },
  ];
  it('interpolates log-QPS linearly in recall', () => {
    expect(qpsAtRecall(frontier, 0.75)!.qps).toBeCloseTo(Math.sqrt(1000 * 100), 9);
    expect(qpsAtRecall(frontier, 0.9)).toEqual({ qps: 100, kind: 'interpolated' });
    expect(qpsAtRecall(frontier, 0.99)).toEqual({ qps: 10, kind: 'interpolated' });
  });
  it('is a lower bound below the frontier and missing above it', () => {
    expect(qpsAtRecall(frontier, 0.5)).toEqual({ qps: 1000, kind: 'lower-bound' });
    expect(qpsAtRecall(frontier, 0.995)).toBeNull();
    expect(qpsAtRecall([], 0.5)).toBeNull();
  });
  it('ratio marks approximations', () => {
    expect(ratio({ qps: 30, kind: 'interpolated' }, { qps: 20, kind: 'interpolated' })).toEqual({ value: 1.5, approximate: false });
    expect(ratio({ qps: 30, kind: 'lower-bound' }, { qps: 20, kind: 'interpolated' })!.approximate).toBe(true);
    expect(ratio(null, { qps: 20, kind: 'interpolated' })).toBeNull();
  });
});

describe('parseArgs', () => {
  it('full, quick and custom runs', () => {
    expect(parseArgs([])).toEqual(fullConfig());
    expect(parseArgs(['--quick'])).toEqual(quickConfig());
    const c = parseArgs(['--quick', '--datasets', 'glove', '--libs', 'annoy-ts,annoy-native', '--trees', '5,7'])!;
    expect(c.mode).toBe('custom');
    expect(c.out).toBe('custom');
    expect(c.datasets).toEqual(['glove-100-angular']);
    expect(c.libraries).toEqual(['annoy-ts', 'annoy-native']);
    expect(c.nTrees).toEqual([5, 7]);
    expect(c.baseLimit['glove-100-angular']).toBe(50_000);
    expect(parseArgs(['--out', 'mine'])!.out).toBe('mine');
  });
  it('rejects nonsense', () => {
    expect(() => parseArgs(['--libs', 'faiss'])).toThrow(/unknown library/);
    expect(() => parseArgs(['--trees', '0'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--queries', '20000'])).toThrow(/≤ 10000/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});

describe('report', () => {
  const point = (library: PointRecord['library'], searchK: number, recall: number, qps: number): PointRecord => ({
    type: 'point',
    library,
    dataset: 'glove-100-angular',
    params: { nTrees: 10, searchK },
    series: `${library} nTrees=10`,
    k: 10,
    queries: 1000,
    recall,
    recallIds: recall,
    qps,
    qpsMedian: qps,
    qpsCpu: qps,
    passSeconds: [1000 / qps],
    passCpuSeconds: [1000 / qps],
    buildSeconds: 10,
    indexBytes: 100e6,
    loadSeconds: 0.05,
    loadSecondsPerGB: 0.5,
    firstPassSeconds: 0.2,
    peakRssBytes: 200e6,
    rssBeforeLoadBytes: 80e6,
    buildPeakRssBytes: 300e6,
    loadAverage: [1, 1, 1],
  });
  const records: ResultRecord[] = [
    {
      type: 'dataset',
      dataset: 'glove-100-angular',
      metric: 'angular',
      dim: 100,
      nBase: 1000,
      nBaseFull: 1000,
      nQueries: 1000,
      k: 10,
      groundTruthSeconds: 1,
      groundTruthComputedQueries: 1000,
      groundTruthSource: 'test',
      loadSeconds: 0,
    },
    ...(['annoy-ts', 'annoy-binding'] as const).map(
      (library) =>
        ({ type: 'build', library, dataset: 'glove-100-angular', params: { nTrees: 10 }, buildSeconds: library === 'annoy-ts' ? 5 : 10, buildCpuSeconds: null, addSeconds: 1, saveSeconds: 1, indexBytes: 100e6, buildPeakRssBytes: null, loadAverage: [] }) as ResultRecord,
    ),
    point('annoy-ts', 100, 0.7, 2000),
    point('annoy-ts', 1000, 0.92, 400),
    point('annoy-binding', 100, 0.7, 1000),
    point('annoy-binding', 1000, 0.92, 200),
  ];

  it('tabulates QPS at recall and the ratios', () => {
    const md = renderMarkdown(records, 'latest');
    expect(md).toMatch(/\| annoy-ts \| 10 \| [\d,]+ \| [\d,]+ \| — \| — \| 0\.9200 \| 2 \|/);
    expect(md).toContain('| 10 | 2.00× | 2.00× | — | — |');
    expect(md).toContain('build time ≤ the C++ binding’s, same nTrees (worst ratio; wall, and CPU time) | 0.50× (nTrees 10) ✓');
  });

  it('renders a plot headless', async () => {
    const svg = await renderSvg(plotSpec(records.filter((r): r is PointRecord => r.type === 'point'), { title: 't', subtitle: [] }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('annoy-ts');
  });
});
