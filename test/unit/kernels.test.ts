// The WebAssembly kernels against the TypeScript fallback: the exact kernels agree bit for bit,
// the SIMD ones within float32 rounding; whole indexes built and searched either way are equal.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { AnnoyIndex, type MetricName } from '../../packages/annoy-ts/src/node/index.ts';
import { DistanceKind, jsKernels, setKernels, TwoMeansKind, wasmKernelsAvailable } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { Arena } from '../../packages/annoy-ts/src/records.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

afterEach(() => setKernels('auto'));

describe.runIf(wasmKernelsAvailable())('WebAssembly kernels', () => {
  it('the embedded binary is the compiled AssemblyScript source', () => {
    expect(() => execFileSync(process.execPath, ['tools/build-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('agree with the TypeScript kernels: exact ones bit for bit, SIMD ones within rounding', () => {
    const arena = new Arena(1 << 20);
    expect(arena.kernels.kind).toBe('wasm-simd');
    const js = jsKernels(arena);
    const wasm = arena.kernels;
    const f32 = arena.f32;
    const rng = new Rng(12345);
    for (let i = 0; i < 200_000; i++) f32[i] = rng.nextRange(-0.5, 0.5) * (i % 7 === 0 ? 1000 : 1);
    for (const n of [1, 3, 4, 15, 16, 17, 33, 100, 784]) {
      for (let t = 0; t < 20; t++) {
        const a = 4 * ((t * 9173) % 150_000), b = 4 * ((t * 5471 + 77) % 150_000);
        expect(wasm.dotExact(a, b, n)).toBe(js.dotExact(a, b, n));
        expect(wasm.euclideanExact(a, b, n)).toBe(js.euclideanExact(a, b, n));
        expect(wasm.manhattanExact(a, b, n)).toBe(js.manhattanExact(a, b, n));
        const close = (x: number, y: number, scale: number) => expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
        const mag = js.dotExact(a, a, n) + js.dotExact(b, b, n);
        close(wasm.dot(a, b, n), js.dot(a, b, n), mag);
        close(wasm.euclidean(a, b, n), js.euclidean(a, b, n), mag);
        close(wasm.manhattan(a, b, n), js.manhattan(a, b, n), js.manhattanExact(a, 4 * 190_000, n) + js.manhattanExact(b, 4 * 190_000, n));
        expect(wasm.hamming(a & ~7, b & ~7, Math.ceil(n / 2))).toBe(js.hamming(a & ~7, b & ~7, Math.ceil(n / 2)));
      }
    }
    // Batched margins and centroid updates round exactly like their scalar definitions.
    const ids = 4 * 195_000, out = 4 * 196_000, n = 100;
    const i32 = arena.i32;
    for (let j = 0; j < 64; j++) i32[ids / 4 + j] = (j * 31) % 200;
    for (const m of [1, 3, 4, 17, 100, 101, 784]) {
      for (const count of [5, 8, 16, 37, 64]) {
        wasm.dotExactMany(4 * 7, 4 * 1000, 4 * (m + 3), 8, ids, count, out, m);
        for (let j = 0; j < count; j++) expect(f32[out / 4 + j]).toBe(js.dotExact(4 * 7, 4 * 1000 + i32[ids / 4 + j] * 4 * (m + 3) + 8, m));
      }
    }
    f32.copyWithin(199_000, 0, 101);
    wasm.centroidUpdate(0, 4 * 5000, 101, 7, 1.75);
    js.centroidUpdate(4 * 199_000, 4 * 5000, 101, 7, 1.75);
    expect(Array.from(f32.subarray(0, 101))).toEqual(Array.from(f32.subarray(199_000, 199_101)));
    // The two-means refinement loop moves centroids identically, for every kind (angular keeps the
    // cached squared norms 8 bytes before each vector, here word 1 of 103-word records).
    for (const kind of [TwoMeansKind.Angular, TwoMeansKind.Euclidean, TwoMeansKind.Manhattan, TwoMeansKind.Dot]) {
      const stride = 412, off = 12, records = 4 * 1000;
      for (let r = 0; r < 300; r++) f32[(records + r * stride) / 4 + 1] = js.dotExact(records + r * stride + off, records + r * stride + off, n);
      f32[(records + 5 * stride) / 4 + 1] = 0; // a record without a cached norm
      for (let j = 0; j < 200; j++) i32[ids / 4 + j] = (j * 37 + 11) % 300;
      const runs = [wasm, js].map((k) => {
        const p = 4 * 150_000, q = p + stride;
        f32.copyWithin(p / 4, (records + 3 * stride) / 4, (records + 5 * stride) / 4);
        k.twoMeansRefine(kind, p + off, q + off, records, stride, off, ids, 200, n, out);
        return Array.from(f32.subarray(p / 4, (p + 2 * stride) / 4));
      });
      expect(runs[0]).toEqual(runs[1]);
      expect(runs[0].slice(3, 10)).not.toEqual(Array.from(f32.subarray((records + 3 * stride + off) / 4, (records + 3 * stride + off) / 4 + 7)));
    }
    // distancesMany of each kind equals the single-pair kernels' values (within SIMD rounding).
    for (const kind of [DistanceKind.Euclidean, DistanceKind.Manhattan, DistanceKind.Dot]) {
      wasm.distancesMany(kind, 4 * 3000, 4 * 1000, 400, 8, ids, 37, out, n);
      const w = Array.from(f32.subarray(out / 4, out / 4 + 37));
      js.distancesMany(kind, 4 * 3000, 4 * 1000, 400, 8, ids, 37, out, n);
      w.forEach((x, j) => expect(Math.abs(x - f32[out / 4 + j])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(x))));
    }
  });

  it.each<[MetricName, number]>([['angular', 30], ['euclidean', 9], ['manhattan', 17], ['dot', 24], ['hamming', 100]])(
    '%s: builds are byte-identical and searches equal with either kernels',
    (metric, f) => {
      const make = (kernels: 'js' | 'wasm') => {
        setKernels(kernels);
        const index = new AnnoyIndex(f, metric);
        for (let i = 0; i < 1500; i++) {
          index.addItem(i, Array.from({ length: f }, (_, k) => (metric === 'hamming' ? ((i * 7 + k * k) % 5 > 2 ? 1 : 0) : Math.sin(i * 0.37 + k) * (1 + (i % 4)))));
        }
        index.setSeed(3);
        index.build(6, 1);
        return index;
      };
      const js = make('js'), wasm = make('wasm');
      expect(Buffer.from(wasm.toBuffer()).equals(Buffer.from(js.toBuffer()))).toBe(true);
      for (let q = 0; q < 40; q++) {
        const v = js.getItemVector(q * 17).map((x, k) => (metric === 'hamming' ? (k % 9 === q % 9 ? 1 - x : x) : x + 0.01 * Math.cos(q + k)));
        for (const searchK of [-1, 200, Infinity]) {
          expect(wasm.getNnsByVector(v, 10, searchK, true)).toEqual(js.getNnsByVector(v, 10, searchK, true));
        }
      }
    },
  );
});
