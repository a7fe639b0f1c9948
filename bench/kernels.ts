// Kernel micro-benchmarks: nanoseconds per distance for the TypeScript fallback (float32-exact),
// the exact WebAssembly kernels the builder uses (one at a time, and batched margins: 16 items in
// SIMD lanes, each summed in dimension order), and the SIMD kernels the search uses.
//   npx tsx bench/kernels.ts            (prints a table; writes bench/results/kernels.json)
import { mkdirSync, writeFileSync } from 'node:fs';
import { jsKernels, type Kernels } from '../packages/annoy-ts/src/kernels/kernels.ts';
import { Arena } from '../packages/annoy-ts/src/records.ts';

const arena = new Arena(64 << 20);
const js = jsKernels(arena), wasm = arena.kernels;
if (wasm.kind !== 'wasm-simd') throw new Error('WebAssembly SIMD is unavailable in this runtime');
const f32 = arena.f32;
for (let i = 0; i < f32.length; i++) f32[i] = Math.sin(i * 0.37);

type Kernel = (k: Kernels, a: number, b: number, n: number) => number;
const kernels: [string, Kernels, Kernel][] = [
  ['TypeScript, float32-exact dot', js, (k, a, b, n) => k.dot(a, b, n)],
  ['WebAssembly scalar exact dot (builds)', wasm, (k, a, b, n) => k.dotExact(a, b, n)],
  ['WebAssembly SIMD dot (search)', wasm, (k, a, b, n) => k.dot(a, b, n)],
  ['WebAssembly SIMD squared euclidean', wasm, (k, a, b, n) => k.euclidean(a, b, n)],
  ['WebAssembly SIMD manhattan', wasm, (k, a, b, n) => k.manhattan(a, b, n)],
];

const rows: { kernel: string; dim: number; nsPerDistance: number }[] = [];
const BATCHED = 'WebAssembly exact margins, batched (builds)';
for (const dim of [100, 784]) {
  // Hot cache: the vectors fit in L2, as in the per-distance figures quoted in the speed issue.
  const items = Math.floor((256 << 10) / 4 / dim) - 1;
  for (const [name, k, fn] of kernels) {
    const calls = dim === 100 ? 2_000_000 : 300_000;
    let best = Infinity, sink = 0;
    for (let rep = 0; rep < 3; rep++) {
      const t = performance.now();
      for (let c = 0; c < calls; c++) sink += fn(k, 0, 4 * dim * (1 + (c % items)), dim);
      best = Math.min(best, ((performance.now() - t) * 1e6) / calls);
    }
    if (Number.isNaN(sink)) console.log('');
    rows.push({ kernel: name, dim, nsPerDistance: Math.round(best * 10) / 10 });
  }
  // The builder's batched form: 4,096 record ids per call (records of dim + 3 words, as angular's).
  const stride = 4 * (dim + 3), records = Math.floor((256 << 10) / stride) - 1, ids = 60 << 20, out = ids + (1 << 16);
  const i32 = arena.i32;
  for (let j = 0; j < 4096; j++) i32[ids / 4 + j] = 1 + ((j * 7) % records);
  const batches = dim === 100 ? 500 : 80;
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    for (let c = 0; c < batches; c++) wasm.dotExactMany(0, 0, stride, 12, ids, 4096, out, dim);
    best = Math.min(best, ((performance.now() - t) * 1e6) / (batches * 4096));
  }
  rows.push({ kernel: BATCHED, dim, nsPerDistance: Math.round(best * 10) / 10 });
}
console.log('| kernel | d = 100 (ns) | d = 784 (ns) |\n| --- | ---: | ---: |');
for (const name of [...kernels.map(([n]) => n), BATCHED]) {
  const at = (d: number) => rows.find((r) => r.kernel === name && r.dim === d)!.nsPerDistance;
  console.log(`| ${name} | ${at(100)} | ${at(784)} |`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/kernels.json', JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2) + '\n');
