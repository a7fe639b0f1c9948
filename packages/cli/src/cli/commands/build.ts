import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  AnnoyIndex, DEFAULT_MAX_SHARD_BYTES, estimateIndexBytes, graphPath, ShardedIndexBuilder, sidecarPath, type BuildProgress, type GraphOptions, type MetricName,
} from 'annoy-ts';
import { intOption, required, str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { systemMessage } from '../readers/dataset.ts';
import { bytes, count } from '../format.ts';
import { labelsPathFor, writeLabels } from '../../server/labels.ts';
import { metricOption } from '../open-index.ts';
import { createProgress } from '../progress.ts';
import { FORMATS, readVectors } from '../readers/index.ts';

export const spec: CommandSpec = {
  name: 'build',
  positionals: ['INPUT'],
  options: {
    output: { type: 'string', short: 'o' },
    metric: { type: 'string', short: 'm' },
    trees: { type: 'string', short: 't' },
    seed: { type: 'string' },
    jobs: { type: 'string', short: 'j' },
    format: { type: 'string' },
    'label-column': { type: 'string' },
    'id-column': { type: 'string' },
    header: { type: 'boolean' },
    'no-header': { type: 'boolean' },
    delimiter: { type: 'string' },
    metadata: { type: 'string' },
    shards: { type: 'string' },
    'max-shard-bytes': { type: 'string' },
    graph: { type: 'boolean' },
    'graph-degree': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  help: `Usage: annoy-ts build INPUT -o INDEX --metric M [--trees N] [--seed S] [--jobs J] [options]

Builds an Annoy index from the vectors in INPUT and writes INDEX (Annoy's own file format, readable
by Python/C++ Annoy), its sidecar INDEX.json (f, metric, counts, checksum) and, when the input has
labels (words, keys), INDEX.labels.json so that 'annoy-ts query --label' works.

INPUT formats (by extension, or --format):
  .npy              NumPy array, float32 or float64, 2-D (rows × dimensions), C order
  .fvecs / .bvecs   ANN benchmark vectors (int32 dimension + float32 / uint8 values per row)
  .fbin             uint32 rows, uint32 dimension, then float32 values
  .csv / .tsv       one vector per row; optional header, label column and id column
  .jsonl            one JSON array per line, or {"vector": [...], "id": 7, "label": "x"}
  .txt / .vec       word vectors: "word v1 v2 …" (GloVe; word2vec/fastText text with its header)

Options:
  -o, --output INDEX      the index file to write (required)
  -m, --metric M          angular, euclidean, manhattan, dot or hamming (required)
  -t, --trees N           number of trees (default 10; "auto" = Annoy's -1: until the index has
                          about twice as many nodes as items). More trees: better recall, bigger file
      --seed S            seed of the tree builder (an integer; default Annoy's), for reproducible builds
  -j, --jobs J            threads that build the trees and the graph (-1: every core when the
                          index is large enough to gain from it; default -1)
      --format F          ${FORMATS.join(', ')} (default: from the extension)
      --label-column C    CSV/TSV: the label column, by header name or 1-based number (default: a
                          column named label/word/key/name/token/text, or a non-numeric first column)
      --id-column C       CSV/TSV: a column of item ids (default: a column named "id"; else row numbers)
      --header, --no-header   CSV/TSV: the first line is / is not a header (default: detected)
      --delimiter D       CSV/TSV: the field separator (default "," for .csv, tab for .tsv)
      --metadata JSON     a JSON object to store in the sidecar under "metadata"
      --graph             also build the neighbour graph and write it to INDEX.graph (INDEX itself
                          stays Annoy's file): queries then walk the graph, much faster at the same
                          recall; --search-k stays the knob. Each shard of a sharded index gets one
      --graph-degree D    most neighbours an item keeps in the graph (default 32; implies --graph)
      --shards N          write a sharded index: INDEX is then a folder of N indexes of equal size
                          (each a plain Annoy file) and their manifest; query, info, eval and serve
                          take the folder. Each shard has --trees trees; queries search every shard
      --max-shard-bytes B a sharded index whose shards stay below B bytes each (e.g. 512M, 2G).
                          Without either option, an input too large for one index (more than
                          ${DEFAULT_MAX_SHARD_BYTES / 2 ** 30} GiB estimated: one WebAssembly memory holds 4 GiB) is sharded this way
  -q, --quiet             no progress bars and no summary
      --debug             stack traces on errors
  -h, --help              this help

Example:
  annoy-ts build glove.6B.50d.txt -o glove.ann --metric angular --trees 20
`,
};

export async function execute({ values, positionals: [input] }: Parsed): Promise<void> {
  const output = required(values, 'output', 'build');
  const metric = metricOption(required(values, 'metric', 'build'));
  const trees = intOption(str(values, 'trees'), 'trees', 1, 10, { auto: -1, '-1': -1 });
  const jobs = intOption(str(values, 'jobs'), 'jobs', 1, -1, { '-1': -1 });
  const seed = seedOption(str(values, 'seed'));
  const metadata = metadataOption(str(values, 'metadata'));
  if (values['header'] && values['no-header']) throw new UsageError('build: --header and --no-header contradict each other');
  const header = values['header'] ? true : values['no-header'] ? false : undefined;
  const quiet = values['quiet'] === true;
  const shards = str(values, 'shards') === undefined ? undefined : intOption(str(values, 'shards'), 'shards', 1, 1);
  const maxShardBytes = byteSizeOption(str(values, 'max-shard-bytes'), 'max-shard-bytes');
  const graph = graphOption(values);
  checkOutput(output, shards !== undefined || maxShardBytes !== undefined);
  const progress = createProgress(!quiet);
  const started = performance.now();

  const delimiter = str(values, 'delimiter');
  if (delimiter !== undefined && delimiter.replace('\\t', '\t').length !== 1) throw new UsageError(`--delimiter must be one character, got ${JSON.stringify(delimiter)}`);
  progress.start('reading', 1, 'bytes');
  const data = await readVectors(input, {
    format: str(values, 'format'),
    labelColumn: str(values, 'label-column'),
    idColumn: str(values, 'id-column'),
    header,
    delimiter: delimiter?.replace('\\t', '\t'),
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.stop();

  let largest = data.count - 1;
  if (data.ids) for (let r = 0; r < data.count; r++) largest = Math.max(largest, data.ids[r]);
  const estimate = estimateIndexBytes(data.dim, metric, largest + 1, trees);
  if (shards !== undefined || maxShardBytes !== undefined || estimate > DEFAULT_MAX_SHARD_BYTES) {
    if (shards === undefined && maxShardBytes === undefined) {
      checkOutput(output, true);
      if (!quiet) process.stderr.write(`the index would take about ${bytes(estimate)}, more than one index holds safely: writing a sharded index in the folder ${output}\n`);
    }
    buildSharded({ output, input, data, metric, trees, jobs, seed, metadata, shards, maxShardBytes, largest, quiet, started, progress, graph });
    return;
  }

  const index = new AnnoyIndex(data.dim, metric);
  if (seed !== undefined) index.setSeed(seed);
  for (let r = 0; r < data.count; r++) {
    index.addItem(data.ids ? data.ids[r] : r, data.data.subarray(r * data.dim, (r + 1) * data.dim));
  }
  const nItems = index.getNItems();
  progress.start(trees === -1 ? 'building' : `${trees} trees`, trees === -1 ? nItems : trees * nItems, 'items');
  index.build(trees, jobs, {
    onProgress: (p: BuildProgress) => {
      const done = p.placed === p.items ? p.trees : p.trees + p.placed / Math.max(p.items, 1);
      if (p.nTrees > 0) progress.update(done * nItems);
      else progress.update(p.placed, p.items); // automatic count: the bar shows the tree under construction
    },
  });
  progress.stop();
  let graphSeconds = 0;
  if (graph) {
    // The graph on the trees' threads, one bar per stage (it takes longer than the trees).
    let stage = '';
    const t = performance.now();
    index.buildGraph({
      nJobs: jobs,
      ...graph,
      onProgress: (p: BuildProgress) => {
        if (!p.graph) return;
        if (p.graph.stage !== stage) {
          if (stage) progress.stop();
          stage = p.graph.stage;
          progress.start(`graph: ${stage}`, p.graph.total, 'items');
        }
        progress.update(p.graph.done, p.graph.total);
      },
    });
    if (stage) progress.stop();
    graphSeconds = (performance.now() - t) / 1000;
  }

  let labelsFile: string | undefined;
  if (data.labels) {
    const byId: (string | null)[] = new Array<string | null>(nItems).fill(null);
    for (let r = 0; r < data.count; r++) byId[data.ids ? data.ids[r] : r] = data.labels[r];
    labelsFile = writeLabels(output, byId);
  }
  index.save(output, {
    labels: labelsFile,
    metadata: { source: { file: basename(input), format: data.format, rows: data.count }, ...metadata },
  });
  if (!quiet) {
    const size = statSync(output).size;
    const extra = [sidecarPath(output), ...(labelsFile ? [labelsFile] : [])].map((p) => basename(p)).join(', ');
    process.stdout.write(
      `built ${output}: ${count(data.count)} items, f = ${data.dim}, ${metric}, ${index.sidecar?.nTrees ?? index.getNTrees()} trees, ` +
        `${bytes(size)} in ${((performance.now() - started) / 1000).toFixed(2)} s (+ ${extra})\n`,
    );
    if (graph) {
      process.stdout.write(`graph ${graphPath(output)}: ${bytes(statSync(graphPath(output)).size)}, built in ${graphSeconds.toFixed(2)} s\n`);
    }
  }
}

interface ShardedBuild {
  output: string;
  input: string;
  data: Awaited<ReturnType<typeof readVectors>>;
  metric: MetricName;
  trees: number;
  jobs: number;
  seed: bigint | undefined;
  metadata: Record<string, unknown>;
  shards: number | undefined;
  maxShardBytes: number | undefined;
  largest: number;
  quiet: boolean;
  started: number;
  progress: ReturnType<typeof createProgress>;
  graph: GraphOptions | null;
}

/** A sharded index in the folder `output` (ShardedIndexBuilder: shards written as they fill, the manifest last). */
function buildSharded(b: ShardedBuild): void {
  const { output, data, progress } = b;
  // Labels by global id, in a file named for this build: readers of a set being replaced keep theirs.
  const labelsStem = join(output, `labels-${randomBytes(4).toString('hex')}`);
  const labelsName = data.labels ? basename(labelsPathFor(labelsStem)) : undefined;
  const builder = new ShardedIndexBuilder(output, data.dim, b.metric, {
    nTrees: b.trees, nJobs: b.jobs, seed: b.seed, maxShardBytes: b.maxShardBytes,
    maxShardItems: b.shards === undefined ? undefined : Math.ceil(data.count / b.shards),
    labels: labelsName,
    ...(b.graph ? { graph: b.graph } : {}),
    metadata: { source: { file: basename(b.input), format: data.format, rows: data.count }, ...b.metadata },
    onShard: (s) => progress.update(done += s.nItems),
  });
  let done = 0;
  try {
    progress.start(`${b.trees === -1 ? 'auto' : b.trees} trees per shard`, data.count, 'items');
    for (let r = 0; r < data.count; r++) builder.addItem(data.ids ? data.ids[r] : r, data.data.subarray(r * data.dim, (r + 1) * data.dim));
    if (data.labels) {
      const byId: (string | null)[] = new Array<string | null>(b.largest + 1).fill(null);
      for (let r = 0; r < data.count; r++) byId[data.ids ? data.ids[r] : r] = data.labels[r];
      writeLabels(labelsStem, byId);
    }
    const manifest = builder.finish();
    progress.stop();
    if (!b.quiet) {
      const size = manifest.shards.reduce((sum, s) => sum + s.byteLength, 0);
      process.stdout.write(
        `built ${output}: ${count(data.count)} items in ${manifest.shards.length} shard${manifest.shards.length === 1 ? '' : 's'}, f = ${data.dim}, ${b.metric}, ` +
          `${manifest.shards[0].nTrees} trees each${b.graph ? ' and a neighbour graph' : ''}, ${bytes(size)} in ${((performance.now() - b.started) / 1000).toFixed(2)} s (+ manifest.json${labelsName ? `, ${labelsName}` : ''})\n`,
      );
    }
  } catch (error) {
    progress.stop();
    builder.abort();
    if (labelsName) rmSync(labelsPathFor(labelsStem), { force: true });
    throw error;
  }
}

/** --graph / --graph-degree: the graph's options, or null for no graph. */
function graphOption(values: Parsed['values']): GraphOptions | null {
  const degree = str(values, 'graph-degree');
  if (degree === undefined) return values['graph'] === true ? {} : null;
  return { degree: intOption(degree, 'graph-degree', 1, 32) };
}

/** "2G", "512M", "64k", "1000000": bytes (binary units). */
function byteSizeOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  const n = m ? Math.floor(Number(m[1]) * 1024 ** (m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0)) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a size in bytes like 2G, 512M or 1000000, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Fails before any work when the index could not be written: no such folder, or a folder in its
 * place (a file in its place, for a sharded index, whose output is a folder).
 */
function checkOutput(output: string, sharded = false): void {
  const dir = dirname(resolve(output));
  let st;
  try {
    st = statSync(dir);
  } catch (cause) {
    throw new CliError(`cannot write ${output}: the folder ${dir} ${systemMessage(cause) === 'no such file or directory' ? 'does not exist' : `is not usable (${systemMessage(cause)})`}`);
  }
  if (!st.isDirectory()) throw new CliError(`cannot write ${output}: ${dir} is not a folder`);
  if (sharded && existsSync(output) && !statSync(output).isDirectory()) throw new CliError(`cannot write a sharded index to ${output}: it is a file (a sharded index is a folder)`);
  if (!sharded && existsSync(output) && statSync(output).isDirectory()) throw new CliError(`cannot write ${output}: it is a folder (pass --shards or --max-shard-bytes to write a sharded index there)`);
}

function seedOption(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new UsageError(`--seed must be an integer, got ${JSON.stringify(value)}`);
  const seed = BigInt(t);
  if (seed < -(1n << 63n) || seed >= 1n << 64n) throw new UsageError(`--seed ${t} does not fit in 64 bits`);
  return seed;
}

function metadataOption(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw new UsageError(`--metadata must be a JSON object: ${(cause as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--metadata must be a JSON object, like \'{"model": "glove.6B.50d"}\'');
  return parsed as Record<string, unknown>;
}
