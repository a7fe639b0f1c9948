import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import {
  AnnoyFormatError, graphPath, inferRecordLayout, readFileBytes, readGraphHeader, recordLayout, sidecarPath, type AnnoyIndex, type RecordLayoutInference,
} from 'annoy-ts';
import { str, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { bytes, count, table } from '../format.ts';
import { checkFile, INDEX_HELP, INDEX_OPTIONS, isFolder, openIndex, openSearchable } from '../open-index.ts';

export const spec: CommandSpec = {
  name: 'info',
  positionals: ['INDEX'],
  options: {
    json: { type: 'boolean' },
    'ignore-sidecar': { type: 'boolean' },
    ...INDEX_OPTIONS,
  },
  help: `Usage: annoy-ts info INDEX [--json] [--f F --metric M] [--ignore-sidecar]

Describes an index: f, metric, items, trees, size, record layout, whether its sidecar
(INDEX.json) matches it (size and CRC-32), and its neighbour graph (INDEX.graph, written by
'annoy-ts build --graph'): edges, degree, size, and whether it belongs to these index bytes (a graph
that does not is never used). For the folder of a sharded index: its manifest, and
whether every shard matches it.

Without a sidecar (a file written by Annoy itself, which records neither f nor the metric) and
without --f/--metric, info infers them: every (metric, f) whose record size divides the file and
whose roots, child ids and descendant counts are consistent is listed, ranked by what the item
records show where the layouts differ, with how sure the verdict is.

Options:
  --json             one JSON object instead of text
  --ignore-sidecar   infer f and metric from the records even when a sidecar exists
${INDEX_HELP}
  --debug            stack traces on errors
  -h, --help         this help
`,
};

export async function execute({ values, positionals: [path] }: Parsed): Promise<void> {
  const json = values['json'] === true;
  const given = str(values, 'f') !== undefined || str(values, 'metric') !== undefined;
  if (values['ignore-sidecar'] && given) throw new UsageError('info: --ignore-sidecar infers f and metric; do not pass --f/--metric with it');
  if (isFolder(path)) {
    if (values['ignore-sidecar']) throw new UsageError(`info: ${path} is a folder (a sharded index, described by its manifest): --ignore-sidecar applies to index files`);
    describeSharded(path, values, json);
    return;
  }
  checkFile(path, 'index');
  const hasSidecar = existsSync(sidecarPath(path));
  if (values['ignore-sidecar'] || (!hasSidecar && !given)) {
    infer(path, json, hasSidecar);
    return;
  }
  describeIndex(path, values, json, hasSidecar);
}

function describeIndex(path: string, values: Record<string, unknown>, json: boolean, hasSidecar: boolean): void {
  const started = performance.now();
  let opened;
  let graphProblem: string | null = null;
  try {
    try {
      opened = openIndex(path, values as never);
    } catch (error) {
      // A graph that does not belong is described below, not a reason to stop describing the index.
      if (!(error instanceof AnnoyFormatError) || !error.message.startsWith(`${graphPath(path)}: `)) throw error;
      graphProblem = error.message.slice(graphPath(path).length + 2);
      opened = openIndex(path, values as never, { graph: false });
    }
  } catch (error) {
    if (hasSidecar && error instanceof AnnoyFormatError) {
      throw new CliError(`${error.message} (\`annoy-ts info ${path} --ignore-sidecar\` infers f and metric from the records)`);
    }
    throw error;
  }
  const ms = performance.now() - started;
  const { index, labels } = opened;
  const sidecar = index.sidecar;
  const size = statSync(path).size;
  const layout = recordLayout(index.f, index.metric);
  const nNodes = size / layout.recordBytes;
  const verified = values['no-verify'] !== true;
  const graph = describeGraph(path, index, graphProblem);
  if (json) {
    process.stdout.write(JSON.stringify({
      path, byteLength: size, f: index.f, metric: index.metric, nItems: index.getNItems(), graph,
      nTrees: sidecar?.nTrees ?? index.getNTrees(), roots: index.getNTrees(), nNodes,
      recordBytes: layout.recordBytes, leafCapacity: layout.leafCapacity, layout: layout.fields,
      sidecar: sidecar ? { path: sidecarPath(path), verified, ...sidecar } : null,
      labels: labels ? { path: labels.file, count: labels.labelled } : null,
    }) + '\n');
    return;
  }
  const rows: string[][] = [
    ['size', `${count(size)} bytes (${bytes(size)}): ${count(nNodes)} records of ${layout.recordBytes} bytes`],
    ['metric', index.metric],
    ['f', String(index.f)],
    ['items', `${count(index.getNItems())}${index.getNItems() > 0 ? ` (ids 0 … ${index.getNItems() - 1})` : ''}`],
    ['trees', sidecar && sidecar.nTrees !== index.getNTrees()
      ? `${sidecar.nTrees} built (Annoy's root scan finds ${index.getNTrees()} roots: every tree is a single leaf)`
      : String(index.getNTrees())],
    ['layout', `${layout.fields}; leaves hold up to ${layout.leafCapacity} ids`],
  ];
  if (sidecar) {
    rows.push(['seed', sidecar.seed ?? 'unknown']);
    rows.push(['created by', sidecar.createdBy]);
    if (labels) rows.push(['labels', `${labels.file} (${count(labels.labelled)} labels)`]);
    if (sidecar.metadata) rows.push(['metadata', JSON.stringify(sidecar.metadata)]);
    rows.push(['sidecar', `${sidecarPath(path)}: matches (size${verified ? ` and ${sidecar.checksum}` : '; checksum not checked'}; opened in ${ms.toFixed(1)} ms)`]);
  } else {
    rows.push(['sidecar', `none: f and metric as given (--f ${index.f} --metric ${index.metric}); they cannot be checked against the file`]);
  }
  if (graph) {
    const shape = graph.edges === undefined ? '' : `${count(graph.edges)} edges, degree ≤ ${graph.maxDegree} (${graph.meanDegree!.toFixed(1)} on average), `;
    rows.push(['graph', graph.belongs
      ? `${graph.path}: ${shape}${bytes(graph.byteLength)}; belongs to these index bytes (length and CRC-32): queries walk it`
      : `${graph.path}: ${shape}${bytes(graph.byteLength)}; NOT USED: ${graph.problem}`]);
  } else {
    rows.push(['graph', `none (annoy-ts build --graph writes ${basename(graphPath(path))})`]);
  }
  process.stdout.write(`${path}\n${table(rows).split('\n').map((l) => `  ${l}`).join('\n')}\n`);
}

interface GraphInfo {
  path: string;
  byteLength: number;
  belongs: boolean;
  /** What is wrong with a graph that does not belong (or is damaged). */
  problem?: string;
  version?: number;
  edges?: number;
  maxDegree?: number;
  meanDegree?: number;
}

/** The graph file beside `path` (null when there is none): its header, and whether the index attached it. */
function describeGraph(path: string, index: AnnoyIndex, problem: string | null): GraphInfo | null {
  const file = graphPath(path);
  if (!existsSync(file)) return null;
  const info: GraphInfo = { path: file, byteLength: statSync(file).size, belongs: problem === null && index.hasGraph() };
  if (!info.belongs) info.problem = problem ?? 'not attached';
  try {
    const header = readGraphHeader(readFileBytes(file), file);
    Object.assign(info, {
      version: header.version, edges: header.edges, maxDegree: header.maxDegree,
      meanDegree: Math.round((100 * header.edges) / Math.max(1, header.nItems)) / 100,
    });
  } catch {
    // Its header is unreadable: the problem above says why.
  }
  return info;
}

/** A sharded index's folder: its manifest, every shard checked against it (opened as query does). */
function describeSharded(path: string, values: Parsed['values'], json: boolean): void {
  const started = performance.now();
  const { sharded, labels } = openSearchable(path, values);
  const index = sharded!;
  const ms = performance.now() - started;
  const { manifest } = index;
  const total = manifest.shards.reduce((sum, s) => sum + s.byteLength, 0);
  const verified = values['no-verify'] !== true;
  const ids = (s: (typeof manifest.shards)[number]) => ('first' in s.ids ? `${s.firstId} … ${s.lastId}` : `${s.firstId} … ${s.lastId} (id file)`);
  if (json) {
    process.stdout.write(JSON.stringify({
      path, sharded: true, byteLength: total, f: index.f, metric: index.metric, nItems: index.getNItems(), count: index.size,
      nTrees: index.getNTrees(), build: manifest.build, createdBy: manifest.createdBy, verified, shards: manifest.shards,
      labels: labels ? { path: labels.file, count: labels.labelled } : null, metadata: manifest.metadata ?? null,
    }) + '\n');
    return;
  }
  const rows: string[][] = [
    ['sharded', `${manifest.shards.length} shards, ${count(total)} bytes (${bytes(total)}) in all; build ${manifest.build} by ${manifest.createdBy}`],
    ['metric', index.metric],
    ['f', String(index.f)],
    ['items', `${count(index.size)} (ids 0 … ${index.getNItems() - 1}${index.size < index.getNItems() ? `, ${count(index.getNItems() - index.size)} unused` : ''})`],
    ['trees', `${index.getNTrees()} per shard`],
  ];
  if (labels) rows.push(['labels', `${labels.file} (${count(labels.labelled)} labels)`]);
  if (manifest.metadata) rows.push(['metadata', JSON.stringify(manifest.metadata)]);
  rows.push(['manifest', `every shard matches (size${verified ? ' and CRC-32' : '; checksums not checked'}; opened in ${ms.toFixed(1)} ms)`]);
  const graphs = manifest.shards.some((s) => s.graph);
  if (graphs) rows.push(['graph', `${manifest.shards.filter((s) => s.graph).length} of ${manifest.shards.length} shards have a neighbour graph (checked against the manifest, attached)`]);
  const shards = table([
    ['shard', 'file', 'items', 'ids', 'size', ...(graphs ? ['graph'] : [])],
    ...manifest.shards.map((s, k) => [String(k), s.file, count(s.nItems), ids(s), bytes(s.byteLength), ...(graphs ? [s.graph ? bytes(s.graph.byteLength) : '-'] : [])]),
  ], [true, false, true, false, true, true]);
  process.stdout.write(`${path}\n${table(rows).split('\n').map((l) => `  ${l}`).join('\n')}\n${shards.split('\n').map((l) => `    ${l}`).join('\n')}\n`);
}

function infer(path: string, json: boolean, hasSidecar: boolean): void {
  const data = readFileBytes(path);
  const result: RecordLayoutInference = inferRecordLayout(data);
  if (json) {
    process.stdout.write(JSON.stringify({ path, byteLength: result.byteLength, sidecar: null, inference: result }) + '\n');
  } else {
    const lines = [
      `${path}: ${count(data.length)} bytes, ${hasSidecar ? 'sidecar ignored' : `no sidecar (${sidecarPath(path)})`}: inferring f and metric from the records`,
    ];
    if (result.candidates.length > 0) {
      lines.push('candidates (record size divides the file; roots, child ids and counts consistent):');
      const rows = result.candidates.map((c, i) => [
        `${i + 1}.`, c.metric, `f = ${c.fMin !== undefined && c.fMin !== c.f ? `${c.fMin}…${c.f}` : c.f}`,
        `${count(c.nItems)} items`, `${c.nTrees} roots`, c.verdict, c.evidence,
      ]);
      lines.push(table(rows, [true]).split('\n').map((l) => `  ${l}`).join('\n'));
    }
    lines.push(`${result.rejected} other (metric, f) pair${result.rejected === 1 ? '' : 's'} with a record size dividing the file failed the structural checks`);
    lines.push(`verdict (${result.confidence} confidence): ${result.summary}`);
    const best = result.candidates[0];
    if (best && result.confidence !== 'none') {
      lines.push(`use it with: annoy-ts query ${path} --f ${best.f} --metric ${best.metric} …`);
      if (best.metric === 'hamming' && best.fMin !== undefined && best.fMin !== best.f) {
        lines.push(`(hamming: any f from ${best.fMin} to ${best.f} gives the same records; pass the one the index was built with)`);
      }
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (result.candidates.length === 0) throw new CliError(`${path}: ${result.summary}`);
}
