// The CLI's input readers, one module per format, on small files (the .npy ones written by NumPy:
// test/data/cli/make-npy.py). Every bad input must give one clear line naming the file and place.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../../packages/cli/src/cli/errors.ts';
import { createProgress } from '../../packages/cli/src/cli/progress.ts';
import { readCsv } from '../../packages/cli/src/cli/readers/csv.ts';
import { parseFbin } from '../../packages/cli/src/cli/readers/fbin.ts';
import { formatOf, readVectors } from '../../packages/cli/src/cli/readers/index.ts';
import { readJsonl } from '../../packages/cli/src/cli/readers/jsonl.ts';
import { parseNpy } from '../../packages/cli/src/cli/readers/npy.ts';
import { readWordVectors } from '../../packages/cli/src/cli/readers/text.ts';
import { parseVecs } from '../../packages/cli/src/cli/readers/vecs.ts';
import { fbin } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DATA = new URL('../data/cli/', import.meta.url);

/** The matrix make-npy.py writes: row r, column c = 10r + c + 0.5. */
const EXPECTED = Array.from({ length: 5 }, (_, r) => Array.from({ length: 3 }, (_, c) => r * 10 + c + 0.5));

function rows(d: { dim: number; count: number; data: Float32Array }): number[][] {
  return Array.from({ length: d.count }, (_, r) => Array.from(d.data.subarray(r * d.dim, (r + 1) * d.dim)));
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const npy = (name: string) => {
  const bytes = readFileSync(new URL(name, DATA));
  return parseNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name);
};

describe('.npy', () => {
  it('reads float32, float64, big-endian and format-version-2 arrays written by NumPy', () => {
    for (const name of ['f32.npy', 'f64.npy', 'f32-big-endian.npy', 'v2.npy']) {
      const d = npy(name);
      expect([d.count, d.dim], name).toEqual([5, 3]);
      expect(rows(d), name).toEqual(EXPECTED);
      expect(d.labels, name).toBeNull();
    }
  });

  it('explains what to do about Fortran order, other dtypes, 1-D arrays, NaN and truncation', () => {
    expect(() => npy('fortran.npy')).toThrow(/fortran\.npy: the array is stored in Fortran \(column-major\) order: save it with np\.save\(path, np\.ascontiguousarray\(arr\)\)/);
    expect(() => npy('int64.npy')).toThrow(/int64\.npy: dtype "<i8" is not supported: annoy-ts reads float32 \('<f4'\) and float64 \('<f8'\) arrays \(convert with arr\.astype\('float32'\)\)/);
    expect(() => npy('vector-1d.npy')).toThrow(/shape \(3,\) is 1-D; annoy-ts needs a 2-D array .* arr\.reshape\(1, -1\)/);
    expect(() => npy('nan.npy')).toThrow(/nan\.npy row 4, value 2: NaN cannot be indexed/);
    const good = readFileSync(new URL('f32.npy', DATA));
    expect(() => parseNpy(new Uint8Array(good.subarray(0, good.length - 4)), 'cut.npy')).toThrow(/cut\.npy: truncated: shape \(5, 3\) needs 60 bytes of data, the file has 56/);
    expect(() => parseNpy(new TextEncoder().encode('x,y\n1,2\n'), 'a.npy')).toThrow(/a\.npy: not a NumPy \.npy file/);
    expect(() => npy('int64.npy')).toThrow(CliError);
  });
});

describe('.fvecs / .bvecs / .fbin', () => {
  const fvecs = (data: number[][]) => {
    const buf = Buffer.alloc(data.reduce((n, r) => n + 4 + 4 * r.length, 0));
    let at = 0;
    for (const r of data) {
      buf.writeInt32LE(r.length, at);
      at += 4;
      for (const x of r) at = buf.writeFloatLE(x, at);
    }
    return new Uint8Array(buf);
  };

  it('reads rows of float32 (fvecs), uint8 (bvecs) and the fbin matrix', () => {
    expect(rows(parseVecs(fvecs(EXPECTED), 'a.fvecs', 'fvecs'))).toEqual(EXPECTED);
    const b = new Uint8Array([3, 0, 0, 0, 1, 2, 255, 3, 0, 0, 0, 0, 7, 9]);
    expect(rows(parseVecs(b, 'a.bvecs', 'bvecs'))).toEqual([[1, 2, 255], [0, 7, 9]]);
    expect(rows(parseFbin(new Uint8Array(fbin(EXPECTED)), 'a.fbin'))).toEqual(EXPECTED);
  });

  it('rejects rows of different dimension, truncation and bad headers', () => {
    expect(() => parseVecs(fvecs([[1, 2, 3], [4, 5]]), 'r.fvecs', 'fvecs')).toThrow(/r\.fvecs: 28 bytes is not a whole number of 16-byte rows \(3 values each\): truncated, or the rows differ in dimension/);
    expect(() => parseVecs(fvecs([[1, 2], [3, 4, 5], [6]]), 'r.fvecs', 'fvecs')).toThrow(/r\.fvecs: row 2 has 3 values, but row 1 has 2/);
    expect(() => parseVecs(fvecs([[1, NaN]]), 'n.fvecs', 'fvecs')).toThrow(/n\.fvecs row 1, value 2: NaN/);
    expect(() => parseVecs(new Uint8Array([0, 0, 0, 0]), 'z.fvecs', 'fvecs')).toThrow(/row 1 declares 0 values/);
    const cut = fbin(EXPECTED).subarray(0, 50);
    expect(() => parseFbin(new Uint8Array(cut), 'c.fbin')).toThrow(/c\.fbin: the header says 5 rows × 3 values \(68 bytes\), but the file has 50 bytes/);
  });
});

describe('CSV / TSV', () => {
  const read = (name: string, text: string, options = {}) => {
    const path = file(name, text);
    return readCsv(path, name, name.endsWith('.tsv') ? '\t' : ',', text.length, options);
  };

  it('plain numbers; a header; a label column; an id column (by name or number); quoted fields', async () => {
    expect(rows(await read('a.csv', '1,2,3\n4,5,6\n'))).toEqual([[1, 2, 3], [4, 5, 6]]);
    const h = await read('h.csv', 'x,y\n1,2\n3,4e-1\n');
    expect([rows(h), h.labels, h.ids]).toEqual([[[1, 2], [3, 0.4000000059604645]], null, null]);
    const l = await read('l.csv', 'apple,1,2\n"pear, green",3,4\n');
    expect([rows(l), l.labels]).toEqual([[[1, 2], [3, 4]], ['apple', 'pear, green']]);
    const named = await read('n.csv', 'id,x,word,y\n7,1,cat,2\n3,3,dog,4\n');
    expect([rows(named), named.labels, named.ids]).toEqual([[[1, 2], [3, 4]], ['cat', 'dog'], [7, 3]]);
    const explicit = await read('e.tsv', '5\t0.5\t1.5\n6\t2.5\t3.5\n', { idColumn: '1', header: false });
    expect([rows(explicit), explicit.ids]).toEqual([[[0.5, 1.5], [2.5, 3.5]], [5, 6]]);
    const byName = await read('b.csv', 'k,a,b\nx,1,2\n', { labelColumn: 'k' });
    expect(byName.labels).toEqual(['x']);
  });

  it('ragged rows, NaN, empty or non-numeric values, bad ids, unknown columns: one clear line each', async () => {
    await expect(read('r.csv', '1,2,3\n4,5\n')).rejects.toThrow(/r\.csv line 2: 2 fields, but line 1 has 3: every row needs the same number of columns/);
    await expect(read('nan.csv', 'a,b\n1,2\n3,NaN\n')).rejects.toThrow(/nan\.csv line 3, column 2 \(b\): NaN cannot be indexed/);
    await expect(read('inf.csv', '1,2\n3,-inf\n')).rejects.toThrow(/inf\.csv line 2, column 2: -Infinity cannot be indexed/);
    await expect(read('big.csv', '1,2\n3,1e39\n')).rejects.toThrow(/big\.csv line 2, column 2: 1e\+39 overflows float32/);
    await expect(read('empty.csv', 'x,1,2\ny,,4\n')).rejects.toThrow(/empty\.csv line 2, column 2: "" is not a number/);
    await expect(read('word.csv', 'x,1,2\ny,3,abc\n')).rejects.toThrow(/word\.csv line 2, column 3: "abc" is not a number/);
    await expect(read('dup.csv', 'id,x\n1,0.5\n1,0.7\n')).rejects.toThrow(/dup\.csv line 3: id 1 was already used \(line 2\)/);
    await expect(read('neg.csv', 'id,x\n-1,0.5\n')).rejects.toThrow(/neg\.csv line 2: id "-1" is not a non-negative integer/);
    await expect(read('col.csv', 'a,b\n1,2\n', { labelColumn: 'nope' })).rejects.toThrow(UsageError);
    await expect(read('col.csv', 'a,b\n1,2\n', { labelColumn: 'nope' })).rejects.toThrow(/--label-column "nope": col\.csv has no such column \(its header: a, b\)/);
    await expect(read('q.csv', '1,"2\n')).rejects.toThrow(/q\.csv: Quote Not Closed/);
    await expect(read('h.csv', 'a,b\n')).rejects.toThrow(/h\.csv: no vectors found/);
  });
});

describe('JSON Lines', () => {
  const read = (name: string, text: string) => readJsonl(file(name, text), name, text.length);

  it('arrays or objects with a vector, an id and a label; blank lines skipped', async () => {
    expect(rows(await read('a.jsonl', '[1, 2]\n\n[3, 4.5]\n'))).toEqual([[1, 2], [3, 4.5]]);
    const o = await read('o.jsonl', '{"id": 4, "label": "four", "vector": [1, 2]}\n{"id": 9, "label": "nine", "embedding": [3, 4]}\n');
    expect([rows(o), o.ids, o.labels]).toEqual([[[1, 2], [3, 4]], [4, 9], ['four', 'nine']]);
  });

  it('bad JSON, a different dimension, non-numbers and mixed ids are errors with the line number', async () => {
    await expect(read('b.jsonl', '[1, 2]\n[1, 2\n')).rejects.toThrow(/b\.jsonl line 2: not valid JSON/);
    await expect(read('d.jsonl', '[1, 2, 3]\n[1, 2]\n')).rejects.toThrow(/d\.jsonl line 2: 2 values, but line 1 has 3: every vector needs the same dimension/);
    await expect(read('s.jsonl', '[1, "2"]\n')).rejects.toThrow(/s\.jsonl line 1, value 2: "2" is not a number/);
    await expect(read('k.jsonl', '{"values": [1], "id": 1}\n{"values": [2]}\n')).rejects.toThrow(/k\.jsonl line 2: has no id, but earlier rows do/);
    await expect(read('x.jsonl', '{"data": [1]}\n')).rejects.toThrow(/an object needs the vector under one of "vector", "embedding", "values", "v"/);
  });
});

describe('word-vector text (GloVe, word2vec)', () => {
  const read = (name: string, text: string) => readWordVectors(file(name, text), name, text.length);

  it('GloVe lines, a word2vec header, trailing spaces, CRLF and words containing spaces', async () => {
    const g = await read('g.txt', 'the 0.1 0.2 0.3\n, -1 0 1e-2\n');
    expect([g.dim, g.labels]).toEqual([3, ['the', ',']]);
    expect(rows(g)[1]).toEqual([-1, 0, 0.009999999776482582]);
    const w = await read('w.vec', '2 2\r\nking 1 2 \r\nqueen 3 4 \r\n');
    expect([rows(w), w.labels]).toEqual([[[1, 2], [3, 4]], ['king', 'queen']]);
    const s = await read('s.txt', 'a 1 2\nnew york 3 4\n');
    expect(s.labels).toEqual(['a', 'new york']);
  });

  it('rows of another dimension and non-numbers are errors with the line number', async () => {
    await expect(read('r.txt', 'a 1 2 3\nb 1 2\n')).rejects.toThrow(/r\.txt line 2: 2 values, expected 3/);
    await expect(read('m.txt', 'a 1 2\nb 1 2 3\n')).rejects.toThrow(/m\.txt line 2: 3 values, expected 2/);
    await expect(read('h.txt', '2 3\na 1 2\n')).rejects.toThrow(/h\.txt line 2: 2 values, expected 3/);
    await expect(read('n.txt', 'a 1 nan\n')).rejects.toThrow(/n\.txt line 1, value 2 of "a": NaN cannot be indexed/);
    await expect(read('x.txt', 'a 1 x2\n')).rejects.toThrow(/x\.txt line 1, value 2 of "a": "x2" is not a number/);
  });
});

describe('format detection and readVectors()', () => {
  it('picks the reader by extension or --format, and explains the rest', async () => {
    expect(['a.npy', 'b.FVECS', 'c.bvecs', 'd.fbin', 'e.csv', 'f.tsv', 'g.ndjson', 'h.txt', 'i.vec'].map((p) => formatOf(p)))
      .toEqual(['npy', 'fvecs', 'bvecs', 'fbin', 'csv', 'tsv', 'jsonl', 'text', 'text']);
    expect(formatOf('x.dat', 'glove')).toBe('text');
    expect(() => formatOf('x.dat')).toThrow(/cannot tell the format of x\.dat from its extension: pass --format/);
    expect(() => formatOf('x.json')).toThrow(/rename it to \.jsonl or pass --format jsonl/);
    expect(() => formatOf('x.csv', 'parquet')).toThrow(/--format "parquet" is not one of/);
    await expect(readVectors(join(dir, 'missing.csv'))).rejects.toThrow(/cannot read .*missing\.csv: no such file or directory/);
    await expect(readVectors(file('empty.csv', ''))).rejects.toThrow(/empty\.csv is empty/);
    await expect(readVectors(dir + '/', { format: 'csv' })).rejects.toThrow(/it is a folder/);
  });

  it('reports reading progress up to the file size', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `w${i} ${i} ${i + 1}`).join('\n');
    const path = file('many.txt', lines);
    const seen: [number, number][] = [];
    const d = await readVectors(path, { onProgress: (done, total) => seen.push([done, total]) });
    expect(d.count).toBe(3000);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toEqual([lines.length, lines.length]);
    const binary: number[] = [];
    await readVectors(file('m.fbin', fbin(EXPECTED)), { onProgress: (done) => binary.push(done) });
    expect(binary.at(-1)).toBe(68);
  });
});

describe('progress bar', () => {
  it('shows the rate and ETA, and draws nothing when disabled', () => {
    let text = '';
    const stream = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
    const bar = createProgress(true, { stream, force: true });
    bar.start('reading', 1 << 20, 'bytes');
    bar.update(1 << 19);
    bar.stop();
    expect(text).toMatch(/reading\s+\[.*\] 50% \| 512\.0 KiB \/ 1\.0 MiB \| [\d.]+ (B|KiB|MiB|GiB)\/s \| ETA \d+s/);
    let quiet = '';
    const silent = createProgress(false, { stream: new Writable({ write(c, _e, d) { quiet += String(c); d(); } }), force: true });
    silent.start('x', 10, 'items');
    silent.update(5);
    silent.stop();
    expect(quiet).toBe('');
  });
});
