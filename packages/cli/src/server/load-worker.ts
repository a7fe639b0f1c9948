// A short-lived worker thread that opens one index file for the server: AnnoyIndex.open reads the
// file into the index's (shared) WebAssembly memory and checks it against its sidecar, and the
// labels are read here too, so the server's event loop never stalls on a large load. The worker
// hands back shareIndex()'s description (the server attaches to it: attachIndex) and exits.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { packLabels, parseLabels, type PackedLabels } from './labels.ts';
import { graphSummary, type GraphSummary } from './graph.ts';
import { AnnoyIndex, AnnoyIOError, shareIndex, type MetricName, type SharedIndex, type Sidecar } from 'annoy-ts';

export interface LoadRequest {
  realPath: string;
  f?: number;
  metric?: MetricName;
  verifyChecksum: boolean;
}

export type LoadReply =
  | { ok: true; shared: SharedIndex; sidecar: Sidecar | null; labels: PackedLabels | null; graph: GraphSummary | null }
  | { ok: false; unshareable: boolean; name: string; message: string };

function readLabels(file: string, nItems: number): (string | null)[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AnnoyIOError(`cannot read the labels file ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseLabels(file, text, nItems);
}

function failure(e: unknown, unshareable = false): LoadReply {
  const err = e instanceof Error ? e : new Error(String(e));
  return { ok: false, unshareable, name: err.name, message: err.message };
}

function load(request: LoadRequest): LoadReply {
  const { realPath, f, metric, verifyChecksum } = request;
  let index: AnnoyIndex;
  try {
    index = AnnoyIndex.open(realPath, { f, metric, verifyChecksum });
  } catch (e) {
    return failure(e);
  }
  let shared: SharedIndex;
  try {
    shared = shareIndex(index);
  } catch (e) {
    return failure(e, true);
  }
  try {
    const sidecar = index.sidecar;
    const labelsFile = sidecar?.labels === undefined ? null : join(dirname(realPath), sidecar.labels);
    const labels = labelsFile === null ? null : packLabels(labelsFile, readLabels(labelsFile, index.getNItems()));
    // AnnoyIndex.open attached the graph beside the file when it belongs (shareIndex carries it).
    return { ok: true, shared, sidecar, labels, graph: graphSummary(realPath, index.hasGraph()) };
  } catch (e) {
    return failure(e);
  }
}

const reply = load(workerData as LoadRequest);
const packed = reply.ok ? reply.labels : null;
parentPort!.postMessage(reply, packed ? [packed.starts.buffer as ArrayBuffer, packed.isNull.buffer as ArrayBuffer, packed.table.buffer as ArrayBuffer] : []);
