// The annoy-ts command line, run as a real child process (see cli-helpers.ts) on real files,
// including a file written by the C++ Annoy binding. Checks output and exit codes (0 ok, 1 failure,
// 2 usage) and that every bad input gives one line on stderr, never a stack trace.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { cli, cliAsync, cliEntry, fbin, randomRows, ROOT, type Run } from '../helpers/cli.ts';
import { annoyBinding, bindingUnavailable } from '../helpers/annoy-binding.ts';
import { skipWithout } from '../helpers/requirements.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

const F = 8;
const ROWS = randomRows(300, F, 7);
const WORDS = ROWS.map((_, i) => `w${i}`);

const builds: Record<string, Run> = {};

beforeAll(async () => {
  cliEntry(); // compile once, outside the first test's time
  writeFileSync(at('vectors.fbin'), fbin(ROWS));
  writeFileSync(at('words.txt'), `${ROWS.length} ${F}\n` + ROWS.map((r, i) => `${WORDS[i]} ${r.join(' ')}\n`).join(''));
  writeFileSync(at('keyed.csv'), 'id,name,' + Array.from({ length: F }, (_, k) => `x${k}`).join(',') + '\n' +
    ROWS.slice(0, 50).map((r, i) => `${2 * i},item ${i},${r.join(',')}\n`).join(''));
  writeFileSync(at('queries.jsonl'), ROWS.slice(0, 3).map((r) => JSON.stringify(r.map((x) => x + 0.01))).join('\n') + '\n');
  // The builds the tests below inspect, run side by side.
  const [v, w, k] = await Promise.all([
    cliAsync(['build', at('vectors.fbin'), '-o', at('v.ann'), '--metric', 'euclidean', '--trees', '10', '--quiet']),
    cliAsync(['build', at('words.txt'), '-o', at('w.ann'), '-m', 'angular', '-t', '5', '--seed', '42', '--metadata', '{"corpus":"test"}']),
    cliAsync(['build', at('keyed.csv'), '-o', at('k.ann'), '-m', 'euclidean', '-q']),
  ]);
  Object.assign(builds, { v, w, k });
});

/** One line on stderr, prefixed, and no stack trace. */
function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^annoy-ts: .+\n$/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(pattern);
}

function reference(rows: number[][], metric: 'angular' | 'euclidean', trees = 10, ids?: number[]): AnnoyIndex {
  const index = new AnnoyIndex(rows[0].length, metric);
  rows.forEach((r, i) => index.addItem(ids ? ids[i] : i, r));
  index.build(trees);
  return index;
}

describe('help and version', () => {
  it('every command has --help (exit 0); no command prints the usage with exit 2', async () => {
    const [top, build, query, info, evaluate, none, version] = await Promise.all([
      cliAsync(['--help']), cliAsync(['build', '--help']), cliAsync(['query', '-h']), cliAsync(['info', '--help']),
      cliAsync(['eval', '--help']), cliAsync([]), cliAsync(['--version']),
    ]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: annoy-ts <command>[\s\S]*build[\s\S]*query[\s\S]*info[\s\S]*eval/);
    expect(build.stdout).toMatch(/^Usage: annoy-ts build INPUT -o INDEX --metric M/);
    expect(build.stdout).toMatch(/\.npy[\s\S]*\.fvecs[\s\S]*\.fbin[\s\S]*\.csv[\s\S]*\.jsonl[\s\S]*GloVe/);
    expect(query.stdout).toMatch(/^Usage: annoy-ts query INDEX \(--vector V \| --item ID \| --label WORD \| --file QUERIES\)/);
    expect(info.stdout).toMatch(/^Usage: annoy-ts info INDEX/);
    expect(evaluate.stdout).toMatch(/^Usage: annoy-ts eval INDEX/);
    for (const r of [build, query, info, evaluate]) expect([r.code, r.stderr]).toEqual([0, '']);
    expect([none.code, none.stdout]).toEqual([2, top.stdout]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    expect(version.stdout).toBe(`annoy-ts ${pkg.version}\n`);
    expect(pkg.bin['annoy-ts']).toBe('./dist/cli/main.js');
    expect(readFileSync(join(ROOT, 'packages/cli/src/cli/main.ts'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});

describe('build → info → query → eval', () => {
  it('builds from .fbin exactly the index the library builds, with a sidecar', () => {
    const r = builds['v'];
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(readFileSync(at('v.ann')).equals(Buffer.from(reference(ROWS, 'euclidean').toBuffer()))).toBe(true);
    expect(JSON.parse(readFileSync(at('v.ann.json'), 'utf8'))).toMatchObject({
      f: F, metric: 'euclidean', nItems: 300, nTrees: 10, metadata: { source: { file: 'vectors.fbin', format: 'fbin', rows: 300 } },
    });
    expect(existsSync(at('v.ann.labels.json'))).toBe(false);
  });

  it('query: table, JSON Lines, several queries in the order given, a query file', async () => {
    const want = AnnoyIndex.open(at('v.ann'));
    const vector = ROWS[9].map((x) => x * 0.5);
    const [table, json, file] = await Promise.all([
      cliAsync(['query', at('v.ann'), '--item', '5', '-k', '3']),
      cliAsync(['query', at('v.ann'), '--vector', JSON.stringify(vector), '--item', '7', '-k', '4', '--json', '--search-k', 'all']),
      cliAsync(['query', at('v.ann'), '--file', at('queries.jsonl'), '--json', '-k', '1']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toBe('item 5');
    expect(lines[1]).toMatch(/rank\s+id\s+distance/);
    const expected = want.getNnsByItem(5, 3, -1, true);
    expect(lines.slice(2).map((l) => Number(l.trim().split(/\s+/)[1]))).toEqual(expected.ids);

    expect(json.code).toBe(0);
    const [a, b] = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ids: number[]; distances: number[] });
    const ra = want.getNnsByVector(vector, 4, Infinity, true);
    expect(Object.keys(a)).toEqual(['ids', 'distances']);
    expect(a.ids).toEqual(ra.ids);
    a.distances.forEach((d, i) => expect(Math.fround(d)).toBe(Math.fround(ra.distances[i])));
    expect(b.ids).toEqual(want.getNnsByItem(7, 4, Infinity));

    expect(file.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { ids: number[] }).ids)).toEqual([[0], [1], [2]]);
  });

  it('word vectors: labels go to INDEX.labels.json, named in the sidecar; query --label uses them', async () => {
    const r = builds['w'];
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built .*w\.ann: 300 items, f = 8, angular, 5 trees, .* \(\+ w\.ann\.json, w\.ann\.labels\.json\)\n$/);
    expect(JSON.parse(readFileSync(at('w.ann.labels.json'), 'utf8'))).toEqual(WORDS);
    expect(JSON.parse(readFileSync(at('w.ann.json'), 'utf8'))).toMatchObject({ labels: 'w.ann.labels.json', seed: '42', metadata: { corpus: 'test' } });

    const [q, t] = await Promise.all([
      cliAsync(['query', at('w.ann'), '--label', 'w17', '-k', '3', '--json']),
      cliAsync(['query', at('w.ann'), '--label', 'w17', '-k', '2']),
    ]);
    const line = JSON.parse(q.stdout) as { ids: number[]; labels: string[] };
    expect(line.ids[0]).toBe(17);
    expect(line.labels).toEqual(line.ids.map((id) => WORDS[id]));
    expect(t.stdout).toMatch(/^item 17 "w17"\n\s+rank\s+id\s+distance\s+label\n\s+1\s+17\s+0\s+w17\n/);
  });

  it('CSV with an id and a label column keeps the ids (holes between them)', () => {
    const r = builds['k'];
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    const index = AnnoyIndex.open(at('k.ann'));
    expect(index.getNItems()).toBe(99);
    expect(index.getItemVector(10)).toEqual(ROWS[5].map(Math.fround));
    expect(JSON.parse(readFileSync(at('k.ann.labels.json'), 'utf8'))[10]).toBe('item 5');
    const q = cli(['query', at('k.ann'), '--label', 'item 5', '-k', '1', '--json']);
    expect(JSON.parse(q.stdout)).toEqual({ ids: [10], distances: [0], labels: ['item 5'] });
  });

  it('info describes the index and its sidecar; --json for scripts', async () => {
    const [text, json] = await Promise.all([cliAsync(['info', at('w.ann')]), cliAsync(['info', at('w.ann'), '--json'])]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/metric\s+angular/);
    expect(text.stdout).toMatch(/\n\s+f\s+8\n/);
    expect(text.stdout).toMatch(/items\s+300 \(ids 0 … 299\)/);
    expect(text.stdout).toMatch(/layout\s+n_descendants i32 @0, children\[0\] i32 \(items: ‖v‖² f32\) @4, children\[1\] i32 @8, v\[8\] f32 @12; leaves hold up to 10 ids/);
    expect(text.stdout).toMatch(/labels\s+.*w\.ann\.labels\.json \(300 labels\)/);
    expect(text.stdout).toMatch(/sidecar\s+.*w\.ann\.json: matches \(size and crc32:[0-9a-f]{8}; opened in [\d.]+ ms\)/);
    const info = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ f: 8, metric: 'angular', nItems: 300, nTrees: 5, recordBytes: 44, leafCapacity: 10, labels: { count: 300 } });
    expect(info['byteLength']).toBe(readFileSync(at('w.ann')).length);
  });

  it('eval reports recall@k against exact search, and queries per second', async () => {
    const [text, json] = await Promise.all([
      cliAsync(['eval', at('v.ann'), '--queries', at('queries.jsonl'), '-k', '5', '--search-k', '-1,all', '--min-time', '0']),
      cliAsync(['eval', at('v.ann'), '-k', '10', '--sample', '40', '--search-k', '10,all', '--json', '--min-time', '0']),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/queries: the 3 vectors in .*queries\.jsonl; k = 5/);
    expect(text.stdout).toMatch(/search_k\s+recall@5\s+queries\/s\s+ms\/query/);
    expect(text.stdout).toMatch(/\n\s+all\s+1\.000\s+[\d,]+\s+[\d.]+\n/);
    const result = JSON.parse(json.stdout) as { k: number; queries: number; source: string; results: { searchK: number | string; recall: number; qps: number }[] };
    expect([result.k, result.queries, result.source]).toEqual([10, 40, "40 of the index's own items"]);
    expect(result.results.map((r) => r.searchK)).toEqual([10, 'all']);
    expect(result.results[1].recall).toBe(1);
    expect(result.results[0].recall).toBeGreaterThan(0);
    expect(result.results[0].recall).toBeLessThanOrEqual(1);
    for (const r of result.results) expect(r.qps).toBeGreaterThan(0);
  });
});

describe.skipIf(skipWithout(annoyBinding() !== null, bindingUnavailable))('a file written by real Annoy (no sidecar)', () => {
  const path = at('annoy.ann');
  beforeAll(() => {
    const index = annoyBinding()!(10, 'angular');
    randomRows(400, 10, 3).forEach((r, i) => index.addItem(i, r));
    index.build(10);
    index.save(path);
  });

  it('info infers angular, f = 10 and says how sure it is; query needs --f/--metric, then answers like Annoy', async () => {
    const [r, j, bare, q] = await Promise.all([
      cliAsync(['info', path]),
      cliAsync(['info', path, '--json']),
      cliAsync(['query', path, '--item', '0']),
      cliAsync(['query', path, '--item', '3', '-k', '5', '--f', '10', '--metric', 'angular', '--json']),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no sidecar .*: inferring f and metric from the records/);
    expect(r.stdout).toMatch(/1\.\s+angular\s+f = 10\s+400 items\s+10 roots\s+consistent\s+every item stores its squared norm/);
    expect(r.stdout).toMatch(/verdict \(high confidence\): angular, f = 10/);
    expect(r.stdout).toMatch(/use it with: annoy-ts query .*annoy\.ann --f 10 --metric angular/);
    const json = JSON.parse(j.stdout) as { inference: { confidence: string; candidates: { metric: string; f: number }[] } };
    expect(json.inference.confidence).toBe('high');
    expect(json.inference.candidates[0]).toMatchObject({ metric: 'angular', f: 10 });

    expectOneLineError(bare, 2, /has no sidecar .*: pass --f and --metric, or run `annoy-ts info .*annoy\.ann` to infer them/);
    expect(q.code, q.stderr).toBe(0);
    const theirs = annoyBinding()!(10, 'angular');
    theirs.load(path);
    const want = theirs.getNNsByItem(3, 5, -1, true);
    const got = JSON.parse(q.stdout) as { ids: number[]; distances: number[] };
    expect(got.ids).toEqual(want.neighbors);
    got.distances.forEach((d, i) => expect(d).toBeCloseTo(want.distances[i], 5));
    theirs.unload();
  });
});

describe('bad input: one clear line on stderr, exit 1 (failure) or 2 (usage), no stack trace', () => {
  it('each case', async () => {
    writeFileSync(at('ragged.csv'), '1,2,3\n4,5,6\n7,8\n');
    writeFileSync(at('nan.csv'), 'a,b\n1,2\n3,nan\n');
    writeFileSync(at('dims.jsonl'), '[1,2,3]\n[4,5,6]\n[7,8]\n');
    writeFileSync(at('q3.jsonl'), '[1,2,3]\n');
    writeFileSync(at('garbage.ann'), 'not an index at all\n'.repeat(20));
    copyFileSync(at('v.ann.json'), at('tampered.ann.json'));
    const bytes = readFileSync(at('v.ann'));
    bytes[bytes.length - 100] ^= 4;
    writeFileSync(at('tampered.ann'), bytes);
    const v = at('v.ann');
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /unknown command "frobnicate": expected one of build, query, info, eval/],
      [['build', at('vectors.fbin'), '-o', at('x.ann'), '-m', 'angular', '--bogus'], 2, /build: unknown option --bogus/],
      [['build', at('vectors.fbin'), '-m', 'angular'], 2, /build: --output is required/],
      [['build', at('vectors.fbin'), '-o', at('x.ann'), '-m', 'cosine'], 2, /unknown metric "cosine".*\(cosine distance is 'angular' in Annoy\)/],
      [['build', at('vectors.fbin'), '-o', at('x.ann'), '-m', 'angular', '--trees', 'many'], 2, /--trees must be an integer or auto\/-1, got "many"/],
      [['build', at('vectors.fbin'), '-o', at('x.ann'), '-m', 'angular', '--trees'], 2, /option --trees needs a value/],
      [['build', at('missing.npy'), '-o', at('x.ann'), '-m', 'angular'], 1, /cannot read .*missing\.npy: no such file or directory/],
      [['build', at('vectors.fbin'), '-o', at('no/such/dir/x.ann'), '-m', 'angular'], 1, /cannot write .*x\.ann: the folder .*dir does not exist/],
      [['build', at('ragged.csv'), '-o', at('x.ann'), '-m', 'angular'], 1, /ragged\.csv line 3: 2 fields, but line 1 has 3/],
      [['build', at('nan.csv'), '-o', at('x.ann'), '-m', 'angular'], 1, /nan\.csv line 3, column 2 \(b\): NaN cannot be indexed/],
      [['build', at('dims.jsonl'), '-o', at('x.ann'), '-m', 'angular'], 1, /dims\.jsonl line 3: 2 values, but line 1 has 3: every vector needs the same dimension/],
      [['query', at('missing.ann'), '--item', '1'], 1, /cannot open .*missing\.ann: no such file or directory/],
      [['query', v], 2, /give at least one of --vector, --item, --label or --file/],
      [['query', v, '--item', '1', '--metric', 'angular'], 1, /metric 'angular' was given, but .*v\.ann\.json says the index was built with metric 'euclidean'/],
      [['query', v, '--item', '1', '--f', '9'], 1, /f = 9 was given, but .*v\.ann\.json says the index was built with f = 8/],
      [['query', v, '--vector', '[1, 2, 3]'], 1, /--vector has 3 values per vector, but the index has f = 8/],
      [['query', v, '--vector', '1,2,x,4,5,6,7,8'], 2, /--vector value 3: "x" is not a number/],
      [['query', v, '--item', '1', '-k', 'ten'], 2, /--k must be an integer, got "ten"/],
      [['query', v, '--item', '300'], 1, /--item 300: .*v\.ann has items 0 … 299/],
      [['query', v, '--label', 'w1'], 1, /--label: .*v\.ann has no labels/],
      [['query', v, '--file', at('dims.jsonl')], 1, /dims\.jsonl line 3: 2 values, but line 1 has 3/],
      [['query', at('tampered.ann'), '--item', '1'], 1, /tampered\.ann has checksum crc32:[0-9a-f]{8}, but .*tampered\.ann\.json says crc32:/],
      [['info', at('tampered.ann')], 1, /has checksum .*\(`annoy-ts info .*tampered\.ann --ignore-sidecar` infers f and metric from the records\)/],
      [['info', at('garbage.ann')], 1, /garbage\.ann: no \(metric, f\) fits these 400 bytes/],
      [['eval', v, '--queries', at('q3.jsonl')], 1, /q3\.jsonl has 3 values per vector, but the index has f = 8/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cliAsync(args)));
    runs.forEach((r, i) => expectOneLineError(r, cases[i][1], cases[i][2]));
  });

  it('--debug adds the stack trace', () => {
    const r = cli(['query', at('missing.ann'), '--item', '1', '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^annoy-ts: cannot open .*missing\.ann/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
