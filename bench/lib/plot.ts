/**
 * Recall–QPS plots in the style of ann-benchmarks: one SVG per dataset, each
 * configuration's Pareto frontier as a line, QPS on a log scale. Drawn with
 * vega-lite (compiled to vega) and rendered headless to SVG.
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { paretoFrontier } from './frontier.ts';
import { LIBRARIES, LIBRARY_LABEL, type LibraryName, type PointRecord } from './types.ts';

/** Frontier points below this recall are left off the plot (they only compress the interesting part). */
export const PLOT_MIN_RECALL = 0.4;

const COLORS: Record<LibraryName, string> = {
  'annoy-ts': '#d62728',
  'annoy-binding': '#1f77b4',
  'annoy-native': '#2ca02c',
  hnswlib: '#7f7f7f',
};

export function configLabel(p: PointRecord): string {
  return p.library === 'hnswlib' ? `M=${p.params['M']}, efC=${p.params['efConstruction']}` : `${p.params['nTrees']} trees`;
}

export interface PlotOptions {
  title: string;
  subtitle: string[];
}

/** The vega-lite spec (exported for tests and for anyone who wants to restyle it). */
export function plotSpec(points: readonly PointRecord[], opts: PlotOptions): vegaLite.TopLevelSpec {
  const bySeries = new Map<string, PointRecord[]>();
  for (const p of points) {
    const list = bySeries.get(p.series) ?? [];
    list.push(p);
    bySeries.set(p.series, list);
  }
  const rows: Record<string, unknown>[] = [];
  for (const list of bySeries.values()) {
    for (const p of paretoFrontier(list)) {
      if (p.recall < PLOT_MIN_RECALL) continue;
      rows.push({
        library: LIBRARY_LABEL[p.library],
        config: configLabel(p),
        series: p.series,
        recall: p.recall,
        qps: p.qps,
        param: p.library === 'hnswlib' ? `ef=${p.params['ef']}` : `searchK=${p.params['searchK']}`,
      });
    }
  }
  const libs = LIBRARIES.filter((l) => points.some((p) => p.library === l));
  const configs = [...new Set(points.map(configLabel))].sort((a, b) => (parseInt(a, 10) || 1e9) - (parseInt(b, 10) || 1e9));
  const qpsValues = rows.map((r) => r['qps'] as number);
  const minRecall = rows.length ? Math.min(...rows.map((r) => r['recall'] as number)) : PLOT_MIN_RECALL;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title, subtitle: opts.subtitle, anchor: 'start', fontSize: 15, subtitleFontSize: 11 },
    width: 720,
    height: 440,
    background: 'white',
    data: { values: rows },
    mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 1.8, interpolate: 'linear' },
    encoding: {
      x: {
        field: 'recall',
        type: 'quantitative',
        title: 'recall@10',
        scale: { domain: [Math.max(0, Math.floor(minRecall * 20 - 0.5) / 20), 1], nice: false },
        axis: { format: '.2f', tickCount: 12 },
      },
      y: {
        field: 'qps',
        type: 'quantitative',
        title: 'queries per second (log scale, one thread)',
        scale: { type: 'log', ...(qpsValues.length ? { domain: [Math.min(...qpsValues) / 1.3, Math.max(...qpsValues) * 1.3] } : {}) },
        axis: { format: '~s', grid: true },
      },
      color: {
        field: 'library',
        type: 'nominal',
        title: 'library',
        scale: { domain: libs.map((l) => LIBRARY_LABEL[l]), range: libs.map((l) => COLORS[l]) },
      },
      strokeDash: {
        field: 'config',
        type: 'nominal',
        title: 'index',
        scale: { domain: configs },
      },
      shape: { field: 'config', type: 'nominal', title: 'index', scale: { domain: configs } },
      detail: { field: 'series', type: 'nominal' },
      order: { field: 'recall', type: 'quantitative' },
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'param', type: 'nominal' },
        { field: 'recall', type: 'quantitative', format: '.4f' },
        { field: 'qps', type: 'quantitative', format: ',.1f' },
      ],
    },
    config: { font: 'Helvetica, Arial, sans-serif', legend: { orient: 'right', labelLimit: 320 } },
  };
}

/** Renders a vega-lite spec to an SVG string without a browser. */
export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
