/**
 * The annoy-ts benchmark (ann-benchmarks style): `npm run bench` for the full
 * suite, `npm run bench -- --quick` for the day-to-day subset, `--help` for
 * the options. See bench/README.md for what is measured and how.
 *
 * For every dataset and library: a build child process (build timed, index
 * saved), then a query child process (index loaded into a fresh instance,
 * timed; warm-up; one point per searchK / ef, each timed over all queries),
 * so memory and peak RSS are each library's own. Recall is computed here, the
 * same way for every library, from the ids the child returned. Results go to
 * bench/results/ as JSON lines, a markdown table and one SVG plot per dataset.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configRecord, parseArgs, type RunConfig } from './lib/config.ts';
import { type PreparedDataset, prepareDataset, spotCheckGroundTruth } from './lib/data.ts';
import { loadAverage, machineFacts, packageVersion } from './lib/machine.ts';
import { type NativeTools, nativeTools } from './lib/native.ts';
import { CACHE_DIR, RESULTS_DIR } from './lib/paths.ts';
import { type Snapshot, snapshotSources } from './lib/snapshot.ts';
import { computeRecall, distanceOver } from './lib/recall.ts';
import { writeReports } from './lib/report.ts';
import { LineSession, liveSessions, nodeChild, runOnce } from './lib/session.ts';
import {
  ANNOY_LIBRARIES,
  type BuildRecord,
  type BuildRequest,
  type BuildResult,
  type LibraryName,
  type PointRecord,
  type ResultRecord,
  type ServeReady,
  type ServeRequest,
  type ServeRun,
} from './lib/types.ts';

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function fmtSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

function mb(bytes: number | null): string {
  return bytes === null ? '—' : `${(bytes / 1e6).toFixed(1)} MB`;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

class ResultLog {
  readonly records: ResultRecord[] = [];
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
  }
  add(record: ResultRecord): void {
    this.records.push(record);
    fs.appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }
}

interface Built {
  params: Record<string, number>;
  indexFile: string;
  result: BuildResult;
  /** The index lives in the reuse cache: do not delete it. */
  cached: boolean;
}

/** This run's copy of src/ and of the child side of the harness (set first thing in main()). */
let snapshot: Snapshot;
/** This run's copy of the compiled annoy-bench (C++), when available. */
let nativeBinary = '';

interface NativeBuild {
  n_items: number;
  n_trees: number;
  add_seconds: number;
  build_seconds: number;
  build_cpu_seconds: number;
  save_seconds: number;
  peak_rss_bytes: number;
}

/** Bump when what a cached build records changes. */
const BUILD_CACHE_FORMAT = 3;

/** Where a competitor's reusable build lives, keyed by everything that determines it. */
function buildCacheDir(library: LibraryName, ds: PreparedDataset, params: Record<string, number>, seed: number, native: NativeTools | null): string {
  const version =
    library === 'annoy-binding' ? packageVersion('annoy')
    : library === 'hnswlib' ? packageVersion('hnswlib-node')
    : library === 'annoy-native' && native ? createHash('sha1').update(fs.readFileSync(native.binary)).digest('hex')
    : null;
  const key = createHash('sha1').update(JSON.stringify({ format: BUILD_CACHE_FORMAT, library, hash: ds.hash, params, seed, version })).digest('hex').slice(0, 16);
  return path.join(CACHE_DIR, 'builds', `${library}-${ds.name}-${key}`);
}

async function buildIndex(
  cfg: RunConfig,
  library: LibraryName,
  ds: PreparedDataset,
  params: Record<string, number>,
  workDir: string,
  native: NativeTools | null,
  log: ResultLog,
): Promise<Built> {
  const label = `${library} ${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  const ext = library === 'hnswlib' ? 'hnsw' : 'ann';
  const reuse = cfg.reuseCompetitorBuilds && library !== 'annoy-ts';
  const cacheDir = reuse ? buildCacheDir(library, ds, params, cfg.seed, native) : null;
  if (cacheDir !== null) {
    try {
      const result = JSON.parse(fs.readFileSync(path.join(cacheDir, 'build.json'), 'utf8')) as BuildResult;
      const indexFile = path.join(cacheDir, `index.${ext}`);
      if (fs.statSync(indexFile).size === result.indexBytes) {
        say(`  build ${label}: reusing the cached build (${fmtSeconds(result.buildSeconds)} when it was made)`);
        log.add({ type: 'build', library, dataset: ds.name, params, ...buildFields(result), loadAverage: loadAverage(), reused: true });
        return { params, indexFile, result, cached: true };
      }
    } catch {
      /* not cached yet */
    }
  }
  const dir = cacheDir ?? workDir;
  fs.mkdirSync(dir, { recursive: true });
  const indexFile = path.join(dir, cacheDir ? `index.${ext}` : `${library}-${Object.values(params).join('-')}.${ext}`);
  say(`  build ${label} …`);
  const load = loadAverage();
  let result: BuildResult;
  if (library === 'annoy-native') {
    const r = await runOnce<NativeBuild>(
      nativeBinary,
      ['build', ds.metric, String(ds.dim), ds.baseFile, String(params['nTrees']!), String(cfg.seed), indexFile],
      `    │ ${library}: `,
    );
    if (r.n_items !== ds.nBase) throw new Error(`the C++ build holds ${r.n_items} items, expected ${ds.nBase}`);
    result = {
      buildSeconds: r.build_seconds,
      buildCpuSeconds: r.build_cpu_seconds,
      addSeconds: r.add_seconds,
      saveSeconds: r.save_seconds,
      indexBytes: fs.statSync(indexFile).size,
      peakRssBytes: r.peak_rss_bytes,
    };
  } else {
    const req: BuildRequest = {
      library,
      annoyTsEntry: snapshot.entry,
      metric: ds.metric,
      dim: ds.dim,
      baseFile: ds.baseFile,
      indexFile,
      seed: cfg.seed,
      ...(library === 'hnswlib' ? { M: params['M']!, efConstruction: params['efConstruction']! } : { nTrees: params['nTrees']! }),
    };
    const { command, args } = nodeChild(snapshot.child, 'build', req);
    result = await runOnce<BuildResult>(command, args, `    │ ${library}: `);
  }
  say(
    `  build ${label}: ${fmtSeconds(result.buildSeconds)}` +
      `${result.addSeconds !== null ? ` (+ ${fmtSeconds(result.addSeconds)} adding items)` : ''}, index ${mb(result.indexBytes)}` +
      `${result.peakRssBytes !== null ? `, peak RSS ${mb(result.peakRssBytes)}` : ''}`,
  );
  if (cacheDir !== null) fs.writeFileSync(path.join(cacheDir, 'build.json'), `${JSON.stringify(result)}\n`);
  log.add({ type: 'build', library, dataset: ds.name, params, ...buildFields(result), loadAverage: load });
  return { params, indexFile, result, cached: cacheDir !== null };
}

/** Deletes an index built for this run (not a cached one, not with --keep-indexes). */
function removeIndex(cfg: RunConfig, built: Built): void {
  if (built.cached || cfg.keepIndexes) return;
  fs.rmSync(built.indexFile, { force: true });
  fs.rmSync(`${built.indexFile}.json`, { force: true }); // annoy-ts's sidecar
}

function buildFields(r: BuildResult): Pick<BuildRecord, 'buildSeconds' | 'buildCpuSeconds' | 'addSeconds' | 'saveSeconds' | 'indexBytes' | 'buildPeakRssBytes'> {
  return { buildSeconds: r.buildSeconds, buildCpuSeconds: r.buildCpuSeconds ?? null, addSeconds: r.addSeconds, saveSeconds: r.saveSeconds, indexBytes: r.indexBytes, buildPeakRssBytes: r.peakRssBytes };
}

function startServer(cfg: RunConfig, library: LibraryName, ds: PreparedDataset, indexFile: string, native: NativeTools | null): LineSession {
  const prefix = `    │ ${library}: `;
  if (library === 'annoy-native') {
    return new LineSession(
      nativeBinary,
      ['serve', ds.metric, String(ds.dim), indexFile, ds.queriesFile, String(cfg.k), String(cfg.warmupQueries), String(cfg.minPassSeconds), String(cfg.maxPasses)],
      prefix,
    );
  }
  const req: ServeRequest = {
    library,
    annoyTsEntry: snapshot.entry,
    metric: ds.metric,
    dim: ds.dim,
    indexFile,
    queriesFile: ds.queriesFile,
    k: cfg.k,
    warmup: cfg.warmupQueries,
    minSeconds: cfg.minPassSeconds,
    maxPasses: cfg.maxPasses,
  };
  const { command, args } = nodeChild(snapshot.child, 'serve', req);
  return new LineSession(command, args, prefix);
}

interface NativeReady {
  ready: true;
  load_seconds: number;
  n_items: number;
  rss_before_load_bytes: number;
  rss_after_load_bytes: number;
  annoy_simd: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One library's query server during a sweep. */
class Sweeper {
  readonly series: string;
  readonly paramName: 'searchK' | 'ef';
  done = false;
  private session: LineSession | null = null;
  private loadSeconds = 0;
  private warmSeconds: number | null = null;
  private rssBefore = 0;
  private readonly points: Omit<PointRecord, 'peakRssBytes'>[] = [];
  private readonly distance: (q: number, id: number) => number;

  constructor(
    private readonly cfg: RunConfig,
    readonly library: LibraryName,
    private readonly ds: PreparedDataset,
    private readonly built: Built,
    private readonly native: NativeTools | null,
  ) {
    const isHnsw = library === 'hnswlib';
    this.paramName = isHnsw ? 'ef' : 'searchK';
    this.series = `${library} ${isHnsw ? `M=${built.params['M']} efC=${built.params['efConstruction']}` : `nTrees=${built.params['nTrees']}`}`;
    this.distance = distanceOver(ds.metric, ds.base, ds.queries, ds.dim);
  }

  /** Starts the server, loads the index, and runs one untimed pass over all queries at `warmParam`. */
  async start(warmParam: number): Promise<void> {
    const session = startServer(this.cfg, this.library, this.ds, this.built.indexFile, this.native);
    this.session = session;
    let nItems: number;
    if (this.library === 'annoy-native') {
      const r = await session.next<NativeReady>();
      this.loadSeconds = r.load_seconds;
      this.rssBefore = r.rss_before_load_bytes;
      nItems = r.n_items;
    } else {
      const r = await session.next<ServeReady>();
      this.loadSeconds = r.loadSeconds;
      this.rssBefore = r.rssBeforeLoadBytes;
      nItems = r.nItems;
    }
    if (nItems !== this.ds.nBase) throw new Error(`the loaded index holds ${nItems} items, expected ${this.ds.nBase}`);
    const gb = this.built.result.indexBytes / 1e9;
    say(`  load ${this.series}: ${(this.loadSeconds * 1000).toFixed(1)} ms (${(this.loadSeconds / gb).toFixed(3)} s/GB)`);
    // JIT, caches, and the page faults of mmap'ed files, before anything is timed.
    this.warmSeconds = (await session.request<{ seconds: number }>(`warm ${warmParam} ${this.ds.nQueries}`)).seconds;
  }

  /** Measures one point; marks the sweep done when it reached the stop recall or got too slow. */
  async point(value: number): Promise<void> {
    const { cfg, ds, built } = this;
    const load = loadAverage();
    const run = await this.session!.request<ServeRun>(`run ${value}`);
    if (run.ids.length !== ds.nQueries) throw new Error(`got results for ${run.ids.length} queries, expected ${ds.nQueries}`);
    const { recall, recallIds } = computeRecall({ results: run.ids, k: cfg.k, gtIds: ds.gtIds, gtDistances: ds.gtDistances, gtK: ds.gtK, distance: this.distance });
    const best = Math.min(...run.passes);
    const qps = ds.nQueries / best;
    const cpuBest = run.cpu && run.cpu.length ? Math.min(...run.cpu) : null;
    this.points.push({
      type: 'point',
      library: this.library,
      dataset: ds.name,
      params: { ...built.params, [this.paramName]: value },
      series: this.series,
      k: cfg.k,
      queries: ds.nQueries,
      recall,
      recallIds,
      qps,
      qpsMedian: ds.nQueries / median(run.passes),
      qpsCpu: cpuBest !== null && cpuBest > 0 ? ds.nQueries / cpuBest : null,
      passSeconds: run.passes,
      passCpuSeconds: run.cpu ?? [],
      buildSeconds: built.result.buildSeconds,
      indexBytes: built.result.indexBytes,
      loadSeconds: this.loadSeconds,
      loadSecondsPerGB: this.loadSeconds / (built.result.indexBytes / 1e9),
      firstPassSeconds: this.warmSeconds,
      rssBeforeLoadBytes: this.rssBefore,
      buildPeakRssBytes: built.result.peakRssBytes,
      loadAverage: load,
    });
    say(
      `    ${this.series.padEnd(28)} ${this.paramName}=${String(value).padEnd(7)} recall ${recall.toFixed(4)}` +
        `${recallIds !== recall ? ` (ids ${recallIds.toFixed(4)})` : ''}  QPS ${qps.toFixed(1).padStart(9)}` +
        `  [${run.passes.length} pass${run.passes.length > 1 ? 'es' : ''}, best ${best.toFixed(2)} s]`,
    );
    if (recall >= cfg.stopRecall) this.done = true;
    else if (best > cfg.maxPassSeconds) {
      say(`    (${this.series}: stopping, a pass took ${best.toFixed(0)} s > ${cfg.maxPassSeconds} s)`);
      this.done = true;
    }
  }

  /** Stops the server and logs the points with its peak RSS. */
  async finish(log: ResultLog): Promise<void> {
    const end = await this.session!.request<{ peak_rss_bytes: number }>('quit');
    await this.session!.close();
    say(`  ${this.series}: query process peak RSS ${mb(end.peak_rss_bytes)} (index ${mb(this.built.result.indexBytes)}, before load ${mb(this.rssBefore)})`);
    for (const p of this.points) log.add({ ...p, peakRssBytes: end.peak_rss_bytes });
  }

  /** After a failure: stop the server and keep what was measured, without a peak RSS. */
  abandon(log: ResultLog): void {
    this.session?.kill();
    for (const p of this.points) log.add({ ...p, peakRssBytes: null });
  }
}

/**
 * Sweeps several libraries together, point by point: every server is started
 * (and warmed up) first, then each parameter value is measured on each library
 * in turn (rotating who goes first), so the libraries compared are measured
 * seconds apart under the same background load. A library leaves the sweep when
 * it reaches the stop recall, gets too slow, or fails.
 */
async function interleavedSweep(
  cfg: RunConfig,
  ds: PreparedDataset,
  entries: { library: LibraryName; built: Built }[],
  values: readonly number[],
  native: NativeTools | null,
  log: ResultLog,
  onFail: (library: LibraryName, e: Error) => void,
): Promise<void> {
  let active: Sweeper[] = [];
  for (const { library, built } of entries) {
    const s = new Sweeper(cfg, library, ds, built, native);
    try {
      await s.start(values[0]!);
      active.push(s);
    } catch (e) {
      s.abandon(log);
      onFail(library, e as Error);
    }
  }
  for (let i = 0; i < values.length && active.length > 0; i++) {
    const order = active.map((_, j) => active[(i + j) % active.length]!);
    for (const s of order) {
      try {
        await s.point(values[i]!);
      } catch (e) {
        s.abandon(log);
        active = active.filter((x) => x !== s);
        onFail(s.library, e as Error);
        continue;
      }
      if (s.done) {
        active = active.filter((x) => x !== s);
        try {
          await s.finish(log);
        } catch (e) {
          onFail(s.library, e as Error);
        }
      }
    }
  }
  for (const s of active) {
    try {
      await s.finish(log);
    } catch (e) {
      onFail(s.library, e as Error);
    }
  }
}

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  if (cfg === null) return;
  const started = new Date();
  const t0 = performance.now();
  const runId = `${timestamp(started)}${cfg.mode === 'full' ? '' : `-${cfg.out}`}`;
  const workDir = path.join(CACHE_DIR, 'runs', runId);
  fs.mkdirSync(workDir, { recursive: true });
  snapshot = snapshotSources(path.join(workDir, 'snapshot'), cfg.srcRevision);

  let native: NativeTools | null = null;
  let nativeProblem: string | null = null;
  if (cfg.libraries.includes('annoy-native')) {
    say('C++ Annoy -O3 -march=native: preparing the driver and the query server …');
    const n = nativeTools();
    if ('unavailable' in n) nativeProblem = n.unavailable;
    else {
      native = n;
      nativeBinary = path.join(workDir, 'snapshot', path.basename(n.binary));
      fs.copyFileSync(n.binary, nativeBinary);
      fs.chmodSync(nativeBinary, 0o755);
    }
  }
  const machine = machineFacts(native?.simd ?? null);
  const log = new ResultLog(path.join(RESULTS_DIR, `${runId}.jsonl`));
  log.add({ type: 'run', runId, sourceHash: snapshot.hash, sourceRevision: snapshot.revision, startedAt: started.toISOString(), machine, config: configRecord(cfg), loadAverage: loadAverage() });

  say(`annoy-ts benchmark, ${cfg.mode} run ${runId}`);
  say(`  ${machine.cpuModel} (${machine.logicalCpus} logical CPUs; ${machine.cpuFlags.join(' ')}), ${machine.os}`);
  say(`  Node ${machine.node}, commit ${machine.gitCommit?.slice(0, 10) ?? '?'}${machine.gitDirtyFiles ? ` + ${machine.gitDirtyFiles} changed files` : ''}, load average ${loadAverage().join(' ')}`);
  say(`  annoy-ts: src/ (${snapshot.revision}, ${snapshot.files} files, SHA-1 ${snapshot.hash.slice(0, 12)}) copied for this run`);
  say(`  libraries ${cfg.libraries.join(', ')}; nTrees ${cfg.nTrees.join(', ')}; k = ${cfg.k}; ${cfg.queries} queries per point`);
  if (nativeProblem !== null) say(`  C++ native skipped: ${nativeProblem}`);

  for (const name of cfg.datasets) {
    say();
    say(`== ${name}`);
    const ds = await prepareDataset(name, { nQueries: cfg.queries, k: cfg.k, baseLimit: cfg.baseLimit[name], workDir });
    const problems = spotCheckGroundTruth(ds, cfg.k);
    say(
      `  ${ds.nBase.toLocaleString('en-US')}${ds.nBase !== ds.nBaseFull ? ` of ${ds.nBaseFull.toLocaleString('en-US')}` : ''} base rows × ${ds.dim}, ${ds.metric}, ` +
        `${ds.nQueries} queries; ground truth ${ds.groundTruthSource}, computed in ${fmtSeconds(ds.groundTruthSeconds)} ` +
        `(for ${ds.groundTruthComputedQueries} queries); loaded in ${fmtSeconds(ds.loadSeconds)}`,
    );
    for (const p of problems) say(`  WARNING ground truth: ${p}`);
    log.add({
      type: 'dataset',
      dataset: name,
      metric: ds.metric,
      dim: ds.dim,
      nBase: ds.nBase,
      nBaseFull: ds.nBaseFull,
      nQueries: ds.nQueries,
      k: cfg.k,
      groundTruthSeconds: ds.groundTruthSeconds,
      groundTruthComputedQueries: ds.groundTruthComputedQueries,
      groundTruthSource: ds.groundTruthSource,
      loadSeconds: ds.loadSeconds,
      ...(problems.length ? { groundTruthProblems: problems } : {}),
    });

    const skip = (library: LibraryName, reason: string): void => {
      say(`  SKIPPED ${library}: ${reason}`);
      log.add({ type: 'skip', library, dataset: name, reason });
    };
    const failed = new Set<LibraryName>();
    const fail = (library: LibraryName, e: Error, what: string): void => {
      failed.add(library);
      skip(library, `${what}: ${e.message}`);
    };
    // Per nTrees: build each Annoy library, then sweep them together, point by point.
    for (const nTrees of cfg.nTrees) {
      const entries: { library: LibraryName; built: Built }[] = [];
      try {
        for (const library of ANNOY_LIBRARIES) {
          if (!cfg.libraries.includes(library) || failed.has(library)) continue;
          if (library === 'annoy-native' && native === null) {
            failed.add(library);
            skip(library, nativeProblem ?? 'unavailable');
            continue;
          }
          try {
            entries.push({ library, built: await buildIndex(cfg, library, ds, { nTrees }, workDir, native, log) });
          } catch (e) {
            fail(library, e as Error, `build nTrees=${nTrees}`);
          }
        }
        if (entries.length) say(`  sweep nTrees=${nTrees}: ${entries.map((e) => e.library).join(', ')}, interleaved point by point`);
        await interleavedSweep(cfg, ds, entries, cfg.searchK, native, log, (library, e) => fail(library, e, `queries nTrees=${nTrees}`));
      } finally {
        for (const { built } of entries) removeIndex(cfg, built);
      }
    }
    if (cfg.libraries.includes('hnswlib')) {
      let built: Built | null = null;
      try {
        built = await buildIndex(cfg, 'hnswlib', ds, { M: cfg.hnsw.M, efConstruction: cfg.hnsw.efConstruction }, workDir, native, log);
        await interleavedSweep(cfg, ds, [{ library: 'hnswlib', built }], cfg.hnsw.ef, native, log, (library, e) => fail(library, e, 'queries'));
      } catch (e) {
        fail('hnswlib', e as Error, 'build');
      } finally {
        if (built) removeIndex(cfg, built);
      }
    }
    fs.rmSync(path.join(workDir, name), { recursive: true, force: true });
  }

  log.add({ type: 'end', finishedAt: new Date().toISOString(), seconds: (performance.now() - t0) / 1000, loadAverage: loadAverage() });
  if (!cfg.keepIndexes) fs.rmSync(workDir, { recursive: true, force: true });

  const written = await writeReports(log.records, cfg.out);
  fs.copyFileSync(log.file, path.join(RESULTS_DIR, `${cfg.out}.jsonl`));
  say();
  say(fs.readFileSync(written.markdown, 'utf8'));
  say(`Run took ${fmtSeconds((performance.now() - t0) / 1000)}. Results: ${[log.file, path.join(RESULTS_DIR, `${cfg.out}.jsonl`), written.markdown, ...written.svgs].map((f) => path.relative(process.cwd(), f)).join(', ')}`);
}

function shutdown(signal: string): void {
  for (const s of liveSessions) s.kill();
  process.stderr.write(`\nbench: ${signal}, stopped\n`);
  process.exit(130);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

main().catch((e: unknown) => {
  for (const s of liveSessions) s.kill();
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
