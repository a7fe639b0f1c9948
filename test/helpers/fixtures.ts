import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { MetricName } from '../../packages/annoy-ts/src/index.ts';

/** The golden files written by real Annoy (fixtures/annoy/README.md says how they were made). */
export const FIXTURES = fileURLToPath(new URL('../../fixtures/annoy/', import.meta.url));

export interface QueryFile {
  metric: MetricName;
  f: number;
  k: number;
  search_k: number;
  items?: number[];
  results: { ids: number[]; distances: number[] }[];
}

export interface Fixture {
  name: string;
  dir: string;
  metric: MetricName;
  f: number;
  info: { node_size: number; K: number; n_nodes: number; n_items: number; n_trees: number; roots: number[] };
  build: { vectors: number; max_id: number; n_trees_requested: number; seed: string; n_jobs: number } | null;
  /** Rows of vectors.fbin (items.fbin for the legacy file), with the ids they were added under. */
  vectors: Float32Array[];
  ids: number[];
  queries: Float32Array[];
  file(name: string): string;
  json<T>(name: string): T;
}

export function readFbin(path: string): Float32Array[] {
  const buf = readFileSync(path);
  const n = buf.readUInt32LE(0), d = buf.readUInt32LE(4);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + 8 + n * d * 4));
  return Array.from({ length: n }, (_, r) => all.subarray(r * d, (r + 1) * d));
}

export function readIbin(path: string): number[] {
  const buf = readFileSync(path);
  const n = buf.readUInt32LE(0);
  return Array.from(new Int32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + 8 + n * 4)));
}

export function fixturesAvailable(): boolean {
  return existsSync(FIXTURES);
}

export function loadFixtures(): Fixture[] {
  if (!fixturesAvailable()) return [];
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(FIXTURES, d.name);
      const file = (name: string) => join(dir, name);
      const json = <T>(name: string): T => JSON.parse(readFileSync(file(name), 'utf8')) as T;
      const info = json<Fixture['info'] & { metric: MetricName; f: number }>('info.json');
      const build = existsSync(file('build.json')) ? json<{ build: Fixture['build'] }>('build.json').build : null;
      const vectors = readFbin(file(existsSync(file('vectors.fbin')) ? 'vectors.fbin' : 'items.fbin'));
      const ids = existsSync(file('ids.ibin')) ? readIbin(file('ids.ibin')) : vectors.map((_, i) => i);
      return { name: d.name, dir, metric: info.metric, f: info.f, info, build, vectors, ids, queries: readFbin(file('queries.fbin')), file, json };
    });
}
