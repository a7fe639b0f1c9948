// What the server shows of an index's neighbour graph (/v1/indexes): read from the header of the
// `.graph` file the index attached (the library checked that it belongs to the index bytes).
import { readFileSync } from 'node:fs';
import { graphPath, readGraphHeader } from 'annoy-ts';

export interface GraphSummary {
  path: string;
  byteLength: number;
  edges: number;
  maxDegree: number;
}

/** The graph file beside the index file `real`, when the loaded index attached it (`bytes`: its contents, if already read). */
export function graphSummary(real: string, attached: boolean, bytes?: Uint8Array): GraphSummary | null {
  if (!attached) return null;
  const path = graphPath(real);
  const contents = bytes ?? readFileSync(path);
  const header = readGraphHeader(contents, path);
  return { path, byteLength: contents.byteLength, edges: header.edges, maxDegree: header.maxDegree };
}
