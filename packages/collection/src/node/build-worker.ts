// A collection build on its own thread (so the event loop that serves queries and writes never
// waits for it): reads the live items of the segments it replaces from their files, adds the
// newest items' vectors it was handed, builds the forest (on `threads` threads: this one and
// threads − 1 workers) and, when the collection asks for one, the neighbour graph (on as many
// threads), writes the segment durably (index + sidecar + .graph, then the ids companion),
// and shares the built index's memory back, so the collection switches to it without reading it again.
import { parentPort, workerData } from 'node:worker_threads';
import { AnnoyIndex, shareIndex, writeFileAtomic, type GraphOptions, type MetricName, type SharedIndex, type Sidecar } from 'annoy-ts';
import { encodeIds, segmentFiles } from './files.ts';

export interface BuildRequest {
  f: number;
  metric: MetricName;
  trees: number;
  /** Also build the neighbour graph, with these options (null: the forest only). */
  graph: GraphOptions | null;
  threads: number;
  seed: string;
  dir: string;
  name: string;
  sources: { path: string; positions: Int32Array }[];
  rows: Float32Array;
  rowCount: number;
  ids: Float64Array;
  /** Tests: fail after writing the segment files, before answering (as a crash before the switch would). */
  failAfterWriting?: boolean;
}

export type BuildReply =
  | { ok: true; shared: SharedIndex | null; sidecar: Sidecar; seconds: number; graphSeconds: number | null }
  | { ok: false; error: string; name: string };

const request = workerData as BuildRequest;
try {
  const started = performance.now();
  const { f, metric, ids } = request;
  const index = new AnnoyIndex(f, metric);
  let k = 0;
  for (const { path, positions } of request.sources) {
    const source = AnnoyIndex.open(path, { f, metric, graph: false }); // its vectors only
    for (let j = 0; j < positions.length; j++) index.addItem(k++, source.getItemVector(positions[j]!));
    source.unload();
  }
  for (let r = 0; r < request.rowCount; r++) index.addItem(k++, request.rows.subarray(r * f, (r + 1) * f));
  if (k !== ids.length) throw new Error(`internal: ${k} vectors for ${ids.length} ids`);
  index.setSeed(BigInt(request.seed));
  index.build(request.trees, request.threads);
  let graphSeconds: number | null = null;
  if (request.graph) {
    const t = performance.now();
    index.buildGraph({ ...request.graph, nJobs: request.threads });
    graphSeconds = (performance.now() - t) / 1000;
  }
  const files = segmentFiles(request.dir, request.name);
  // save() writes the graph (if any) beside the index as `.ann.graph`, atomically, the folder flushed.
  index.save(files.ann, { metadata: { collection: { segment: request.name, items: ids.length } } });
  const sidecar = index.sidecar!;
  // Durable (the folder flushed too) before the database names the segment.
  writeFileAtomic(files.ids, encodeIds(ids, sidecar));
  if (request.failAfterWriting) throw new Error('test failure after writing the segment');
  let shared: SharedIndex | null = null;
  try {
    shared = shareIndex(index);
  } catch {
    // No shareable memory here (no SharedArrayBuffer or SIMD): the collection reads the file instead.
  }
  parentPort!.postMessage({ ok: true, shared, sidecar, seconds: (performance.now() - started) / 1000, graphSeconds } satisfies BuildReply);
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), name: request.name } satisfies BuildReply);
}
