// A short-lived worker thread that opens one index file for the server: reading the file into
// the index's (shared) WebAssembly memory, checking it against its sidecar and reading the labels
// all happen here, so the server's event loop never stalls on a large load. The worker hands back
// the shared memory's description (AnnoyIndex.fromSharedThread adopts it) and exits.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { packLabels, parseLabels, type PackedLabels } from './labels.ts';
import { AnnoyFormatError, AnnoyIndex, AnnoyIOError, crc32, parseSidecar, sidecarPath, type MetricName, type SharedIndex, type Sidecar } from 'annoy-ts';

export interface LoadRequest {
  realPath: string;
  f?: number;
  metric?: MetricName;
  verifyChecksum: boolean;
}

export type LoadReply =
  | { ok: true; shared: SharedIndex; sidecar: Sidecar | null; labels: PackedLabels | null }
  | { ok: false; unshareable: boolean; name: string; message: string };

/** AnnoyIndex.open's checks, on a subclass that may call the protected loadFile() and shareWithThread(). */
class LoadingIndex extends AnnoyIndex {
  static openChecked(path: string, f: number | undefined, metric: MetricName | undefined, verifyChecksum: boolean): { index: LoadingIndex; sidecar: Sidecar | null } {
    const where = sidecarPath(path);
    let text: string | null = null;
    try {
      text = readFileSync(where, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new AnnoyIOError(`cannot read ${where}: ${(cause as Error).message}`, { cause });
    }
    if (text === null) {
      if (f === undefined || metric === undefined) {
        throw new AnnoyFormatError(`${path} has no sidecar (${where}), so its dimension and metric are unknown: give --f and --metric, or save it with annoy-ts`);
      }
      const index = new LoadingIndex(f, metric);
      index.load(path);
      return { index, sidecar: null };
    }
    const sidecar = parseSidecar(text, where);
    if (f !== undefined && f !== sidecar.f) throw new AnnoyFormatError(`${where} says f = ${sidecar.f}, but f = ${f} was asked for`);
    if (metric !== undefined && metric !== sidecar.metric) throw new AnnoyFormatError(`${where} says metric ${sidecar.metric}, but ${metric} was asked for`);
    const index = new LoadingIndex(sidecar.f, sidecar.metric);
    index.loadFile(path, (bytes) => {
      if (bytes.length !== sidecar.byteLength) {
        throw new AnnoyFormatError(`${path} is ${bytes.length} bytes, but ${where} describes a ${sidecar.byteLength}-byte index (a partial copy, or a stale sidecar)`);
      }
      if (verifyChecksum) {
        const sum = `crc32:${crc32(bytes).toString(16).padStart(8, '0')}`;
        if (sum !== sidecar.checksum) {
          throw new AnnoyFormatError(`${path} has checksum ${sum}, but ${where} says ${sidecar.checksum}: the file is damaged, or was replaced without its sidecar`);
        }
      }
    });
    if (index.getNItems() !== sidecar.nItems) {
      throw new AnnoyFormatError(`${path} holds ${index.getNItems()} items, but ${where} says ${sidecar.nItems}: the sidecar belongs to another index`);
    }
    return { index, sidecar };
  }

  share(): SharedIndex {
    return this.shareWithThread();
  }
}

function readLabels(file: string, nItems: number): (string | null)[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AnnoyIOError(`cannot read the labels file ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseLabels(file, text, nItems);
}

function load(request: LoadRequest): LoadReply {
  const { realPath, f, metric, verifyChecksum } = request;
  let index: LoadingIndex;
  let sidecar: Sidecar | null;
  try {
    ({ index, sidecar } = LoadingIndex.openChecked(realPath, f, metric, verifyChecksum));
  } catch (e) {
    const err = e as Error;
    return { ok: false, unshareable: false, name: err.name, message: err.message };
  }
  let shared: SharedIndex;
  try {
    shared = index.share();
  } catch (e) {
    return { ok: false, unshareable: true, name: (e as Error).name, message: (e as Error).message };
  }
  try {
    const labelsFile = sidecar?.labels === undefined ? null : join(dirname(realPath), sidecar.labels);
    const labels = labelsFile === null ? null : packLabels(labelsFile, readLabels(labelsFile, index.getNItems()));
    return { ok: true, shared, sidecar, labels };
  } catch (e) {
    return { ok: false, unshareable: false, name: (e as Error).name, message: (e as Error).message };
  }
}

const reply = load(workerData as LoadRequest);
const packed = reply.ok ? reply.labels : null;
parentPort!.postMessage(reply, packed ? [packed.starts.buffer as ArrayBuffer, packed.isNull.buffer as ArrayBuffer, packed.table.buffer as ArrayBuffer] : []);
