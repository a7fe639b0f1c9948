/**
 * Exact k-nearest-neighbour ground truth by brute force, on all cores.
 *
 * The base and the queries are put in SharedArrayBuffers (one copy, shared by
 * every worker); workers (gt-worker.mjs, plain JS, see there why) pull ranges
 * of queries from a queue, scan the whole base for 8 queries at a time with
 * float64 accumulation and keep a sorted top-k per query. Results are written
 * straight into shared output arrays.
 *
 * Metrics (ties broken by the smaller base id):
 *   angular   — cosine: neighbours by largest cos(q, b) (normalise, then max dot);
 *               reported distance sqrt(2 − 2·cos), as Annoy's angular distance
 *   euclidean — smallest squared L2; reported distance sqrt(Σ (q_t − b_t)²), as Annoy
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { log } from './paths.ts';

export type Metric = 'angular' | 'euclidean';

export interface GroundTruthInput {
  /** nBase × dim float32, row-major. */
  base: Float32Array;
  /** nQueries × dim float32, row-major. */
  queries: Float32Array;
  dim: number;
  metric: Metric;
  /** Neighbours per query (≤ number of base rows). */
  k: number;
}

export interface GroundTruthOptions {
  /** Worker threads; default os.availableParallelism(). */
  threads?: number;
  /** No progress output. */
  quiet?: boolean;
  /** Name shown in the progress line. */
  label?: string;
}

export interface GroundTruth {
  /** nQueries × k base row ids, nearest first. */
  ids: Int32Array;
  /** nQueries × k distances (Annoy's convention, see top of file), matching `ids`. */
  distances: Float32Array;
  k: number;
  /** Wall-clock seconds of the computation. */
  seconds: number;
  threads: number;
}

function shared<T extends Float32Array | Float64Array | Int32Array>(
  Ctor: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT));
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Compute the exact k nearest base rows of every query, in parallel. */
export async function computeGroundTruth(input: GroundTruthInput, opts: GroundTruthOptions = {}): Promise<GroundTruth> {
  const { dim, metric, k } = input;
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`bad dim ${dim}`);
  if (input.base.length % dim !== 0 || input.queries.length % dim !== 0) throw new RangeError('array length is not a multiple of dim');
  const nBase = input.base.length / dim;
  const nQueries = input.queries.length / dim;
  if (!Number.isInteger(k) || k < 1 || k > nBase) throw new RangeError(`k must be in [1, ${nBase}], got ${k}`);
  if (metric !== 'angular' && metric !== 'euclidean') throw new RangeError(`unknown metric ${String(metric)}`);

  const t0 = performance.now();
  const base = shared(Float32Array, nBase * dim);
  base.set(input.base);
  const queries = shared(Float32Array, nQueries * dim);
  queries.set(input.queries);
  let invNorm: Float64Array | null = null;
  if (metric === 'angular') {
    invNorm = shared(Float64Array, nBase);
    for (let j = 0; j < nBase; j++) {
      let s = 0;
      for (let t = 0, o = j * dim; t < dim; t++) s += base[o + t]! * base[o + t]!;
      invNorm[j] = s > 0 ? 1 / Math.sqrt(s) : 0;
    }
  }
  const outIds = shared(Int32Array, nQueries * k);
  const outDist = shared(Float64Array, nQueries * k);

  // Chunks of about 2·10⁹ multiply-adds (~1 s per core), a multiple of 8 queries.
  const chunk = Math.max(8, Math.min(512, Math.round(2e9 / (nBase * dim) / 8) * 8));
  const nChunks = Math.ceil(nQueries / chunk);
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), nChunks));
  const label = opts.label ?? 'ground truth';
  const quiet = opts.quiet === true;
  const tty = process.stderr.isTTY === true;
  if (!quiet) {
    log(`${label}: exact ${k}-NN (${metric}) of ${nQueries} queries in ${nBase} base rows × ${dim}, ${threads} threads`);
  }

  let next = 0;
  let done = 0;
  let lastPrint = performance.now();
  const progress = (final: boolean): void => {
    if (quiet) return;
    const now = performance.now();
    if (!final && now - lastPrint < (tty ? 1000 : 15000)) return;
    lastPrint = now;
    const elapsed = (now - t0) / 1000;
    const pct = ((100 * done) / Math.max(1, nQueries)).toFixed(1);
    const eta = done > 0 ? (elapsed * (nQueries - done)) / done : Number.NaN;
    const line = final
      ? `${label}: done, ${nQueries} queries in ${elapsed.toFixed(1)} s`
      : `${label}: ${done}/${nQueries} queries (${pct}%), ${formatDuration(elapsed)} elapsed, ETA ${formatDuration(eta)}`;
    if (tty) process.stderr.write(`\r\x1b[K[datasets] ${line}${final ? '\n' : ''}`);
    else log(line);
  };

  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const fail = (err: unknown): void => {
        if (finished) return;
        finished = true;
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const feed = (w: Worker): void => {
        if (next >= nQueries) {
          w.postMessage(null);
          return;
        }
        const start = next;
        const end = Math.min(nQueries, start + chunk);
        next = end;
        w.postMessage({ start, end });
      };
      let running = threads;
      for (let i = 0; i < threads; i++) {
        const w = new Worker(new URL('./gt-worker.mjs', import.meta.url), {
          workerData: {
            metric,
            dim,
            nBase,
            k,
            base: base.buffer,
            invNorm: invNorm === null ? null : invNorm.buffer,
            queries: queries.buffer,
            outIds: outIds.buffer,
            outDist: outDist.buffer,
          },
          execArgv: [], // the worker is plain JS; do not inherit tsx's loader flags
        });
        workers.push(w);
        w.on('message', (msg: { start: number; end: number }) => {
          done += msg.end - msg.start;
          progress(false);
          feed(w);
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`ground-truth worker exited with code ${code}`));
          else if (--running === 0) {
            if (done === nQueries) {
              finished = true;
              resolve();
            } else fail(new Error(`ground-truth workers stopped after ${done} of ${nQueries} queries`));
          }
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const seconds = (performance.now() - t0) / 1000;
  progress(true);
  const ids = new Int32Array(outIds); // copy out of shared memory
  const distances = new Float32Array(outDist);
  return { ids, distances, k, seconds, threads };
}

/**
 * Simple single-threaded reference (independent of the worker code): all
 * distances of one query, fully sorted by (distance, id). For tests and
 * spot checks only — O(nBase · dim + nBase log nBase) per query.
 * Angular normalises both vectors in float64 and compares cosines.
 */
export function bruteForceKnn(
  base: Float32Array,
  dim: number,
  query: Float32Array,
  metric: Metric,
  k: number,
): { ids: Int32Array; distances: Float64Array } {
  const nBase = base.length / dim;
  const dist = new Float64Array(nBase);
  let qn = 0;
  for (let t = 0; t < dim; t++) qn += query[t]! * query[t]!;
  qn = Math.sqrt(qn);
  for (let j = 0; j < nBase; j++) {
    const o = j * dim;
    if (metric === 'angular') {
      let bn = 0;
      for (let t = 0; t < dim; t++) bn += base[o + t]! * base[o + t]!;
      bn = Math.sqrt(bn);
      let dot = 0;
      for (let t = 0; t < dim; t++) {
        const qv = qn > 0 ? query[t]! / qn : 0;
        const bv = bn > 0 ? base[o + t]! / bn : 0;
        dot += qv * bv;
      }
      dist[j] = Math.sqrt(Math.max(0, 2 - 2 * Math.min(1, dot)));
    } else {
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const d = query[t]! - base[o + t]!;
        s += d * d;
      }
      dist[j] = Math.sqrt(s);
    }
  }
  const order = Array.from({ length: nBase }, (_, j) => j);
  order.sort((a, b) => dist[a]! - dist[b]! || a - b);
  const ids = Int32Array.from(order.slice(0, k));
  return { ids, distances: Float64Array.from(ids, (j) => dist[j]!) };
}
