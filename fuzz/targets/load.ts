// Fuzz target logic: arbitrary bytes opened as an index of one metric (the first byte picks f),
// then a handful of queries. Promises checked (the library's, see the README):
//   - fromBuffer either opens the bytes or throws an AnnoyError subclass (AnnoyFormatError for
//     damaged bytes); nothing else (no TypeError, RangeError or WebAssembly trap);
//   - every query either answers or throws an AnnoyError; answers hold at most n unique ids, each
//     in [0, nItems) and each an item record (n_descendants = 1, never a hole or a tree node);
//     distances, when asked for, come one per id;
//   - toBuffer() gives back exactly the bytes that were opened, and they open again;
//   - both kernel sets (WebAssembly and TypeScript) keep these promises.
// Hangs are caught by Jazzer's per-input timeout (fuzz/run.mjs sets it).
import { AnnoyError, AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/index.ts';
import { setKernels, wasmKernelsAvailable } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { bytesOf, only, violation } from './common.ts';

/** f values tried per metric: the first input byte picks one (mod the list length). */
export const DIMENSIONS: Record<MetricName, readonly number[]> = {
  angular: [1, 2, 3, 4, 5, 8],
  euclidean: [1, 2, 3, 4, 5, 8],
  manhattan: [1, 2, 3, 4, 5, 8],
  dot: [1, 2, 3, 4, 5, 8],
  hamming: [1, 8, 64, 65, 128],
};

const ALLOWED = [AnnoyError];

/** The f the first byte selects, and the index bytes after it. */
export function split(metric: MetricName, data: Uint8Array): { f: number; bytes: Uint8Array } {
  const dims = DIMENSIONS[metric];
  return { f: dims[(data[0] ?? 0) % dims.length], bytes: data.subarray(1) };
}

/** The input a fuzz target takes for `bytes` opened with dimension `f` (inverse of split). */
export function encode(metric: MetricName, f: number, bytes: Uint8Array): Uint8Array {
  const at = DIMENSIONS[metric].indexOf(f);
  if (at < 0) throw new Error(`f = ${f} is not one of the fuzzed dimensions for ${metric}`);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = at;
  out.set(bytes, 1);
  return out;
}

export function checkLoad(metric: MetricName, data: Uint8Array): void {
  const { f, bytes } = split(metric, bytesOf(data));
  const kernels: ('wasm' | 'js')[] = wasmKernelsAvailable() ? ['wasm', 'js'] : ['js'];
  for (const k of kernels) {
    setKernels(k);
    try {
      openAndQuery(metric, f, bytes, k);
    } finally {
      setKernels('auto');
    }
  }
}

function openAndQuery(metric: MetricName, f: number, bytes: Uint8Array, kernels: string): void {
  const where = `${metric} f=${f} (${kernels} kernels)`;
  const index = only(ALLOWED, `fromBuffer ${where}`, () => AnnoyIndex.fromBuffer(bytes, f, metric));
  if (!index) return;
  const nItems = index.getNItems();
  if (!Number.isInteger(nItems) || nItems < 1) violation(`${where}: opened with nItems = ${nItems}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nd = (id: number) => view.getInt32(id * recordBytes(metric, f), true);

  const back = index.toBuffer();
  if (back.length !== bytes.length || back.some((b, i) => b !== bytes[i])) violation(`${where}: toBuffer() differs from the bytes opened`);

  const check = (what: string, run: () => number[] | { ids: number[]; distances: number[] }, n: number) => {
    const r = only(ALLOWED, `${where}: ${what}`, run);
    if (r === undefined) return;
    const ids = Array.isArray(r) ? r : r.ids;
    if (!Array.isArray(r) && r.distances.length !== ids.length) violation(`${where}: ${what} gave ${ids.length} ids but ${r.distances.length} distances`);
    if (ids.length > n) violation(`${where}: ${what} gave ${ids.length} ids, more than n = ${n}`);
    if (new Set(ids).size !== ids.length) violation(`${where}: ${what} gave duplicate ids ${JSON.stringify(ids)}`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= nItems) violation(`${where}: ${what} gave id ${id}, outside [0, ${nItems})`);
      if (nd(id) !== 1) violation(`${where}: ${what} gave id ${id}, whose record has n_descendants ${nd(id)} (not an item)`);
    }
  };

  const queries: number[][] = [
    new Array(f).fill(0),
    new Array(f).fill(1),
    Array.from({ length: f }, (_, k) => ((bytes[k % Math.max(1, bytes.length)] ?? 0) - 128) / 16),
  ];
  const ns = [1, 3, nItems + 2];
  const searchKs = [-1, 5, Infinity];
  for (let q = 0; q < queries.length; q++) {
    const n = ns[q], searchK = searchKs[q];
    check(`getNnsByVector(query ${q}, ${n}, ${searchK})`, () => index.getNnsByVector(queries[q], n, searchK, true), n);
  }
  for (const i of new Set([0, nItems >> 1, nItems - 1])) {
    check(`getNnsByItem(${i}, 4, -1)`, () => index.getNnsByItem(i, 4), 4);
    check(`getNnsByItem(${i}, ${nItems}, Infinity)`, () => index.getNnsByItem(i, nItems, Infinity, true), nItems);
    only(ALLOWED, `${where}: getItemVector(${i})`, () => {
      const v = index.getItemVector(i);
      if (v.length !== f) violation(`${where}: getItemVector(${i}) has length ${v.length}`);
    });
  }
  only(ALLOWED, `${where}: getDistance`, () => index.getDistance(0, nItems - 1));
  // Opening the bytes it hands out must work again.
  only([], `${where}: reopening toBuffer()`, () => AnnoyIndex.fromBuffer(index.toBuffer().slice(), f, metric));
}

function recordBytes(metric: MetricName, f: number): number {
  if (metric === 'angular') return 12 + 4 * f;
  if (metric === 'hamming') return 16 + 8 * Math.ceil(f / 64);
  return 16 + 4 * f;
}
