// Loading one shard of a sharded index and checking it against the manifest: used by
// ShardedIndex.open on the calling thread and by the loading threads of ShardedIndex.openAsync.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { AnnoyError, AnnoyFormatError, AnnoyIOError } from '../errors.ts';
import { AnnoyIndex } from '../node/annoy-index.ts';
import { checksumOf } from '../node/checksum.ts';
import { readFileBytes } from '../node/files.ts';
import type { SharedIndex } from '../threads/share.ts';
import type { ShardFile, ShardManifest } from './manifest.ts';

/** @internal What a loading thread is asked to do: open these shards of the set. */
export interface OpenRequest {
  dir: string;
  manifest: ShardManifest;
  shards: number[];
  verifyChecksum: boolean;
}

/** @internal A loading thread's answer for one shard. */
export type OpenReply =
  | { shard: number; ok: true; shared: SharedIndex; ids: Int32Array | null }
  | { shard: number; ok: false; unshareable: boolean; name: string; message: string };

export function shardName(manifest: ShardManifest, k: number, path: string): string {
  return `shard ${k} of ${manifest.shards.length} (${path})`;
}

/** Loads shard k and checks it (and its id file) against the manifest. */
export function loadShard(dir: string, manifest: ShardManifest, k: number, verifyChecksum: boolean): { index: AnnoyIndex; ids: Int32Array | null } {
  const entry = manifest.shards[k];
  const path = join(dir, entry.file);
  const name = shardName(manifest, k, path);
  const fail = (msg: string): never => {
    throw new AnnoyFormatError(`${name}: ${msg}`);
  };
  checkFileLength(path, entry, name, 'the shard');
  let index: AnnoyIndex;
  try {
    // f and metric from the manifest: a shard whose sidecar says otherwise does not belong.
    // Its graph (checked to belong to these bytes) only when the manifest lists one.
    index = AnnoyIndex.open(path, { f: manifest.f, metric: manifest.metric, verifyChecksum: false, graph: entry.graph !== undefined });
  } catch (e) {
    if (e instanceof AnnoyIOError || !(e instanceof AnnoyError)) throw e;
    return fail(e.message.replace(`${path} `, 'the file '));
  }
  if (index.sidecar && index.sidecar.checksum !== entry.checksum) {
    fail(`its sidecar says checksum ${index.sidecar.checksum}, but the manifest says ${entry.checksum}: the shard belongs to another build`);
  }
  if (verifyChecksum) {
    const sum = checksumOf(index.toBuffer());
    if (sum !== entry.checksum) fail(`the file has checksum ${sum}, but the manifest says ${entry.checksum}: it is damaged or belongs to another build`);
  }
  if (index.getNItems() !== entry.nItems) fail(`the file holds ${index.getNItems()} items, but the manifest says ${entry.nItems}`);
  let ids: Int32Array | null = null;
  if ('file' in entry.ids) ids = readIdFile(dir, entry.ids, name, verifyChecksum);
  if (entry.graph) {
    const graphPath = join(dir, entry.graph.file);
    checkFileLength(graphPath, entry.graph, name, 'its graph file');
    if (verifyChecksum && checksumOf(readFileBytes(graphPath)) !== entry.graph.checksum) fail(`its graph file ${graphPath} does not match the manifest's checksum`);
  }
  return { index, ids };
}

function checkFileLength(path: string, file: ShardFile, name: string, what: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new AnnoyFormatError(`${name}: ${what} ${path} is not a regular file`);
    size = stat.size;
  } catch (cause) {
    if (cause instanceof AnnoyError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new AnnoyFormatError(`${name}: ${what} ${path} is missing`, { cause });
    throw new AnnoyIOError(`${name}: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  if (size !== file.byteLength) {
    throw new AnnoyFormatError(`${name}: ${what} ${path} is ${size} bytes, but the manifest says ${file.byteLength} (truncated, or replaced by another file)`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads an id file: nItems int32 values, little-endian. */
function readIdFile(dir: string, file: ShardFile, name: string, verifyChecksum: boolean): Int32Array {
  const path = join(dir, file.file);
  checkFileLength(path, file, name, 'its id file');
  const bytes = readFileBytes(path);
  if (verifyChecksum && checksumOf(bytes) !== file.checksum) {
    throw new AnnoyFormatError(`${name}: its id file ${path} has checksum ${checksumOf(bytes)}, but the manifest says ${file.checksum}`);
  }
  const ids = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < ids.length; i++) ids[i] = view.getInt32(4 * i, true);
  }
  return ids;
}

