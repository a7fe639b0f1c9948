// The browser build (web/build.ts): one ES module with no imports and no Node built-ins, under the
// size budget, and it works — imported as a module, and run in a bare JavaScript realm that has no
// Node globals at all (with WebAssembly, and without it: the TypeScript kernels).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, type BundleReport } from '../../web/build.ts';
import { GZIP_BUDGET_BYTES } from '../../web/paths.ts';
import * as core from '../../packages/annoy-ts/src/index.ts';
import { Rng } from '../../packages/cli/src/cli/prng.ts';

const F = 12, N = 300;

/** Deterministic vectors; the bare realm gets the same numbers as JSON. */
const rng = new Rng(12345);
const VECTORS = Array.from({ length: N }, () => Array.from({ length: F }, () => rng.nextRange(-0.5, 0.5)));

/** What every variant must answer: build, round-trip through bytes, query by item and by vector. */
const SCENARIO_SOURCE = `(lib, vectors) => {
  const index = new lib.AnnoyIndex(${F}, 'angular');
  vectors.forEach((v, i) => index.addItem(i, v));
  index.setSeed(7);
  index.build(5);
  const reopened = lib.AnnoyIndex.fromBuffer(index.toBuffer(), ${F}, 'angular');
  let refused = '';
  try { reopened.save('x.ann'); } catch (e) { refused = e.name + (e instanceof lib.AnnoyStateError && e instanceof lib.AnnoyError ? '' : ' (not an AnnoyStateError)'); }
  return {
    bytes: index.toBuffer().byteLength,
    byItem: reopened.getNnsByItem(3, 10, -1, true),
    byVector: reopened.getNnsByVector(vectors[42], 10, 1000, true),
    distance: reopened.getDistance(1, 2),
    refused,
  };
}`;
type Scenario = (lib: unknown, v: number[][]) => { bytes: number; byItem: unknown; byVector: unknown; distance: number; refused: string };
const scenario = (0, eval)(SCENARIO_SOURCE) as Scenario;

describe('the browser bundle (dist/web/annoy-ts.js)', () => {
  let dir: string;
  let esm: BundleReport;
  let expected: ReturnType<Scenario>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'annoy-ts-web-bundle-'));
    esm = await buildBundle({ outfile: path.join(dir, 'annoy-ts.js') });
    expected = scenario(core, VECTORS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no Node.js built-ins, no Node-only sources and no imports', () => {
    expect(esm.problems).toEqual([]);
    expect(esm.code).not.toMatch(/\bnode:[a-z]/);
    expect(esm.code).not.toMatch(/(?:^|[;}\n])\s*import\s*[{*"'`\w$]|\bimport\s*\(/); // static or dynamic imports
    expect(esm.inputs).toContain('packages/annoy-ts/src/index.ts');
    expect(esm.inputs.every((p) => p.startsWith('packages/annoy-ts/src/') && !p.startsWith('packages/annoy-ts/src/node/'))).toBe(true);
  });

  it(`is under ${GZIP_BUDGET_BYTES / 1024} kB gzipped`, () => {
    expect(esm.gzipBytes).toBeGreaterThan(1000);
    expect(esm.gzipBytes).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  });

  it('works as an ES module, with the same answers as the sources', async () => {
    const lib = (await import(pathToFileURL(esm.file!).href)) as Record<string, unknown>;
    expect(Object.keys(lib)).toEqual(expect.arrayContaining(['AnnoyIndex', 'AnnoyError', 'AnnoyStateError']));
    expect(scenario(lib, VECTORS)).toEqual(expected);
    // No file system in the portable build; and the error keeps its name through minification.
    expect(expected.refused).toBe('AnnoyStateError');
  });

  for (const webAssembly of [true, false]) {
    it(`runs in a realm with no Node globals${webAssembly ? '' : ' and no WebAssembly'}`, async () => {
      const iife = await buildBundle({ outfile: null, format: 'iife', globalName: 'annoyTs' });
      expect(iife.problems).toEqual([]);
      const realm = vm.createContext({});
      expect(vm.runInContext('typeof process + typeof Buffer + typeof require + typeof WebAssembly', realm)).toBe('undefinedundefinedundefinedobject');
      if (!webAssembly) vm.runInContext('delete globalThis.WebAssembly', realm);
      vm.runInContext(iife.code, realm);
      const result = vm.runInContext(`JSON.stringify((${SCENARIO_SOURCE})(globalThis.annoyTs, ${JSON.stringify(VECTORS)}))`, realm) as string;
      expect(JSON.parse(result)).toEqual(expected);
    });
  }
});
