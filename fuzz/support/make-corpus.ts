// Writes the seed corpora (fuzz/corpus/<target>/): small valid inputs of every kind, from which
// Jazzer mutates. Deterministic; run with `npx tsx fuzz/support/make-corpus.ts` after a format
// change. Files are named by what they hold; the fuzzer's own finds go to a scratch corpus
// (fuzz/run.mjs), so this folder stays small.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';
import { DIMENSIONS, encode } from '../targets/load.ts';
import { encodeGraphInput, graphFixtures, RESEAL, SET_OWNER } from '../targets/load-graph.ts';

const CORPUS = fileURLToPath(new URL('../corpus/', import.meta.url));

function put(target: string, name: string, bytes: Uint8Array | string): void {
  const dir = join(CORPUS, target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
}

function buildIndex(metric: MetricName, f: number, n: number, trees: number, holes: boolean, seed: number): AnnoyIndex {
  const rng = new Rng(seed);
  const index = new AnnoyIndex(f, metric);
  let id = 0;
  for (let k = 0; k < n; k++) {
    index.addItem(id, Array.from({ length: f }, () => (metric === 'hamming' ? rng.nextInt(2) : rng.nextRange(-1, 1))));
    id += holes && k % 3 === 1 ? 3 : 1;
  }
  index.setSeed(seed);
  index.build(trees);
  return index;
}

// ---- indexes, one target per metric
const shapes = [
  { n: 1, trees: 1, holes: false },
  { n: 2, trees: 2, holes: false },
  { n: 7, trees: 3, holes: true },
  { n: 24, trees: 2, holes: true },
  { n: 40, trees: 1, holes: false },
];
for (const metric of Object.keys(DIMENSIONS) as MetricName[]) {
  const dims = DIMENSIONS[metric];
  shapes.forEach((s, k) => {
    const f = dims[k % dims.length];
    const bytes = buildIndex(metric, f, s.n, s.trees, s.holes, 11 + k).toBuffer();
    put(`load-${metric}`, `f${f}-n${s.n}-t${s.trees}${s.holes ? '-holes' : ''}`, encode(metric, f, bytes));
  });
}

// ---- graph files (.graph) of small indexes, as read and as resealed after mutation
graphFixtures().forEach((g, k) => {
  put('load-graph', g.label, encodeGraphInput(k, 0, g.graphBytes));
  put('load-graph', `${g.label}-resealed`, encodeGraphInput(k, RESEAL | SET_OWNER, g.graphBytes));
});

// ---- sidecars: what save() writes, with and without the optional fields
{
  const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-corpus-'));
  try {
    const plain = buildIndex('angular', 3, 5, 2, false, 1);
    plain.save(join(dir, 'a.ann'));
    put('sidecar', 'angular', readFileSync(join(dir, 'a.ann.json')));
    const extra = buildIndex('hamming', 65, 6, 1, true, 2);
    extra.save(join(dir, 'h.ann'), { metadata: { model: 'x', dims: [1, 2], nested: { ok: true } }, labels: 'labels.json' });
    put('sidecar', 'hamming-labels-metadata', readFileSync(join(dir, 'h.ann.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- CLI input files
function npy(descr: string, shape: number[], values: number[], version = 1): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n';
  const size = descr.endsWith('8') ? 8 : 4;
  const out = new Uint8Array(pre + header.length + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  const little = !descr.startsWith('>');
  values.forEach((v, i) => (size === 4 ? view.setFloat32(pre + header.length + 4 * i, v, little) : view.setFloat64(pre + header.length + 8 * i, v, little)));
  return out;
}
const six = [0.5, -1, 2.25, 3, -0.125, 1e-3];
put('reader-npy', 'f4-2x3', npy('<f4', [2, 3], six));
put('reader-npy', 'f8-3x2', npy('<f8', [3, 2], six));
put('reader-npy', 'f4-big-endian-v2', npy('>f4', [1, 6], six, 2));
put('reader-npy', 'f8-v3', npy('<f8', [6, 1], six, 3));

function vecs(kind: 'fvecs' | 'bvecs', rows: number[][]): Uint8Array {
  const size = kind === 'fvecs' ? 4 : 1;
  const out = new Uint8Array(rows.reduce((s, r) => s + 4 + size * r.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of rows) {
    view.setInt32(at, r.length, true);
    at += 4;
    for (const v of r) {
      if (kind === 'fvecs') view.setFloat32(at, v, true);
      else view.setUint8(at, v);
      at += size;
    }
  }
  return out;
}
put('reader-fvecs', '2x3', vecs('fvecs', [[1, 2, 3], [-1, 0.5, 4]]));
put('reader-fvecs', '1x1', vecs('fvecs', [[7]]));
put('reader-bvecs', '3x4', vecs('bvecs', [[0, 1, 2, 255], [9, 8, 7, 6], [128, 0, 0, 1]]));

function fbin(rows: number, dim: number, values: number[]): Uint8Array {
  const out = new Uint8Array(8 + 4 * values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, rows, true);
  view.setUint32(4, dim, true);
  values.forEach((v, i) => view.setFloat32(8 + 4 * i, v, true));
  return out;
}
put('reader-fbin', '2x3', fbin(2, 3, six));
put('reader-fbin', '6x1', fbin(6, 1, six));

put('reader-csv', 'plain', '1,2,3\n4,5,6\n-1.5,2e3,0\n');
put('reader-csv', 'header-label-id', 'id,label,x,y\n3,"a, quoted",1,2\n0,b,3.5,-4\n7,c,0,0\n');
put('reader-csv', 'first-column-words', '\ufeffcat,0.1,0.2\ndog,0.3,0.4\n');
put('reader-tsv', 'header', 'word\tx\ty\nthe\t1\t2\nof\t3\t4\n');
put('reader-tsv', 'plain-crlf', '1\t2\r\n3\t4\r\n');
put('reader-jsonl', 'arrays', '[1, 2, 3]\n[4.5, -6, 7e-3]\n\n[0, 0, 0]\n');
put('reader-jsonl', 'objects', '{"vector": [1, 2], "id": 4, "label": "four"}\n{"embedding": [3, 4], "id": 0, "word": "zero"}\n');
put('reader-text', 'glove', 'the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\nnew york 1 2 3\n');
put('reader-text', 'word2vec-header', '3 2\nking 0.1 0.2\nqueen\t0.3 0.4\nman -1 1e-2\n');
console.log(`corpus written to ${CORPUS}`);
