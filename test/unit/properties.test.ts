// Property-based tests (fast-check): random small datasets of every metric — random f, ids with
// holes, seeds, tree counts — and random call sequences. Each property runs a bounded number of
// cases so the whole file stays within a few seconds; a failure prints the seed and the shrunk
// counterexample (replay it with fc.assert(..., { seed, path })).
//
// What test/search.test.ts checks on fixed datasets is checked here on generated ones, plus:
// answers survive toBuffer/fromBuffer and save/load for every searchK, searchK is monotone,
// call sequences never leave an index unusable, and the WebAssembly and TypeScript kernels agree.
import fc from 'fast-check';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, AnnoyIOError, AnnoyStateError, type MetricName,
} from '../../packages/annoy-ts/src/node/index.ts';
import { setKernels, wasmKernelsAvailable } from '../../packages/annoy-ts/src/kernels/kernels.ts';
import { bruteForce, exactDistance } from '../helpers/exact.ts';

const METRICS: MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];
/** Saves fsync; on tmpfs that costs nothing, so the properties can afford many saves. */
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'annoy-ts-props-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setKernels('auto'));

/** Runs per property (per metric where a property loops over metrics). FC_RUNS scales them all. */
const scale = Number(process.env.FC_RUNS ?? 1);
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * scale)) });

// ------------------------------------------------------------------ generators

interface Data {
  metric: MetricName;
  f: number;
  /** id → vector as given to addItem. */
  items: Map<number, number[]>;
  seed: number;
  nTrees: number;
  queries: number[][];
}

/** Components: small integers (ties, duplicates, zero vectors) or values on a fine grid (no subnormals). */
const component = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: -400_000, max: 400_000 }).map((k) => k / 1e4),
);
const bit = fc.constantFrom(0, 1);

function vectorArb(metric: MetricName, f: number): fc.Arbitrary<number[]> {
  return fc.array(metric === 'hamming' ? bit : component, { minLength: f, maxLength: f });
}

function dataArb(metric: MetricName, maxItems = 40): fc.Arbitrary<Data> {
  const fArb = metric === 'hamming' ? fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constantFrom(63, 64, 65, 130)) : fc.integer({ min: 1, max: 9 });
  return fArb.chain((f) =>
    fc.record({
      metric: fc.constant(metric),
      f: fc.constant(f),
      // Ids with holes: any distinct ids below 3 × maxItems.
      items: fc
        .uniqueArray(fc.integer({ min: 0, max: 3 * maxItems }), { minLength: 1, maxLength: maxItems })
        .chain((ids) => fc.tuple(...ids.map((id) => vectorArb(metric, f).map((v) => [id, v] as [number, number[]]))))
        .map((pairs) => new Map(pairs)),
      seed: fc.integer({ min: 0, max: 2 ** 31 }),
      nTrees: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(-1)),
      queries: fc.array(vectorArb(metric, f), { minLength: 1, maxLength: 4 }),
    }),
  );
}

const anyData = fc.constantFrom(...METRICS).chain((m) => dataArb(m));

function build(data: Data): AnnoyIndex {
  const index = new AnnoyIndex(data.f, data.metric);
  for (const [id, v] of data.items) index.addItem(id, v);
  index.setSeed(data.seed);
  index.build(data.nTrees);
  return index;
}

/** What the index stores (float32; hamming: bits), the reference brute force runs on. */
function stored(data: Data): Map<number, number[]> {
  const f32 = (v: number[]) => v.map((x) => (data.metric === 'hamming' ? (x > 0.5 ? 1 : 0) : Math.fround(x)));
  return new Map([...data.items].map(([id, v]) => [id, f32(v)]));
}

/** How far a float32 distance may stray from the double-precision reference. */
function tolerance(metric: MetricName, d: number): number {
  if (metric === 'hamming') return 0;
  // sqrt(2 − 2cos) and sqrt(Σ…) magnify float32 rounding near 0.
  if (metric === 'angular' || metric === 'euclidean') return 2e-3 * Math.max(1, Math.abs(d));
  return 1e-4 * Math.max(1, Math.abs(d));
}

type Result = { ids: number[]; distances: number[] };

/**
 * `got` (a search that saw every item) against brute force, ties aside: rank by rank the
 * distances agree, each reported distance is the true distance of the reported id, and every item
 * clearly closer than the last one returned is among the results.
 */
function expectBruteForce(metric: MetricName, items: Map<number, number[]>, query: number[], n: number, got: Result): void {
  const q = query.map((x) => (metric === 'hamming' ? x : Math.fround(x)));
  const want = bruteForce(metric, items, q, n);
  expect(got.ids.length).toBe(want.ids.length);
  const better = metric === 'dot' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  for (let r = 0; r < got.ids.length; r++) {
    expect(Math.abs(got.distances[r] - want.distances[r])).toBeLessThanOrEqual(tolerance(metric, want.distances[r]));
    const d = exactDistance(metric, q, items.get(got.ids[r])!);
    expect(Math.abs(got.distances[r] - d)).toBeLessThanOrEqual(tolerance(metric, d));
  }
  if (want.ids.length === 0) return;
  const last = want.distances[want.distances.length - 1];
  for (const id of want.ids) {
    const d = exactDistance(metric, q, items.get(id)!);
    const clearly = metric === 'dot' ? d - tolerance(metric, d) : d + tolerance(metric, d);
    if (better(clearly, last)) expect(got.ids).toContain(id);
  }
}

/** Results are well formed: at most n unique ids, all of them items (never holes), sorted by distance. */
function expectWellFormed(metric: MetricName, items: Map<number, number[]>, n: number, got: Result): void {
  expect(got.ids.length).toBeLessThanOrEqual(Math.min(n, items.size));
  expect(got.distances.length).toBe(got.ids.length);
  expect(new Set(got.ids).size).toBe(got.ids.length);
  for (const id of got.ids) expect(items.has(id)).toBe(true);
  for (let r = 1; r < got.distances.length; r++) {
    if (metric === 'dot') expect(got.distances[r]).toBeLessThanOrEqual(got.distances[r - 1]);
    else expect(got.distances[r]).toBeGreaterThanOrEqual(got.distances[r - 1]);
  }
}

const searchKArb = fc.oneof(fc.constant(-1), fc.constant(Infinity), fc.integer({ min: 1, max: 200 }));

/** Answers to a fixed battery of questions, for comparing two indexes that should be the same. */
function answers(index: AnnoyIndex, data: Data): unknown[] {
  const out: unknown[] = [];
  for (const searchK of [-1, 1, 7, 50, Infinity]) {
    for (const q of data.queries) out.push(index.getNnsByVector(q, 5, searchK, true));
    for (const id of [...data.items.keys()].slice(0, 3)) out.push(index.getNnsByItem(id, 4, searchK, true));
  }
  return out;
}

// ------------------------------------------------------------------ search semantics

describe('search semantics on random data (every metric)', () => {
  it('exhaustive search (searchK = Infinity) equals brute force, ties aside', () => {
    fc.assert(
      fc.property(anyData, fc.integer({ min: 1, max: 50 }), (data, n) => {
        const index = build(data);
        const items = stored(data);
        for (const q of data.queries) expectBruteForce(data.metric, items, q, n, index.getNnsByVector(q, n, Infinity, true));
        const [first, v] = [...items][0];
        expectBruteForce(data.metric, items, v, n, index.getNnsByItem(first, n, Infinity, true));
      }),
      runs(150),
    );
  });

  it('results are sorted, unique, existing ids (never holes), at most n — for any n and searchK', () => {
    fc.assert(
      fc.property(anyData, fc.integer({ min: 0, max: 60 }), searchKArb, (data, n, searchK) => {
        const index = build(data);
        const items = stored(data);
        for (const q of data.queries) expectWellFormed(data.metric, items, n, index.getNnsByVector(q, n, searchK, true));
        for (const id of [...items.keys()].slice(0, 3)) expectWellFormed(data.metric, items, n, index.getNnsByItem(id, n, searchK, true));
        // A hole is a valid id (below nItems) but never an answer; its vector reads as zeros.
        for (let id = 0; id < index.getNItems(); id++) {
          if (!items.has(id)) expect(index.getItemVector(id).every((x) => x === 0)).toBe(true);
        }
      }),
      runs(150),
    );
  });

  it('getDistance(i, j) is exactly the distance getNnsByItem(i) reports for j', () => {
    fc.assert(
      fc.property(anyData, searchKArb, (data, searchK) => {
        const index = build(data);
        for (const i of [...data.items.keys()].slice(0, 4)) {
          const { ids, distances } = index.getNnsByItem(i, 10, searchK, true);
          ids.forEach((j, r) => expect(index.getDistance(i, j)).toBe(distances[r]));
        }
      }),
      runs(100),
    );
  });

  it('a larger searchK never makes an answer worse: rank by rank no farther, recall (ties aside) never lower', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METRICS).chain((m) => dataArb(m, 60)), fc.integer({ min: 1, max: 10 }), fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 5 }),
        (data, n, ks) => {
          const index = build(data);
          const items = stored(data);
          const sorted = [...ks].sort((a, b) => a - b).concat([Infinity]);
          for (const q of data.queries) {
            const want = bruteForce(data.metric, items, q.map(Math.fround), n);
            const kth = want.distances[want.distances.length - 1];
            let previous: Result | null = null;
            let previousRecall = -1;
            for (const k of sorted) {
              const got = index.getNnsByVector(q, n, k, true);
              if (previous) {
                expect(got.ids.length).toBeGreaterThanOrEqual(previous.ids.length);
                previous.distances.forEach((d, r) => {
                  const slack = tolerance(data.metric, d) / 10;
                  if (data.metric === 'dot') expect(got.distances[r]).toBeGreaterThanOrEqual(d - slack);
                  else expect(got.distances[r]).toBeLessThanOrEqual(d + slack);
                });
              }
              // Recall that counts any item as good as the true k-th neighbour (so ties cannot lower it).
              const good = got.distances.filter((d) => (data.metric === 'dot' ? d >= kth - tolerance(data.metric, kth) : d <= kth + tolerance(data.metric, kth))).length;
              const recall = good / want.ids.length;
              expect(recall).toBeGreaterThanOrEqual(previousRecall);
              previousRecall = recall;
              previous = got;
            }
            expect(previousRecall).toBe(1);
          }
        }),
      runs(100),
    );
  });
});

// ------------------------------------------------------------------ round trips

describe('round trips keep the bytes and the answers', () => {
  it('toBuffer → fromBuffer: the same bytes and, for every searchK, the same answers', () => {
    fc.assert(
      fc.property(anyData, (data) => {
        const index = build(data);
        const bytes = index.toBuffer().slice();
        const copy = AnnoyIndex.fromBuffer(bytes, data.f, data.metric);
        expect(Buffer.from(copy.toBuffer()).equals(Buffer.from(bytes))).toBe(true);
        expect(copy.getNItems()).toBe(index.getNItems());
        // A loaded index finds its roots by Annoy's root scan. When that finds as many roots as
        // trees were built, every search is the same; tiny indexes can show extra roots (see the
        // README), which changes the default searchK but not what an exhaustive search returns.
        if (copy.getNTrees() === index.getNTrees()) {
          expect(answers(copy, data)).toEqual(answers(index, data));
        } else {
          for (const q of data.queries) expect(copy.getNnsByVector(q, 6, Infinity, true)).toEqual(index.getNnsByVector(q, 6, Infinity, true));
        }
        // And the copy of a copy is the same again, down to the roots.
        const again = AnnoyIndex.fromBuffer(copy.toBuffer(), data.f, data.metric);
        expect(again.getNTrees()).toBe(copy.getNTrees());
        expect(answers(again, data)).toEqual(answers(copy, data));
      }),
      runs(120),
    );
  });

  it('save → load and save → AnnoyIndex.open: the same bytes and answers as the saved index', () => {
    let k = 0;
    fc.assert(
      fc.property(anyData, (data) => {
        const index = build(data);
        const before = index.toBuffer().slice();
        const path = join(dir, `roundtrip-${k++}.ann`);
        index.save(path);
        // save() leaves the index as if loaded from the file: same bytes, read-only.
        expect(Buffer.from(index.toBuffer()).equals(Buffer.from(before))).toBe(true);
        expect(() => index.addItem(0, data.queries[0])).toThrow(AnnoyStateError);
        const loaded = new AnnoyIndex(data.f, data.metric);
        loaded.load(path);
        const opened = AnnoyIndex.open(path);
        expect(opened.f).toBe(data.f);
        expect(opened.metric).toBe(data.metric);
        const expected = answers(index, data);
        for (const other of [loaded, opened]) {
          expect(Buffer.from(other.toBuffer()).equals(Buffer.from(before))).toBe(true);
          expect(other.getNTrees()).toBe(index.getNTrees());
          expect(answers(other, data)).toEqual(expected);
        }
        rmSync(path);
        rmSync(`${path}.json`);
      }),
      runs(60),
    );
  });

  it('the same items, seed and tree count give the same bytes, whatever order the items were added in', () => {
    fc.assert(
      fc.property(anyData, fc.integer(), (data, shuffleSeed) => {
        const a = build(data);
        const order = [...data.items].sort((x, y) => hash(x[0] ^ shuffleSeed) - hash(y[0] ^ shuffleSeed));
        const b = build({ ...data, items: new Map(order) });
        expect(Buffer.from(b.toBuffer()).equals(Buffer.from(a.toBuffer()))).toBe(true);
      }),
      runs(60),
    );
  });
});

function hash(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

// ------------------------------------------------------------------ kernels

describe.runIf(wasmKernelsAvailable())('the WebAssembly and TypeScript kernels agree', () => {
  it('builds are byte-identical; exhaustive searches return identical ids and distances', () => {
    fc.assert(
      fc.property(anyData, fc.integer({ min: 1, max: 45 }), (data, n) => {
        setKernels('wasm');
        const wasm = build(data);
        setKernels('js');
        const js = build(data);
        // Opened from the other's bytes, too: the search runs on each kernel set over the same records.
        const jsOfWasm = AnnoyIndex.fromBuffer(wasm.toBuffer(), data.f, data.metric);
        setKernels('wasm');
        const wasmOfJs = AnnoyIndex.fromBuffer(js.toBuffer(), data.f, data.metric);
        setKernels('auto');
        expect(Buffer.from(js.toBuffer()).equals(Buffer.from(wasm.toBuffer()))).toBe(true);
        for (const q of data.queries) {
          const want = wasm.getNnsByVector(q, n, Infinity, true);
          expect(js.getNnsByVector(q, n, Infinity, true)).toEqual(want);
          expect(jsOfWasm.getNnsByVector(q, n, Infinity, true)).toEqual(want);
          expect(wasmOfJs.getNnsByVector(q, n, Infinity, true)).toEqual(want);
        }
        const first = data.items.keys().next().value!;
        expect(js.getNnsByItem(first, n, Infinity, true)).toEqual(wasm.getNnsByItem(first, n, Infinity, true));
        expect(js.getDistance(first, first)).toBe(wasm.getDistance(first, first));
      }),
      runs(120),
    );
  });
});

// ------------------------------------------------------------------ call sequences

type State = 'adding' | 'built' | 'loaded';

/** What the index should hold. Files on disk are snapshots of it (or 'corrupt'). */
interface Model {
  f: number;
  metric: MetricName;
  state: State;
  items: Map<number, number[]>;
  nItems: number;
  files: Map<number, { items: Map<number, number[]>; nItems: number } | 'corrupt'>;
}

interface Real {
  index: AnnoyIndex;
  folder: string;
}

type Expected = null | (new (...args: never[]) => Error);

/** Runs `call`; it must succeed when `expected` is null and throw exactly that class otherwise. */
function outcome<T>(what: string, expected: Expected, call: () => T): T | undefined {
  let result: T;
  try {
    result = call();
  } catch (e) {
    if (expected === null) throw new Error(`${what} threw ${(e as Error).constructor.name}: ${(e as Error).message}`, { cause: e });
    if (!(e instanceof expected)) throw new Error(`${what} threw ${(e as Error).constructor.name} (${(e as Error).message}), expected ${expected.name}`, { cause: e });
    return undefined;
  }
  if (expected !== null) throw new Error(`${what} succeeded, expected ${expected.name}`);
  return result;
}

/** After every command: the index agrees with the model and still answers (or refuses) as its state says. */
function checkUsable(m: Model, r: Real): void {
  const { index } = r;
  expect(index.getNItems()).toBe(m.nItems);
  for (let id = 0; id < m.nItems; id++) {
    const want = m.items.get(id) ?? new Array(m.f).fill(0);
    expect(index.getItemVector(id)).toEqual(want);
  }
  expect(() => index.getItemVector(m.nItems)).toThrow(AnnoyArgumentError);
  const q = new Array(m.f).fill(0.5);
  if (m.state === 'adding') {
    expect(() => index.getNnsByVector(q, 3)).toThrow(AnnoyStateError);
    expect(() => index.toBuffer()).toThrow(AnnoyStateError);
    expect(index.getNTrees()).toBe(0);
  } else {
    expect(index.getNTrees()).toBeGreaterThanOrEqual(1);
    // Exhaustive search with n above the item count returns every item, once.
    const all = index.getNnsByVector(q, m.nItems + 1, Infinity);
    expect([...all].sort((a, b) => a - b)).toEqual([...m.items.keys()].sort((a, b) => a - b));
    expectWellFormed(m.metric, m.items, 3, index.getNnsByVector(q, 3, -1, true));
  }
}

function asStored(m: Model, v: number[]): number[] {
  return v.map((x) => (m.metric === 'hamming' ? (x > 0.5 ? 1 : 0) : Math.fround(x)));
}

const slotPath = (r: Real, slot: number) => join(r.folder, `slot${slot}.ann`);

class AddItem implements fc.Command<Model, Real> {
  constructor(readonly id: number, readonly v: number[]) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state === 'adding' ? null : AnnoyStateError;
    outcome(this.toString(), expected, () => r.index.addItem(this.id, this.v));
    if (expected === null) {
      m.items.set(this.id, asStored(m, this.v));
      m.nItems = Math.max(m.nItems, this.id + 1);
    }
    checkUsable(m, r);
  }
  toString = () => `addItem(${this.id}, [${this.v.join(', ')}])`;
}

class Build implements fc.Command<Model, Real> {
  constructor(readonly nTrees: number, readonly seed: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state !== 'adding' || m.items.size === 0 ? AnnoyStateError : null;
    r.index.setSeed(this.seed);
    outcome(this.toString(), expected, () => r.index.build(this.nTrees));
    if (expected === null) m.state = 'built';
    checkUsable(m, r);
  }
  toString = () => `setSeed(${this.seed}); build(${this.nTrees})`;
}

class Cancelled extends Error {}

/** build() whose progress callback throws at the first report (a user cancelling a long build). */
class CancelledBuild implements fc.Command<Model, Real> {
  constructor(readonly nTrees: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state !== 'adding' || m.items.size === 0 ? AnnoyStateError : Cancelled;
    outcome(this.toString(), expected, () => r.index.build(this.nTrees, -1, { onProgress: () => { throw new Cancelled('cancelled'); } }));
    checkUsable(m, r);
  }
  toString = () => `build(${this.nTrees}, -1, { onProgress: cancel })`;
}

class Unbuild implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state === 'built' ? null : AnnoyStateError;
    outcome(this.toString(), expected, () => r.index.unbuild());
    if (expected === null) m.state = 'adding';
    checkUsable(m, r);
  }
  toString = () => 'unbuild()';
}

class Unload implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    outcome(this.toString(), null, () => r.index.unload());
    m.state = 'adding';
    m.items = new Map();
    m.nItems = 0;
    checkUsable(m, r);
  }
  toString = () => 'unload()';
}

class Save implements fc.Command<Model, Real> {
  constructor(readonly slot: number, readonly sidecar: boolean) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state === 'adding' ? AnnoyStateError : null;
    outcome(this.toString(), expected, () => r.index.save(slotPath(r, this.slot), { sidecar: this.sidecar }));
    if (expected === null) {
      m.state = 'loaded';
      m.files.set(this.slot, { items: new Map(m.items), nItems: m.nItems });
    }
    checkUsable(m, r);
  }
  toString = () => `save(slot${this.slot}, { sidecar: ${this.sidecar} })`;
}

class Load implements fc.Command<Model, Real> {
  constructor(readonly slot: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const file = m.files.get(this.slot);
    const expected: Expected = file === undefined ? AnnoyIOError : file === 'corrupt' ? AnnoyFormatError : null;
    outcome(this.toString(), expected, () => r.index.load(slotPath(r, this.slot)));
    if (file !== undefined && file !== 'corrupt') {
      m.state = 'loaded';
      m.items = new Map(file.items);
      m.nItems = file.nItems;
    }
    checkUsable(m, r);
  }
  toString = () => `load(slot${this.slot})`;
}

/** Replaces a slot's file with bytes that are not an index of this f and metric (its sidecar, if any, goes stale). */
class Corrupt implements fc.Command<Model, Real> {
  constructor(readonly slot: number, readonly records: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    // One byte more than whole records: never a valid index.
    const size = this.records * (m.metric === 'angular' ? 12 + 4 * m.f : m.metric === 'hamming' ? 16 + 8 * Math.ceil(m.f / 64) : 16 + 4 * m.f) + 1;
    writeFileSync(slotPath(r, this.slot), new Uint8Array(size).fill(0x5a));
    m.files.set(this.slot, 'corrupt');
    checkUsable(m, r);
  }
  toString = () => `corrupt(slot${this.slot})`;
}

/** Replaces the object under test by AnnoyIndex.fromBuffer(its own toBuffer()). */
class FromBuffer implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state === 'adding' ? AnnoyStateError : null;
    const copy = outcome(this.toString(), expected, () => AnnoyIndex.fromBuffer(r.index.toBuffer(), m.f, m.metric));
    if (copy) {
      r.index = copy;
      m.state = 'loaded';
    }
    checkUsable(m, r);
  }
  toString = () => 'index = fromBuffer(index.toBuffer())';
}

class Query implements fc.Command<Model, Real> {
  constructor(readonly v: number[], readonly byItem: number, readonly n: number, readonly searchK: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected: Expected = m.state === 'adding' ? AnnoyStateError : null;
    const got = outcome(this.toString(), expected, () => r.index.getNnsByVector(this.v, this.n, this.searchK, true));
    if (got) expectWellFormed(m.metric, m.items, this.n, got);
    const byItem: Expected = m.state === 'adding' ? AnnoyStateError : this.byItem >= m.nItems ? AnnoyArgumentError : null;
    const got2 = outcome(`getNnsByItem(${this.byItem})`, byItem, () => r.index.getNnsByItem(this.byItem, this.n, this.searchK, true));
    if (got2) expectWellFormed(m.metric, m.items, this.n, got2);
    const distance: Expected = this.byItem < m.nItems ? null : AnnoyArgumentError;
    outcome(`getDistance(0, ${this.byItem})`, m.nItems > 0 ? distance : AnnoyArgumentError, () => r.index.getDistance(0, this.byItem));
    checkUsable(m, r);
  }
  toString = () => `getNnsByVector([${this.v.join(', ')}], ${this.n}, ${this.searchK}) / getNnsByItem(${this.byItem})`;
}

interface Variant {
  kernels: 'wasm' | 'js';
  /** Include unbuild() (with the WebAssembly kernels it meets defect 2, see test/fuzz-regressions.test.ts). */
  unbuild: boolean;
  /** Include builds cancelled from the progress callback (defect 1). */
  cancelledBuilds: boolean;
}

function commandsArb(metric: MetricName, f: number, variant: Variant) {
  const id = fc.integer({ min: 0, max: 30 });
  const slot = fc.integer({ min: 0, max: 2 });
  const trees = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(-1));
  return fc.commands(
    [
      fc.tuple(id, vectorArb(metric, f)).map(([i, v]) => new AddItem(i, v)),
      fc.tuple(id, vectorArb(metric, f)).map(([i, v]) => new AddItem(i, v)),
      fc.tuple(trees, fc.integer({ min: 0, max: 1000 })).map(([t, s]) => new Build(t, s)),
      ...(variant.unbuild ? [fc.constant(new Unbuild())] : []),
      ...(variant.cancelledBuilds ? [trees.map((t) => new CancelledBuild(t))] : []),
      fc.constant(new Unload()),
      fc.tuple(slot, fc.boolean()).map(([s, side]) => new Save(s, side)),
      slot.map((s) => new Load(s)),
      fc.tuple(slot, fc.integer({ min: 0, max: 5 })).map(([s, n]) => new Corrupt(s, n)),
      fc.constant(new FromBuffer()),
      fc.tuple(vectorArb(metric, f), id, fc.integer({ min: 0, max: 12 }), searchKArb).map(([v, i, n, k]) => new Query(v, i, n, k)),
    ],
    { maxCommands: 30 },
  );
}

let sequenceCase = 0;

function sequences(metric: MetricName, variant: Variant, numRuns: number): void {
  fc.assert(
    fc.property(
      (metric === 'hamming' ? fc.constantFrom(3, 64, 70) : fc.integer({ min: 1, max: 5 })).chain((f) => fc.tuple(fc.constant(f), commandsArb(metric, f, variant))),
      ([f, cmds]) => {
        const folder = join(dir, `seq-${metric}-${sequenceCase++}`);
        setKernels(variant.kernels);
        try {
          const model: Model = { f, metric, state: 'adding', items: new Map(), nItems: 0, files: new Map() };
          const real: Real = { index: new AnnoyIndex(f, metric), folder };
          mkdirSync(folder, { recursive: true });
          fc.modelRun(() => ({ model, real }), cmds);
        } finally {
          setKernels('auto');
          rmSync(folder, { recursive: true, force: true });
        }
      },
    ),
    runs(numRuns),
  );
}

describe('random call sequences: every call succeeds or throws the documented error, and the index stays usable', () => {
  it.each(METRICS)('%s, TypeScript kernels', (metric) => {
    sequences(metric, { kernels: 'js', unbuild: true, cancelledBuilds: false }, 40);
  });
  it.runIf(wasmKernelsAvailable()).each(METRICS)('%s, WebAssembly kernels, without unbuild', (metric) => {
    sequences(metric, { kernels: 'wasm', unbuild: false, cancelledBuilds: false }, 40);
  });
  // The full command set, including unbuild() with the WebAssembly kernels and cancelled builds
  // (this found defects 1 and 2, now fixed; their reproducers are in test/fuzz-regressions.test.ts).
  it.each(METRICS)('%s, WebAssembly kernels, every command', (metric) => {
    sequences(metric, { kernels: 'wasm', unbuild: true, cancelledBuilds: true }, 60);
  });
});
