// Exact k-NN worker for datasets/ground-truth.ts.
//
// Plain JavaScript on purpose: Node 20 cannot load a .ts file as a worker
// entry point even under tsx (tsx's loader is not applied to worker threads
// there; verified: ERR_UNKNOWN_FILE_EXTENSION with execArgv inherited or set
// to `--import tsx`), and a .mjs worker also runs under plain node and vitest.
//
// workerData: {
//   metric: 'angular' | 'euclidean', dim, nBase, k,
//   base:    SharedArrayBuffer, nBase × dim float32 (row-major)
//   invNorm: SharedArrayBuffer, nBase float64 = 1/|base row| (0 for a zero row), angular only, else null
//   queries: SharedArrayBuffer, nQueries × dim float32
//   outIds:  SharedArrayBuffer, nQueries × k int32   (written here)
//   outDist: SharedArrayBuffer, nQueries × k float64 (written here)
// }
// Messages in: { start, end } (a range of query indices) or null (exit).
// Messages out: { start, end } when that range is done.
//
// Ranking key, smaller is better, accumulated in float64:
//   angular:   -(q·b)/|b|    (same order as cosine similarity, |q| being fixed)
//   euclidean: Σ (q_t - b_t)² (squared L2; exact for Fashion-MNIST's integer pixels)
// Ties are broken by the smaller base id: rows are scanned in ascending id
// order and a row only enters the top-k if strictly better than the current
// k-th, and is inserted after equal keys.
// Distances written out follow Annoy's conventions:
//   angular:   sqrt(2 - 2·cos(q, b))   euclidean: sqrt(Σ (q_t - b_t)²)

import { parentPort, workerData } from 'node:worker_threads';

const { metric, dim, nBase, k } = workerData;
const base = new Float32Array(workerData.base);
const invNorm = workerData.invNorm ? new Float64Array(workerData.invNorm) : new Float64Array(0);
const Q = new Float32Array(workerData.queries);
const outIds = new Int32Array(workerData.outIds);
const outDist = new Float64Array(workerData.outDist);

const L = 8; // queries processed together: each base row is loaded once for 8 dot products
const keys = new Float64Array(L * k);
const ids = new Int32Array(L * k);
const thr = new Float64Array(L);

function reset() {
  keys.fill(Infinity);
  ids.fill(-1);
  thr.fill(Infinity);
}

// Called only when key < thr[lane], i.e. strictly better than the current k-th.
function insert(lane, key, id) {
  const o = lane * k;
  let p = k - 1;
  while (p > 0 && keys[o + p - 1] > key) {
    keys[o + p] = keys[o + p - 1];
    ids[o + p] = ids[o + p - 1];
    p--;
  }
  keys[o + p] = key;
  ids[o + p] = id;
  thr[lane] = keys[o + k - 1];
}

function blockAngular(q0, cnt) {
  const last = q0 + cnt - 1; // lanes past the end repeat the last query; their results are dropped
  const o0 = q0 * dim;
  const o1 = Math.min(q0 + 1, last) * dim;
  const o2 = Math.min(q0 + 2, last) * dim;
  const o3 = Math.min(q0 + 3, last) * dim;
  const o4 = Math.min(q0 + 4, last) * dim;
  const o5 = Math.min(q0 + 5, last) * dim;
  const o6 = Math.min(q0 + 6, last) * dim;
  const o7 = Math.min(q0 + 7, last) * dim;
  for (let j = 0, bo = 0; j < nBase; j++, bo += dim) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let t = 0; t < dim; t++) {
      const x = base[bo + t];
      a0 += Q[o0 + t] * x;
      a1 += Q[o1 + t] * x;
      a2 += Q[o2 + t] * x;
      a3 += Q[o3 + t] * x;
      a4 += Q[o4 + t] * x;
      a5 += Q[o5 + t] * x;
      a6 += Q[o6 + t] * x;
      a7 += Q[o7 + t] * x;
    }
    const s = -invNorm[j];
    let key;
    if ((key = a0 * s) < thr[0]) insert(0, key, j);
    if ((key = a1 * s) < thr[1]) insert(1, key, j);
    if ((key = a2 * s) < thr[2]) insert(2, key, j);
    if ((key = a3 * s) < thr[3]) insert(3, key, j);
    if ((key = a4 * s) < thr[4]) insert(4, key, j);
    if ((key = a5 * s) < thr[5]) insert(5, key, j);
    if ((key = a6 * s) < thr[6]) insert(6, key, j);
    if ((key = a7 * s) < thr[7]) insert(7, key, j);
  }
}

function blockEuclidean(q0, cnt) {
  const last = q0 + cnt - 1;
  const o0 = q0 * dim;
  const o1 = Math.min(q0 + 1, last) * dim;
  const o2 = Math.min(q0 + 2, last) * dim;
  const o3 = Math.min(q0 + 3, last) * dim;
  const o4 = Math.min(q0 + 4, last) * dim;
  const o5 = Math.min(q0 + 5, last) * dim;
  const o6 = Math.min(q0 + 6, last) * dim;
  const o7 = Math.min(q0 + 7, last) * dim;
  for (let j = 0, bo = 0; j < nBase; j++, bo += dim) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let t = 0; t < dim; t++) {
      const x = base[bo + t];
      let d;
      d = Q[o0 + t] - x; a0 += d * d;
      d = Q[o1 + t] - x; a1 += d * d;
      d = Q[o2 + t] - x; a2 += d * d;
      d = Q[o3 + t] - x; a3 += d * d;
      d = Q[o4 + t] - x; a4 += d * d;
      d = Q[o5 + t] - x; a5 += d * d;
      d = Q[o6 + t] - x; a6 += d * d;
      d = Q[o7 + t] - x; a7 += d * d;
    }
    if (a0 < thr[0]) insert(0, a0, j);
    if (a1 < thr[1]) insert(1, a1, j);
    if (a2 < thr[2]) insert(2, a2, j);
    if (a3 < thr[3]) insert(3, a3, j);
    if (a4 < thr[4]) insert(4, a4, j);
    if (a5 < thr[5]) insert(5, a5, j);
    if (a6 < thr[6]) insert(6, a6, j);
    if (a7 < thr[7]) insert(7, a7, j);
  }
}

function writeOut(q0, cnt) {
  for (let lane = 0; lane < cnt; lane++) {
    const qi = q0 + lane;
    let qNorm = 0;
    if (metric === 'angular') {
      for (let t = 0, o = qi * dim; t < dim; t++) qNorm += Q[o + t] * Q[o + t];
      qNorm = Math.sqrt(qNorm);
    }
    for (let r = 0; r < k; r++) {
      const key = keys[lane * k + r];
      outIds[qi * k + r] = ids[lane * k + r];
      let dist;
      if (metric === 'angular') {
        let cos = qNorm > 0 ? -key / qNorm : 0;
        cos = cos > 1 ? 1 : cos < -1 ? -1 : cos;
        dist = Math.sqrt(2 - 2 * cos);
      } else {
        dist = Math.sqrt(key);
      }
      outDist[qi * k + r] = dist;
    }
  }
}

const block = metric === 'angular' ? blockAngular : blockEuclidean;

parentPort.on('message', (msg) => {
  if (msg === null) {
    parentPort.close();
    return;
  }
  const { start, end } = msg;
  for (let q0 = start; q0 < end; q0 += L) {
    const cnt = Math.min(L, end - q0);
    reset();
    block(q0, cnt);
    writeOut(q0, cnt);
  }
  parentPort.postMessage({ start, end });
});
