// Sharing an index with another thread: shareIndex() describes it, attachIndex() searches the same
// memory in place. The description goes through structuredClone here, exactly what postMessage
// and workerData do to it (the worker pool and the server's loading thread cover real threads in
// test/integration); anything that is not a description from shareIndex() is refused clearly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyIndex, AnnoyStateError, attachIndex, kernelInfo, shareIndex, type MetricName, type SharedIndex,
} from '../../packages/annoy-ts/src/node/index.ts';
import * as portable from '../../packages/annoy-ts/src/index.ts';
import { setKernels } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { skipWithout } from '../helpers/requirements.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-share-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function built(metric: MetricName, f: number, n: number, trees = 5): AnnoyIndex {
  const index = new AnnoyIndex(f, metric);
  for (let i = 0; i < n; i++) {
    index.addItem(i, Array.from({ length: f }, (_, k) => (metric === 'hamming' ? (i >> (k % 7)) & 1 : Math.sin(i * 0.91 + k * 1.7))));
  }
  index.setSeed(11);
  index.build(trees, 1);
  return index;
}

describe.skipIf(skipWithout(kernelInfo().sharedMemory, 'shared WebAssembly memory'))('shareIndex / attachIndex', () => {
  it('an attached index answers exactly as the original, on every metric, for built and loaded indexes', () => {
    for (const metric of ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'] as MetricName[]) {
      const f = metric === 'hamming' ? 40 : 12;
      const index = built(metric, f, 400);
      const path = join(dir, `${metric}.ann`);
      index.save(path);
      for (const source of [index, AnnoyIndex.open(path)]) {
        const attached = attachIndex(structuredClone(shareIndex(source)));
        expect(attached).toBeInstanceOf(AnnoyIndex);
        expect([attached.f, attached.metric, attached.getNItems(), attached.getNTrees()])
          .toEqual([source.f, source.metric, source.getNItems(), source.getNTrees()]);
        for (const i of [0, 17, 399]) {
          expect(attached.getNnsByItem(i, 10, -1, true)).toEqual(source.getNnsByItem(i, 10, -1, true));
          const v = source.getItemVector(i);
          expect(attached.getItemVector(i)).toEqual(v);
          expect(attached.getNnsByVector(v, 5, Infinity)).toEqual(source.getNnsByVector(v, 5, Infinity));
        }
        expect(Buffer.from(attached.toBuffer()).equals(readFileSync(path))).toBe(true);
      }
    }
  });

  it('shows only f, metric and nItems of the description, and each thread gets its own scratch space', () => {
    const index = built('angular', 8, 200);
    const a = shareIndex(index), b = shareIndex(index);
    expect([a.kind, a.f, a.metric, a.nItems]).toEqual(['annoy-ts/shared-index@1', 8, 'angular', 200]);
    // Two threads searching at once must not share a query record.
    expect((a as unknown as { query: number }).query).not.toBe((b as unknown as { query: number }).query);
    const x = attachIndex(a), y = attachIndex(b);
    const qx = index.getItemVector(3), qy = index.getItemVector(150);
    const rx = x.getNnsByVector(qx, 5);
    y.getNnsByVector(qy, 5);
    expect(x.getNnsByVector(qx, 5)).toEqual(rx);
  });

  it('an attached index is read-only, saves byte-identical files, and the portable entry attaches a portable index', () => {
    const index = built('euclidean', 6, 300);
    const attached = attachIndex(shareIndex(index));
    expect(() => attached.addItem(300, [1, 2, 3, 4, 5, 6])).toThrow(AnnoyStateError);
    expect(() => attached.build(3)).toThrow(AnnoyStateError);
    expect(() => attached.unbuild()).toThrow(AnnoyStateError);
    const path = join(dir, 'from-attached.ann');
    attached.save(path);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(index.toBuffer()))).toBe(true);
    expect(AnnoyIndex.open(path).getNnsByItem(5, 4)).toEqual(index.getNnsByItem(5, 4));

    const core = portable.attachIndex(portable.shareIndex(index));
    expect(core).toBeInstanceOf(portable.AnnoyIndex);
    expect(core).not.toBeInstanceOf(AnnoyIndex);
    expect(core.getNnsByItem(5, 4)).toEqual(index.getNnsByItem(5, 4));
  });

  it('refuses to share what cannot be shared', () => {
    const empty = new AnnoyIndex(3, 'angular');
    expect(() => shareIndex(empty)).toThrow(AnnoyStateError);
    empty.addItem(0, [1, 0, 0]);
    expect(() => shareIndex(empty)).toThrow(/has not been built/);
    expect(() => shareIndex({ f: 3 } as unknown as AnnoyIndex)).toThrow(AnnoyArgumentError);
    expect(() => shareIndex(null as unknown as AnnoyIndex)).toThrow(/shareIndex needs an AnnoyIndex, got null/);
    setKernels('js');
    try {
      // JavaScript kernels keep the records in a plain ArrayBuffer: nothing another thread can see.
      const plain = built('angular', 4, 50);
      expect(() => shareIndex(plain)).toThrow(/cannot be shared with other threads/);
    } finally {
      setKernels('auto');
    }
  });

  it('refuses anything that is not a description from shareIndex, naming what is wrong', () => {
    const good = shareIndex(built('angular', 8, 100));
    const bad = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as unknown as SharedIndex;
    const cases: [unknown, RegExp][] = [
      [null, /not a shared index .*got null/],
      [42, /got 42/],
      [{}, /kind is undefined/],
      [bad({ kind: 'annoy-ts/shared-index@0' }), /kind is "annoy-ts\/shared-index@0"/],
      [bad({ metric: 'cosine' }), /unknown metric "cosine"/],
      [bad({ memory: new ArrayBuffer(64) }), /memory must be a WebAssembly\.Memory/],
      [bad({ f: 0 }), /f must be a positive integer, got 0/],
      [bad({ nItems: 1.5 }), /nItems must be a positive integer/],
      [bad({ store: null }), /store is null/],
      [bad({ store: { byteOffset: -8, count: 100 } }), /the store is -8, outside the memory/],
      [bad({ store: { byteOffset: good.memory.buffer.byteLength + 64, count: 100 } }), /outside the memory/],
      [bad({ nItems: 1e6 }), /1000000 items but only \d+ records/],
      [bad({ query: 2 ** 40 }), /the query record is \d+, outside the memory/],
      [bad({ batch: undefined }), /batch is undefined/],
      [bad({ walk: null }), /walk is null/],
      [bad({ roots: [] }), /roots must be a non-empty array/],
      [bad({ roots: [0, 1e9] }), /root 1000000000 is not a record of the store/],
      // A description of another dimension: its records would not fit the memory.
      [bad({ f: 100_000 }), /do not fit its memory/],
    ];
    for (const [input, message] of cases) {
      expect(() => attachIndex(input as SharedIndex), String(message)).toThrow(AnnoyArgumentError);
      expect(() => attachIndex(input as SharedIndex)).toThrow(message);
    }
  });
});
