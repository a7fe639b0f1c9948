// The `.graph` companion file on disk (see graph/format.ts for its contents): read when present,
// and written around the index's own save so that no crash or failure leaves a `.graph` beside
// an index file it does not belong to.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AnnoyError, AnnoyIOError } from '../errors.ts';
import { graphPath } from '../graph/format.ts';
import type { Crc32 } from '../formats/checksum.ts';
import type { GraphSource } from '../graph/index-graph.ts';
import { readFileInto } from './files.ts';

/** `indexPath`'s graph file as a source to read into the index's memory (native CRC-32), or null when there is none. */
export function graphFileSource(indexPath: string, crc32: Crc32): GraphSource | null {
  const path = graphPath(indexPath);
  if (!existsSync(path)) return null;
  return { name: path, crc32, read: (allocate) => void readFileInto(path, allocate) };
}

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a folder; the order of the renames then rests on the OS.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Saves an index (`saveIndex` writes the index file and its sidecar) together with its graph
 * (`graph`: the new .graph bytes, or null for none):
 *   1. the new graph is written to a temporary file beside its target and flushed;
 *   2. the old graph (if any) is renamed out of the way;
 *   3. the index is saved;
 *   4. the new graph is renamed into place; the old one is deleted.
 * A crash leaves the old graph with the old index, or no graph, or the new graph with the new
 * index — never a graph beside an index file it does not belong to (and a graph that did not
 * belong would be refused when loading anyway: it records the index file's length and CRC-32).
 * If saving the index fails, the old graph is put back.
 */
export function saveWithGraph(indexPath: string, graph: Uint8Array | null, saveIndex: () => void): void {
  const path = graphPath(indexPath);
  const dir = dirname(path);
  const newTemp = graph && tempBeside(path);
  const oldTemp = tempBeside(path);
  let movedOld = false;
  let indexSaved = false;
  try {
    if (newTemp) writeNewFile(newTemp, graph!);
    try {
      renameSync(path, oldTemp);
      movedOld = true;
      syncDir(dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    }
    saveIndex();
    indexSaved = true;
    if (newTemp) {
      renameSync(newTemp, path);
      syncDir(dir);
    }
  } catch (cause) {
    if (newTemp) rmSync(newTemp, { force: true });
    if (movedOld && !indexSaved) {
      try {
        renameSync(oldTemp, path);
        movedOld = false;
      } catch {
        // Could not put it back: (old index, no graph) is still consistent.
      }
    }
    if (cause instanceof AnnoyError) throw cause;
    throw new AnnoyIOError(`cannot save ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    if (movedOld) rmSync(oldTemp, { force: true });
  }
}

function writeNewFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
