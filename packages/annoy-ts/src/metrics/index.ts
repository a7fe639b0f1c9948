import { AnnoyArgumentError } from '../errors.ts';
import { Angular } from './angular.ts';
import { Dot } from './dot.ts';
import { Hamming } from './hamming.ts';
import type { Metric, MetricName } from './metric.ts';
import { Euclidean, Manhattan } from './minkowski.ts';
import { ANGULAR_RECORD, describeRecord, DOT_RECORD, HAMMING_RECORD, MINKOWSKI_RECORD, type RecordFields } from './record-fields.ts';

export type { Metric, MetricName } from './metric.ts';

const METRICS: Record<MetricName, new (f: number) => Metric> = {
  angular: Angular,
  euclidean: Euclidean,
  manhattan: Manhattan,
  dot: Dot,
  hamming: Hamming,
};

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** Each metric's record fields (euclidean and manhattan share Annoy's Minkowski record). */
export const RECORD_FIELDS: Readonly<Record<MetricName, RecordFields>> = {
  angular: ANGULAR_RECORD,
  euclidean: MINKOWSKI_RECORD,
  manhattan: MINKOWSKI_RECORD,
  dot: DOT_RECORD,
  hamming: HAMMING_RECORD,
};

const HINTS: Record<string, string> = {
  cosine: "cosine distance is 'angular' in Annoy",
  l2: "L2 distance is 'euclidean'",
  l1: "L1 distance is 'manhattan'",
  ip: "inner product is 'dot'",
  inner_product: "inner product is 'dot'",
  innerproduct: "inner product is 'dot'",
};

export function isMetricName(name: unknown): name is MetricName {
  return typeof name === 'string' && Object.hasOwn(METRICS, name);
}

/** The largest f accepted: keeps record sizes (and every offset computed from them) far inside int32. */
export const MAX_DIMENSION = 1 << 24;

export function createMetric(f: number, name: unknown): Metric {
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f > MAX_DIMENSION) {
    throw new AnnoyArgumentError(`f (the vector dimension) must be an integer from 1 to ${MAX_DIMENSION}, got ${describe(f)}`);
  }
  if (!isMetricName(name)) {
    const hint = typeof name === 'string' ? HINTS[name.toLowerCase()] : undefined;
    throw new AnnoyArgumentError(
      `unknown metric ${describe(name)}; expected one of ${METRIC_NAMES.map((m) => `'${m}'`).join(', ')}` +
        (hint ? ` (${hint})` : ''),
    );
  }
  return new METRICS[name](f);
}

/** A short, safe rendering of a bad value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
}

/** A metric's record layout for one f, as `annoy-ts info` shows it. */
export interface RecordLayout {
  recordBytes: number;
  /** Most item ids a leaf record holds (Annoy's K). */
  leafCapacity: number;
  /** Field offsets, one line (from the metric's record fields). */
  fields: string;
}

/** The record layout annoy-ts (and Annoy 1.17) uses for this f and metric. */
export function recordLayout(f: number, metric: MetricName): RecordLayout {
  const m = createMetric(f, metric);
  return { recordBytes: m.recordBytes, leafCapacity: m.leafCapacity, fields: describeRecord(m.fields, f) };
}
