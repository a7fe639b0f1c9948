// `annoy-ts query` and `annoy-ts eval` with --filter-ids (ids or labels) and --max-distance: the
// real command line (built package) against the library's own answers, and every bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { cli, cliAsync, cliEntry, fbin, randomRows, type Run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-filter-cli-'));
const at = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const F = 6;
const ROWS = randomRows(400, F, 16);
const QUERY = ROWS[5].map((x) => x + 0.05);
const ALLOWED = [3, 10, 11, 57, 58, 120, 200, 201, 333, 399];

beforeAll(async () => {
  cliEntry();
  writeFileSync(at('vectors.fbin'), fbin(ROWS));
  writeFileSync(at('words.txt'), `${ROWS.length} ${F}\n` + ROWS.map((r, i) => `w${i} ${r.join(' ')}\n`).join(''));
  writeFileSync(at('ids.txt'), ALLOWED.join('\n') + '\n\n');
  writeFileSync(at('labels.txt'), ALLOWED.map((i) => `w${i}`).join('\r\n') + '\n');
  writeFileSync(at('bad-id.txt'), '3\n10\n4000\n');
  writeFileSync(at('bad-label.txt'), 'w3\nnot-a-word\n');
  writeFileSync(at('empty.txt'), '\n');
  const builds = await Promise.all([
    cliAsync(['build', at('vectors.fbin'), '-o', at('v.ann'), '-m', 'euclidean', '-t', '6', '--seed', '1', '-q']),
    cliAsync(['build', at('words.txt'), '-o', at('w.ann'), '-m', 'angular', '-t', '6', '--seed', '1', '-q']),
  ]);
  for (const b of builds) expect(b.code, b.stderr).toBe(0);
});

const lines = (r: Run) => r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ids: number[]; distances: number[]; labels?: string[] });

function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^annoy-ts: .+\n$/);
  expect(r.stderr).toMatch(pattern);
}

describe('annoy-ts query', () => {
  it('--filter-ids FILE of ids: only those items, as the library answers', () => {
    const index = AnnoyIndex.open(at('v.ann'));
    const r = cli(['query', at('v.ann'), '--vector', JSON.stringify(QUERY), '-k', '4', '--filter-ids', at('ids.txt'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [got] = lines(r);
    expect(got.ids).toEqual(index.getNnsByVector(QUERY, 4, { filter: ALLOWED }));
    expect(got.ids.every((id) => ALLOWED.includes(id))).toBe(true);
    // The table names the filter.
    const table = cli(['query', at('v.ann'), '--item', '5', '--filter-ids', at('ids.txt')]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^item 5, 10 allowed items \(.*ids\.txt\)\n/);
  });

  it('--filter-ids FILE of labels, on an index with labels', () => {
    const index = AnnoyIndex.open(at('w.ann'));
    const r = cli(['query', at('w.ann'), '--label', 'w5', '-k', '3', '--filter-ids', at('labels.txt'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [got] = lines(r);
    expect(got.ids).toEqual(index.getNnsByItem(5, 3, { filter: ALLOWED }));
    expect(got.labels).toEqual(got.ids.map((id) => `w${id}`));
  });

  it('--max-distance, with -k all: every item in range', () => {
    const index = AnnoyIndex.open(at('v.ann'));
    const r0 = index.getNnsByVector(QUERY, 25, { searchK: Infinity, includeDistances: true }).distances[24];
    const r = cli(['query', at('v.ann'), '--vector', QUERY.join(','), '-k', 'all', '--max-distance', String(r0), '--search-k', 'all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [got] = lines(r);
    expect(got.ids).toEqual(index.getNnsByVector(QUERY, Infinity, { maxDistance: r0, searchK: Infinity }));
    expect(got.ids).toHaveLength(25);
    const both = lines(cli(['query', at('v.ann'), '--vector', QUERY.join(','), '-k', '3', '--max-distance', String(r0), '--filter-ids', at('ids.txt'), '--json']))[0];
    expect(both.ids).toEqual(index.getNnsByVector(QUERY, 3, { maxDistance: r0, filter: ALLOWED }));
    expect(both.distances.every((d) => d <= r0)).toBe(true);
    const none = cli(['query', at('v.ann'), '--item', '0', '--filter-ids', at('empty.txt')]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/\(no items\)/);
  });

  it('bad filter files and radii: one line, the right exit code', async () => {
    const [badId, badLabel, noLabels, missing, kAll, notNumber, negative] = await Promise.all([
      cliAsync(['query', at('v.ann'), '--item', '0', '--filter-ids', at('bad-id.txt')]),
      cliAsync(['query', at('w.ann'), '--item', '0', '--filter-ids', at('bad-label.txt')]),
      cliAsync(['query', at('v.ann'), '--item', '0', '--filter-ids', at('labels.txt')]),
      cliAsync(['query', at('v.ann'), '--item', '0', '--filter-ids', at('nope.txt')]),
      cliAsync(['query', at('v.ann'), '--item', '0', '-k', 'all']),
      cliAsync(['query', at('v.ann'), '--item', '0', '--max-distance', 'near']),
      cliAsync(['query', at('v.ann'), '--item', '0', '--max-distance', '-1']),
    ]);
    expectOneLineError(badId, 1, /bad-id\.txt line 3: item 4000 does not exist \(ids run from 0 to 399\)/);
    expectOneLineError(badLabel, 1, /bad-label\.txt line 2: no item has the label "not-a-word"/);
    expectOneLineError(noLabels, 1, /labels\.txt line 1: "w3" is not an item id, and the index has no labels/);
    expectOneLineError(missing, 1, /cannot read .*nope\.txt \(--filter-ids\)/);
    expectOneLineError(kAll, 2, /-k all needs --max-distance/);
    expectOneLineError(notNumber, 2, /--max-distance must be a number, got "near"/);
    expectOneLineError(negative, 1, /maxDistance must not be negative \(euclidean distances are ≥ 0\), got -1/);
  });
});

describe('annoy-ts eval', () => {
  it('measures recall against the exact filtered answers', () => {
    const r = cli(['eval', at('v.ann'), '--filter-ids', at('ids.txt'), '-k', '5', '--search-k', '-1,all', '--sample', '30', '--min-time', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ k: 5, queries: 30, allowed: ALLOWED.length });
    expect(report.results).toHaveLength(2);
    expect(report.results[1]).toMatchObject({ searchK: 'all', recall: 1 });
    expect(report.results[0].recall).toBeGreaterThan(0.5);
  });

  it('and against exact range search with --max-distance', () => {
    const r = cli(['eval', at('v.ann'), '--max-distance', '0.6', '-k', 'all', '--search-k', '100,all', '--sample', '20', '--min-time', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/k = all; within distance 0\.6/);
    expect(r.stdout).toMatch(/recall@all/);
    expect(r.stdout).toMatch(/\n\s+all\s+1\.000\s/);
  });
});
