import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AnnoyIndex, ShardedIndex, sidecarPath, type MetricName, type SearchResult, type WithDistances } from 'annoy-ts';
import { intOption, str, type Parsed } from './args.ts';
import { CliError, UsageError } from './errors.ts';
import { labelsFromText, type Labels } from '../server/labels.ts';
import { systemMessage } from './readers/dataset.ts';

/** The options query, info and eval share for opening an index. */
export const INDEX_OPTIONS = {
  f: { type: 'string' },
  metric: { type: 'string' },
  'no-verify': { type: 'boolean' },
} as const;

export const INDEX_HELP = `  --f F, --metric M   dimension and metric, needed for an index without a sidecar (a file
                      written by Annoy itself); with a sidecar they must match it
  --no-verify         skip the CRC-32 check of the index against its sidecar`;

/** A metric name, with Annoy's hints for common aliases (cosine → angular …). */
export function metricOption(value: string): MetricName {
  try {
    new AnnoyIndex(1, value as MetricName);
  } catch (cause) {
    throw new UsageError(`--metric: ${(cause as Error).message}`);
  }
  return value as MetricName;
}

export function dimensionOption(value: string | undefined): number | undefined {
  return value === undefined ? undefined : intOption(value, 'f', 1, 0);
}

/** Checks that the file exists (one clear line when it does not). */
export function checkFile(path: string, what = 'file'): void {
  try {
    if (statSync(path).isDirectory()) throw new CliError(`${path} is a folder, not ${what === 'file' ? 'a file' : `an ${what}`}`);
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw new CliError(`cannot open ${path}: ${systemMessage(cause)}`);
  }
}

export interface OpenedIndex {
  index: AnnoyIndex;
  labels: Labels | null;
}

/** `graph: false`: do not attach the neighbour graph beside the file (INDEX.graph) even when there is one. */
export function openIndex(path: string, values: Parsed['values'], options: { graph?: boolean } = {}): OpenedIndex {
  const f = dimensionOption(str(values, 'f'));
  const metricText = str(values, 'metric');
  const metric = metricText === undefined ? undefined : metricOption(metricText);
  checkFile(path, 'index');
  if (!existsSync(sidecarPath(path)) && (f === undefined || metric === undefined)) {
    throw new UsageError(
      `${path} has no sidecar (${sidecarPath(path)}), so its dimension and metric are unknown (Annoy's own files record neither): ` +
        `pass --f and --metric, or run \`annoy-ts info ${path}\` to infer them`,
    );
  }
  const index = AnnoyIndex.open(path, { f, metric, verifyChecksum: values['no-verify'] !== true, graph: options.graph !== false });
  const name = index.sidecar?.labels;
  return { index, labels: name === undefined ? null : readLabels(path, name, index.getNItems()) };
}

/** Reads the labels file a sidecar names (relative to the index's folder). */
function readLabels(indexPath: string, name: string, nItems: number): Labels {
  const path = join(dirname(indexPath), name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CliError(`cannot read ${path}, the labels file named in ${sidecarPath(indexPath)}: ${systemMessage(cause)}`);
  }
  return labelsFromText(path, text, nItems);
}

/** What query and eval ask of an index: one AnnoyIndex, or the ShardedIndex in a folder. */
export interface SearchableIndex {
  readonly f: number;
  readonly metric: MetricName;
  getNItems(): number;
  getNTrees(): number;
  getItemVector(id: number): number[];
  getNnsByVector(vector: ArrayLike<number>, n: number, options: WithDistances): SearchResult;
  getNnsByItem(id: number, n: number, options: WithDistances): SearchResult;
}

/** openIndex for a file; for a folder, the sharded index in it (f and metric from its manifest, labels from the file it names). */
export function openSearchable(path: string, values: Parsed['values']): { index: SearchableIndex; labels: Labels | null; sharded: ShardedIndex | null } {
  if (!isFolder(path)) return { ...openIndex(path, values), sharded: null };
  const index = ShardedIndex.open(path, { verifyChecksum: values['no-verify'] !== true });
  const f = dimensionOption(str(values, 'f'));
  const metricText = str(values, 'metric');
  if (f !== undefined && f !== index.f) throw new CliError(`--f ${f} was given, but ${path} holds a sharded index with f = ${index.f}`);
  if (metricText !== undefined && metricOption(metricText) !== index.metric) throw new CliError(`--metric ${metricText} was given, but ${path} holds a sharded index of metric ${index.metric}`);
  const name = index.manifest.labels;
  let labels: Labels | null = null;
  if (name !== undefined) {
    const file = join(path, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new CliError(`cannot read ${file}, the labels file named in ${join(path, 'manifest.json')}: ${systemMessage(cause)}`);
    }
    labels = labelsFromText(file, text, index.getNItems());
  }
  return { index, labels, sharded: index };
}

export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
