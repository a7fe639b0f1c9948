/**
 * Turns a run's records into bench/results/<prefix>.md (tables) and
 * bench/results/<prefix>-<dataset>.svg (plots). Also used by bench/report.ts
 * to redraw from an existing .jsonl.
 */
import fs from 'node:fs';
import path from 'node:path';
import { paretoFrontier, type QpsAtRecall, qpsAtRecall, ratio } from './frontier.ts';
import { RESULTS_DIR } from './paths.ts';
import { PLOT_MIN_RECALL, plotSpec, renderSvg } from './plot.ts';
import {
  ANNOY_LIBRARIES,
  type BuildRecord,
  type DatasetRecord,
  type EndRecord,
  LIBRARY_LABEL,
  type LibraryName,
  type PointRecord,
  type ResultRecord,
  type RunRecord,
  type SkipRecord,
} from './types.ts';

export const TARGET_RECALLS = [0.8, 0.9, 0.95, 0.99] as const;
/** Memory target of issue #3: peak RSS while querying ≤ index bytes + 64 MB. */
export const RSS_ALLOWANCE_BYTES = 64 * 1024 * 1024;
/**
 * Recall differences smaller than this count as equal: the npm binding cannot be
 * seeded and the native build's -ffast-math changes some splits, so their trees
 * differ from annoy-ts's and recall at one searchK moves by about this much.
 */
export const RECALL_TOLERANCE = 0.01;

export function readRecords(file: string): ResultRecord[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ResultRecord);
}

// ------------------------------------------------------------------ formatting

export function fmtQps(q: QpsAtRecall | null): string {
  if (q === null) return '—';
  const v = q.qps >= 100 ? Math.round(q.qps).toLocaleString('en-US') : q.qps.toPrecision(3);
  return q.kind === 'lower-bound' ? `≥ ${v}` : v;
}

function fmtRatio(r: { value: number; approximate: boolean } | null): string {
  if (r === null) return '—';
  return `${r.approximate ? '~' : ''}${r.value.toFixed(2)}×`;
}

function fmtS(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  return s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2);
}

function fmtMB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '—' : (bytes / 1e6).toFixed(1);
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  return [
    `| ${header.join(' | ')} |`,
    `| ${a.map((x) => (x === 'l' ? ':--' : '--:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

// ------------------------------------------------------------------ queries on records

export interface Grouped {
  run: RunRecord | undefined;
  end: EndRecord | undefined;
  datasets: DatasetRecord[];
  builds: BuildRecord[];
  points: PointRecord[];
  skips: SkipRecord[];
}

export function group(records: readonly ResultRecord[]): Grouped {
  return {
    run: records.find((r): r is RunRecord => r.type === 'run'),
    end: records.find((r): r is EndRecord => r.type === 'end'),
    datasets: records.filter((r): r is DatasetRecord => r.type === 'dataset'),
    builds: records.filter((r): r is BuildRecord => r.type === 'build'),
    points: records.filter((r): r is PointRecord => r.type === 'point'),
    skips: records.filter((r): r is SkipRecord => r.type === 'skip'),
  };
}

/** Points of one library on one dataset, optionally only one nTrees. */
function pointsOf(g: Grouped, dataset: string, library: LibraryName, nTrees?: number): PointRecord[] {
  return g.points.filter((p) => p.dataset === dataset && p.library === library && (nTrees === undefined || p.params['nTrees'] === nTrees));
}

function nTreesOf(g: Grouped, dataset: string): number[] {
  return [...new Set(g.points.filter((p) => p.dataset === dataset && p.params['nTrees'] !== undefined).map((p) => p.params['nTrees']!))].sort((a, b) => a - b);
}

function at(points: readonly PointRecord[], r: number): QpsAtRecall | null {
  return qpsAtRecall(paretoFrontier(points), r);
}

/** Like at(), on QPS from process CPU time. */
function atCpu(points: readonly PointRecord[], r: number): QpsAtRecall | null {
  const cpu = points.filter((p) => p.qpsCpu !== null && p.qpsCpu !== undefined).map((p) => ({ recall: p.recall, qps: p.qpsCpu! }));
  return cpu.length === points.length ? qpsAtRecall(paretoFrontier(cpu), r) : null;
}

function buildOf(g: Grouped, dataset: string, library: LibraryName, nTrees?: number): BuildRecord | undefined {
  return g.builds.find((b) => b.dataset === dataset && b.library === library && (nTrees === undefined || b.params['nTrees'] === nTrees));
}

/** Mean and minimum recall difference a − b over the searchK values both measured at this nTrees. */
function recallDelta(g: Grouped, dataset: string, a: LibraryName, b: LibraryName, nTrees: number): { n: number; mean: number; min: number } | null {
  const other = new Map(pointsOf(g, dataset, b, nTrees).map((p) => [p.params['searchK'], p.recall]));
  const deltas = pointsOf(g, dataset, a, nTrees)
    .filter((p) => other.has(p.params['searchK']))
    .map((p) => p.recall - other.get(p.params['searchK'])!);
  if (deltas.length === 0) return null;
  return { n: deltas.length, mean: deltas.reduce((s, x) => s + x, 0) / deltas.length, min: Math.min(...deltas) };
}

/** Peak RSS minus the RSS just before the load: what loading and querying added (null when unknown). */
function addedRss(p: PointRecord): number | null {
  return p.peakRssBytes === null || p.rssBeforeLoadBytes === null ? null : p.peakRssBytes - p.rssBeforeLoadBytes;
}

const has = (g: Grouped, dataset: string, library: LibraryName): boolean => g.points.some((p) => p.dataset === dataset && p.library === library);

// ------------------------------------------------------------------ targets

function mark(ok: boolean | null): string {
  return ok === null ? '' : ok ? ' ✓' : ' ✗';
}

/** Worst (smallest) annoy-ts ÷ other ratio at recall r over the nTrees where both reach r. */
function worstRatio(
  g: Grouped,
  dataset: string,
  other: LibraryName,
  r: number,
  measure: (ps: PointRecord[], r: number) => QpsAtRecall | null = at,
): { value: number; nTrees: number; approximate: boolean } | null {
  let worst: { value: number; nTrees: number; approximate: boolean } | null = null;
  for (const t of nTreesOf(g, dataset)) {
    const x = ratio(measure(pointsOf(g, dataset, 'annoy-ts', t), r), measure(pointsOf(g, dataset, other, t), r));
    if (x !== null && (worst === null || x.value < worst.value)) worst = { ...x, nTrees: t };
  }
  return worst;
}

function targetRows(g: Grouped): string[][] {
  const ds = g.datasets.map((d) => d.dataset);
  const rows: string[][] = [];
  const cell = (fn: (d: string) => string): string[] => ds.map(fn);
  for (const [other, goal, label] of [
    ['annoy-binding', 1.5, 'QPS ≥ 1.5× the C++ binding'],
    ['annoy-native', 1.0, 'QPS ≥ 1.0× C++ -O3 -march=native (stretch)'],
  ] as const) {
    for (const r of [0.9, 0.95]) {
      rows.push([
        `${label} at recall ${r.toFixed(2)}, same nTrees (worst nTrees)`,
        ...cell((d) => {
          if (!has(g, d, other) || !has(g, d, 'annoy-ts')) return 'not measured';
          const w = worstRatio(g, d, other, r);
          if (w === null) return 'recall not reached';
          const c = worstRatio(g, d, other, r, atCpu);
          const cpu = c === null ? '' : `; CPU time: ${c.approximate ? '~' : ''}${c.value.toFixed(2)}×${c.nTrees !== w.nTrees ? ` (nTrees ${c.nTrees})` : ''}`;
          return `${w.approximate ? '~' : ''}${w.value.toFixed(2)}× (nTrees ${w.nTrees})${mark(w.value >= goal)}${cpu}`;
        }),
      ]);
    }
  }
  rows.push([
    'build time ≤ the C++ binding’s, same nTrees (worst ratio; wall, and CPU time)',
    ...cell((d) => {
      let worst: [number, number] | null = null;
      let worstCpu: [number, number] | null = null;
      for (const t of nTreesOf(g, d)) {
        const a = buildOf(g, d, 'annoy-ts', t);
        const b = buildOf(g, d, 'annoy-binding', t);
        if (!a || !b) continue;
        if (worst === null || a.buildSeconds / b.buildSeconds > worst[0]) worst = [a.buildSeconds / b.buildSeconds, t];
        if (a.buildCpuSeconds && b.buildCpuSeconds && (worstCpu === null || a.buildCpuSeconds / b.buildCpuSeconds > worstCpu[0])) {
          worstCpu = [a.buildCpuSeconds / b.buildCpuSeconds, t];
        }
      }
      if (worst === null) return 'not measured';
      const cpu = worstCpu === null ? '' : `; CPU time: ${worstCpu[0].toFixed(2)}× (nTrees ${worstCpu[1]})${mark(worstCpu[0] <= 1)}`;
      return `${worst[0].toFixed(2)}× (nTrees ${worst[1]})${mark(worst[0] <= 1)}${cpu}`;
    }),
  ]);
  rows.push([
    'index bytes equal to C++ Annoy’s (same format): largest difference vs the native build (same Annoy, same seed; ✓ within 0.5 %) and vs the binding (older Annoy, its own seed)',
    ...cell((d) => {
      const parts: string[] = [];
      let ok: boolean | null = null;
      for (const o of ['annoy-native', 'annoy-binding'] as const) {
        let worst: [number, number] | null = null;
        for (const t of nTreesOf(g, d)) {
          const mine = buildOf(g, d, 'annoy-ts', t);
          const theirs = buildOf(g, d, o, t);
          if (!mine || !theirs) continue;
          const rel = (mine.indexBytes - theirs.indexBytes) / theirs.indexBytes;
          if (worst === null || Math.abs(rel) > Math.abs(worst[0])) worst = [rel, t];
        }
        if (worst === null) continue;
        if (o === 'annoy-native') ok = Math.abs(worst[0]) < 0.005;
        parts.push(`${worst[0] === 0 ? '±0' : `${worst[0] > 0 ? '+' : '−'}${Math.abs(worst[0] * 100).toFixed(3)}`} % vs ${o === 'annoy-native' ? 'native' : 'binding'} (nTrees ${worst[1]})`);
      }
      return parts.length ? `${parts.join(', ')}${mark(ok)}` : 'not measured';
    }),
  ]);
  rows.push([
    'peak RSS while querying ≤ index bytes + 64 MiB: RSS the load and the queries added (worst nTrees)',
    ...cell((d) => {
      let worst: [number, number] | null = null;
      for (const t of nTreesOf(g, d)) {
        const p = pointsOf(g, d, 'annoy-ts', t)[0];
        const added = p ? addedRss(p) : null;
        if (p && added !== null && (worst === null || added - p.indexBytes > worst[0])) worst = [added - p.indexBytes, t];
      }
      return worst === null ? 'not measured' : `index ${worst[0] >= 0 ? '+' : '−'} ${(Math.abs(worst[0]) / 2 ** 20).toFixed(0)} MiB (nTrees ${worst[1]})${mark(worst[0] <= RSS_ALLOWANCE_BYTES)}`;
    }),
  ]);
  rows.push([
    'load seconds per GB (annoy-ts, largest index)',
    ...cell((d) => {
      const ps = g.points.filter((p) => p.dataset === d && p.library === 'annoy-ts');
      if (ps.length === 0) return 'not measured';
      const big = ps.reduce((a, b) => (b.indexBytes > a.indexBytes ? b : a));
      return `${big.loadSecondsPerGB.toFixed(3)} s/GB (${fmtMB(big.indexBytes)} MB in ${(big.loadSeconds * 1000).toFixed(0)} ms)`;
    }),
  ]);
  rows.push([
    'recall at the same nTrees/searchK no worse than C++ Annoy’s (worst mean Δ; tolerance 0.01)',
    ...cell((d) => {
      const parts: string[] = [];
      let ok: boolean | null = null;
      for (const o of ['annoy-binding', 'annoy-native'] as const) {
        let worst: [number, number] | null = null;
        for (const t of nTreesOf(g, d)) {
          const x = recallDelta(g, d, 'annoy-ts', o, t);
          if (x && (worst === null || x.mean < worst[0])) worst = [x.mean, t];
        }
        if (worst === null) continue;
        ok = (ok ?? true) && worst[0] >= -RECALL_TOLERANCE;
        parts.push(`${worst[0] >= 0 ? '+' : ''}${worst[0].toFixed(4)} vs ${o === 'annoy-binding' ? 'binding' : 'native'} (nTrees ${worst[1]})`);
      }
      return parts.length ? `${parts.join(', ')}${mark(ok)}` : 'not measured';
    }),
  ]);
  return rows;
}

// ------------------------------------------------------------------ per dataset

function datasetSection(g: Grouped, d: DatasetRecord, svgName: string | null): string {
  const out: string[] = [];
  const name = d.dataset;
  out.push(`## ${name}`);
  out.push('');
  out.push(
    `${fmtInt(d.nBase)}${d.nBase !== d.nBaseFull ? ` (first rows of ${fmtInt(d.nBaseFull)})` : ''} base vectors × ${d.dim}, ${d.metric}; ` +
      `${fmtInt(d.nQueries)} queries, k = ${d.k}. Ground truth: ${d.groundTruthSource}, brute force took ${fmtS(d.groundTruthSeconds)} s ` +
      `for ${fmtInt(d.groundTruthComputedQueries)} queries.`,
  );
  if (d.groundTruthProblems?.length) out.push('', `**Ground-truth spot check failed:** ${d.groundTruthProblems.join('; ')}`);
  for (const s of g.skips.filter((s) => s.dataset === name)) out.push('', `**${LIBRARY_LABEL[s.library]} skipped:** ${s.reason.split('\n')[0]}`);
  if (svgName) out.push('', `![recall vs QPS on ${name}](${svgName})`);
  const trees = nTreesOf(g, name);
  const annoys = ANNOY_LIBRARIES.filter((l) => has(g, name, l));

  // QPS at recall
  const rows: string[][] = [];
  const maxRecall = (ps: PointRecord[]): string => (ps.length ? Math.max(...ps.map((p) => p.recall)).toFixed(4) : '—');
  for (const t of trees) {
    for (const lib of annoys) {
      const ps = pointsOf(g, name, lib, t);
      if (ps.length === 0) continue;
      rows.push([LIBRARY_LABEL[lib], String(t), ...TARGET_RECALLS.map((r) => fmtQps(at(ps, r))), maxRecall(ps), String(ps.length)]);
    }
  }
  if (trees.length > 1) {
    for (const lib of annoys) {
      const ps = pointsOf(g, name, lib);
      rows.push([LIBRARY_LABEL[lib], 'any', ...TARGET_RECALLS.map((r) => fmtQps(at(ps, r))), maxRecall(ps), String(ps.length)]);
    }
  }
  const hn = pointsOf(g, name, 'hnswlib');
  if (hn.length) rows.push([LIBRARY_LABEL.hnswlib, `M=${hn[0]!.params['M']}, efC=${hn[0]!.params['efConstruction']}`, ...TARGET_RECALLS.map((r) => fmtQps(at(hn, r))), maxRecall(hn), String(hn.length)]);
  out.push('', '### Queries per second at recall@10', '');
  out.push(table(['library', 'nTrees', ...TARGET_RECALLS.map((r) => `QPS @ ${r.toFixed(2)}`), 'best recall', 'points'], rows));
  out.push('', '"any" = the frontier over all nTrees together. "≥" = every measured point has a higher recall than the target; "—" = not reached.');

  // Ratios
  if (has(g, name, 'annoy-ts') && (has(g, name, 'annoy-binding') || has(g, name, 'annoy-native'))) {
    const others = (['annoy-binding', 'annoy-native'] as const).filter((l) => has(g, name, l));
    const ratioTable = (measure: (ps: PointRecord[], r: number) => QpsAtRecall | null): string =>
      table(
        ['nTrees', ...others.flatMap((o) => TARGET_RECALLS.map((r) => `÷ ${o === 'annoy-binding' ? 'binding' : 'native'} @ ${r.toFixed(2)}`))],
        [...trees, ...(trees.length > 1 ? ['any' as const] : [])].map((t) => {
          const mine = pointsOf(g, name, 'annoy-ts', t === 'any' ? undefined : t);
          return [
            String(t),
            ...others.flatMap((o) => {
              const theirs = pointsOf(g, name, o, t === 'any' ? undefined : t);
              return TARGET_RECALLS.map((r) => fmtRatio(ratio(measure(mine, r), measure(theirs, r))));
            }),
          ];
        }),
      );
    out.push('', '### annoy-ts ÷ C++ (QPS at the same recall@10, same nTrees)', '');
    out.push(ratioTable(at));
    out.push('', '"~" = one side is only a lower bound (see above).');
    if (g.points.some((p) => p.dataset === name && p.qpsCpu !== null && p.qpsCpu !== undefined)) {
      out.push('', 'The same ratios from process CPU time instead of wall-clock time (queries ÷ CPU seconds of the least-CPU pass): less sensitive to other work on a shared machine, but Node\'s background GC and compiler threads count against annoy-ts.', '');
      out.push(ratioTable(atCpu));
    }
  }

  // Build and size
  const brows: string[][] = [];
  for (const t of trees) {
    const b = Object.fromEntries(annoys.map((l) => [l, buildOf(g, name, l, t)])) as Partial<Record<LibraryName, BuildRecord>>;
    const ts = b['annoy-ts'];
    const rel = (o: BuildRecord | undefined): string => {
      if (!ts || !o) return '—';
      const cpu = ts.buildCpuSeconds && o.buildCpuSeconds ? ` (${(ts.buildCpuSeconds / o.buildCpuSeconds).toFixed(2)}×)` : '';
      return `${(ts.buildSeconds / o.buildSeconds).toFixed(2)}×${cpu}`;
    };
    brows.push([
      String(t),
      ...annoys.map((l) => (b[l] ? `${fmtS(b[l]!.buildSeconds)}${b[l]!.buildCpuSeconds ? ` (${fmtS(b[l]!.buildCpuSeconds)})` : ''}` : '—')),
      ...(annoys.includes('annoy-binding') && ts ? [rel(b['annoy-binding'])] : []),
      ...(annoys.includes('annoy-native') && ts ? [rel(b['annoy-native'])] : []),
      ...annoys.map((l) => (b[l] ? fmtInt(b[l]!.indexBytes) : '—')),
    ]);
  }
  if (brows.length) {
    const hasTs = annoys.includes('annoy-ts');
    out.push('', '### Build time (seconds, one thread) and index size (bytes)', '');
    out.push(
      table(
        [
          'nTrees',
          ...annoys.map((l) => `build ${l === 'annoy-ts' ? 'annoy-ts' : l === 'annoy-binding' ? 'binding' : 'native'}`),
          ...(hasTs && annoys.includes('annoy-binding') ? ['ts ÷ binding'] : []),
          ...(hasTs && annoys.includes('annoy-native') ? ['ts ÷ native'] : []),
          ...annoys.map((l) => `bytes ${l === 'annoy-ts' ? 'annoy-ts' : l === 'annoy-binding' ? 'binding' : 'native'}`),
        ],
        brows,
      ),
    );
    const reused = g.builds.filter((b) => b.dataset === name && b.reused);
    out.push(
      '',
      'Build = build() alone (items already added), wall-clock seconds with process CPU seconds in parentheses (on a busy machine the CPU figures are the steadier comparison; Node\'s background threads count in them). annoy-ts and the native build use seed 42; the npm binding cannot be seeded (Annoy\'s default seed), so its trees — and its index size — differ slightly.' +
        (reused.length ? ` Reused from an earlier run: ${reused.map((b) => `${b.library} ${Object.values(b.params).join('/')}`).join(', ')}.` : ''),
    );
  }
  const hb = buildOf(g, name, 'hnswlib');
  if (hb) out.push('', `hnswlib-node (M = ${hb.params['M']}, efConstruction = ${hb.params['efConstruction']}): built in ${fmtS(hb.buildSeconds)} s${hb.buildCpuSeconds ? ` (${fmtS(hb.buildCpuSeconds)} s CPU)` : ''}, ${fmtInt(hb.indexBytes)} bytes.`);

  // Load and memory
  const mrows: string[][] = [];
  const withFirst = g.points.some((p) => p.dataset === name && typeof p.firstPassSeconds === 'number');
  const seen = new Set<string>();
  for (const p of g.points.filter((p) => p.dataset === name)) {
    if (seen.has(p.series)) continue;
    seen.add(p.series);
    const budget = p.indexBytes + RSS_ALLOWANCE_BYTES;
    const added = addedRss(p);
    mrows.push([
      LIBRARY_LABEL[p.library],
      p.library === 'hnswlib' ? `M=${p.params['M']}` : String(p.params['nTrees']),
      fmtMB(p.indexBytes),
      (p.loadSeconds * 1000).toFixed(1),
      p.loadSecondsPerGB.toFixed(3),
      ...(withFirst ? [p.firstPassSeconds === null || p.firstPassSeconds === undefined ? '—' : (p.firstPassSeconds * 1000).toFixed(0)] : []),
      fmtMB(p.rssBeforeLoadBytes),
      fmtMB(p.peakRssBytes),
      `${fmtMB(added)}${added === null ? '' : added <= budget ? ' ✓' : ' ✗'}`,
      fmtMB(budget),
      fmtMB(p.buildPeakRssBytes),
    ]);
  }
  if (mrows.length) {
    out.push('', '### Load and memory', '');
    out.push(table(['library', 'nTrees', 'index MB', 'load ms', 'load s/GB', ...(withFirst ? ['first pass ms'] : []), 'RSS before load MB', 'query peak RSS MB', 'added by load + queries MB', 'index + 64 MiB', 'build peak RSS MB'], mrows));
    out.push(
      '',
      `Load = opening the saved file in a fresh instance of a fresh process (file in the page cache). The C++ libraries mmap the file, so their load is nearly free and pages are faulted in by the first queries; annoy-ts reads it into memory.${withFirst ? ' "First pass" = the untimed warm-up pass over all queries at the cheapest setting that follows the load, where those page faults (and JIT warm-up) land.' : ''} Peak RSS = the query process's VmHWM, which includes the runtime: Node with the tsx loader (≈ 75–85 MB before anything is loaded; plain Node ≈ 40 MB) or the bare C++ server, plus the query vectors. "Added by load + queries" = peak − RSS before load, the part the library is responsible for; it is what the ✓/✗ compares with index + 64 MiB.`,
    );
  }

  // Recall parity
  if (has(g, name, 'annoy-ts')) {
    const prow: string[][] = [];
    for (const t of trees) {
      const cells = (['annoy-binding', 'annoy-native'] as const).filter((o) => has(g, name, o)).map((o) => {
        const x = recallDelta(g, name, 'annoy-ts', o, t);
        return x === null ? '—' : `${x.mean >= 0 ? '+' : ''}${x.mean.toFixed(4)} / ${x.min >= 0 ? '+' : ''}${x.min.toFixed(4)} (${x.n})`;
      });
      prow.push([String(t), ...cells]);
    }
    const heads = (['annoy-binding', 'annoy-native'] as const).filter((o) => has(g, name, o)).map((o) => `annoy-ts − ${o === 'annoy-binding' ? 'binding' : 'native'}: mean / min Δrecall (points)`);
    if (heads.length) {
      out.push('', '### Recall at the same nTrees and searchK', '');
      out.push(table(['nTrees', ...heads], prow));
    }
  }
  return out.join('\n');
}

// ------------------------------------------------------------------ whole report

export function svgFileName(prefix: string, dataset: string): string {
  return `${prefix}-${dataset}.svg`;
}

export function renderMarkdown(records: readonly ResultRecord[], prefix: string, svgDatasets: ReadonlySet<string> = new Set()): string {
  const g = group(records);
  const out: string[] = [];
  const run = g.run;
  out.push(`# annoy-ts benchmark: ${run ? `${run.config.mode} run ${run.runId}` : 'results'}`);
  out.push('');
  if (run) {
    const m = run.machine;
    const c = run.config;
    out.push(
      `**Machine:** ${m.cpuModel}, ${m.logicalCpus} logical CPUs (${m.cpuFlags.join(', ') || 'no AVX flags'}), ${(m.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB RAM, ${m.os}. ` +
        `**Node** ${m.node} (V8 ${m.v8}). **annoy-ts** ` +
        (run.sourceRevision && run.sourceRevision !== 'working tree'
          ? `src/ at commit \`${run.sourceRevision.slice(0, 10)}\``
          : `commit \`${m.gitCommit?.slice(0, 10) ?? '?'}\`${m.gitDirtyFiles ? ` with ${m.gitDirtyFiles} uncommitted changes` : ''}`) +
        `${run.sourceHash ? ` (src/ SHA-1 \`${run.sourceHash.slice(0, 12)}\`)` : ''}. ` +
        `**Competitors:** npm annoy ${m.packages['annoy'] ?? '?'} (C++ binding), hnswlib-node ${m.packages['hnswlib-node'] ?? '?'}, ` +
        `${m.cxx ?? 'no g++'}${m.nativeSimd ? ` -O3 -march=native (Annoy SIMD path: ${m.nativeSimd})` : ''}.`,
    );
    out.push('');
    out.push(
      `**Run:** started ${run.startedAt}${g.end ? `, took ${(g.end.seconds / 60).toFixed(1)} min` : ' (incomplete)'}; load average ${run.loadAverage.join(' / ')} at the start` +
        `${g.end ? `, ${g.end.loadAverage.join(' / ')} at the end` : ''}. k = ${c.k}, ${fmtInt(c.queries)} queries per point, one thread; ` +
        `QPS = queries ÷ the fastest timed pass over all of them (passes repeat until ${c.minPassSeconds} s or ${c.maxPasses} passes) after ${c.warmupQueries} warm-up queries per point and one warm-up pass per process. ` +
        `Recall@${c.k} counts exact ties; QPS at a recall is interpolated (log QPS, linear in recall) on each configuration's Pareto frontier. ` +
        `Sweeps stop after the first point with recall ≥ ${c.stopRecall}. See bench/README.md.`,
    );
  }
  if (g.datasets.length) {
    out.push('', '## Targets (issue #3)', '');
    out.push(table(['target', ...g.datasets.map((d) => d.dataset)], targetRows(g), ['l', ...g.datasets.map(() => 'l' as const)]));
  }
  for (const d of g.datasets) {
    out.push('', datasetSection(g, d, svgDatasets.has(d.dataset) ? svgFileName(prefix, d.dataset) : null));
  }
  out.push('');
  return out.join('\n');
}

function sourceLabel(run: RunRecord): string {
  if (run.sourceRevision && run.sourceRevision !== 'working tree') return `commit ${run.sourceRevision.slice(0, 10)}`;
  const m = run.machine;
  return `commit ${m.gitCommit?.slice(0, 10) ?? '?'}${m.gitDirtyFiles ? '+changes' : ''}`;
}

export async function renderPlots(records: readonly ResultRecord[]): Promise<Map<string, string>> {
  const g = group(records);
  const svgs = new Map<string, string>();
  for (const d of g.datasets) {
    const points = g.points.filter((p) => p.dataset === d.dataset);
    if (points.length === 0) continue;
    const m = g.run?.machine;
    const spec = plotSpec(points, {
      title: `${d.dataset}: recall@${d.k} vs queries per second`,
      subtitle: [
        `${fmtInt(d.nBase)} vectors × ${d.dim}, ${fmtInt(d.nQueries)} queries, one thread; Pareto frontier per index (points below recall ${PLOT_MIN_RECALL} left off)`,
        m ? `${m.cpuModel}, ${m.logicalCpus} CPUs, Node ${m.node}, ${g.run!.startedAt.slice(0, 10)}, annoy-ts ${sourceLabel(g.run!)}` : '',
      ].filter((s) => s !== ''),
    });
    svgs.set(d.dataset, await renderSvg(spec));
  }
  return svgs;
}

/** Writes <prefix>.md and <prefix>-<dataset>.svg into bench/results/. */
export async function writeReports(records: readonly ResultRecord[], prefix: string, dir = RESULTS_DIR): Promise<{ markdown: string; svgs: string[] }> {
  fs.mkdirSync(dir, { recursive: true });
  const svgs = await renderPlots(records);
  const svgFiles: string[] = [];
  for (const [dataset, svg] of svgs) {
    const file = path.join(dir, svgFileName(prefix, dataset));
    fs.writeFileSync(file, svg);
    svgFiles.push(file);
  }
  const markdown = path.join(dir, `${prefix}.md`);
  fs.writeFileSync(markdown, renderMarkdown(records, prefix, new Set(svgs.keys())));
  return { markdown, svgs: svgFiles };
}
