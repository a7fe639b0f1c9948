// The `.graph` companion file on disk (see graph/format.ts for its contents): read when present,
// and written around the index's own save so that no crash or failure leaves a `.graph` beside
// an index file it does not belong to.
import { existsSync } from 'node:fs';
import { AnnoyError, AnnoyIOError } from '../errors.ts';
import { graphPath } from '../graph/format.ts';
import type { Crc32 } from '../formats/checksum.ts';
import type { GraphSource } from '../graph/index-graph.ts';
import { readFileInto, replaceCompanion } from './files.ts';

/** `indexPath`'s graph file as a source to read into the index's memory (native CRC-32), or null when there is none. */
export function graphFileSource(indexPath: string, crc32: Crc32): GraphSource | null {
  const path = graphPath(indexPath);
  if (!existsSync(path)) return null;
  return { name: path, crc32, read: (allocate) => void readFileInto(path, allocate) };
}

/**
 * Saves an index (`saveIndex` writes the index file and its sidecar) together with its graph
 * (`graph`: the new .graph bytes, or null for none), the graph replaced around the save
 * (replaceCompanion in files.ts): a crash leaves the old graph with the old index, or no graph, or
 * the new graph with the new index — never a graph beside an index file it does not belong to (and
 * a graph that did not belong would be refused when loading anyway: it records the index file's
 * length and CRC-32). If saving the index fails, the old graph is put back.
 */
export function saveWithGraph(indexPath: string, graph: Uint8Array | null, saveIndex: () => void): void {
  const path = graphPath(indexPath);
  try {
    replaceCompanion(path, graph, saveIndex);
  } catch (cause) {
    if (cause instanceof AnnoyError) throw cause;
    throw new AnnoyIOError(`cannot save ${path}: ${(cause as Error).message}`, { cause });
  }
}
