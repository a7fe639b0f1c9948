// CSV and TSV: one vector per row, with an optional label column and an optional id column.
//
// The first row is a header when any field after the first is not a number (or --header says so).
// Label column: --label-column, else a header named label/word/key/name/token/text, else the first
// column when its first value is not a number. Id column: --id-column, else a header named "id".
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { parseNumber, parseValue } from '../args.ts';
import { CliError, UsageError } from '../errors.ts';
import { MatrixBuilder, parseId, type Dataset, type ReadOptions } from './dataset.ts';

const LABEL_NAMES = ['label', 'word', 'key', 'name', 'token', 'text'];

type Row = { record: string[]; info: { lines: number; bytes: number } };

export async function readCsv(path: string, file: string, delimiter: string, total: number, options: ReadOptions = {}): Promise<Dataset> {
  const source = createReadStream(path);
  const parser = parse({ delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true });
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);

  const out = new MatrixBuilder(file);
  let layout: Layout | null = null;
  let width = 0, widthLine = 0;
  let sinceReport = 0;
  try {
    for await (const row of parser as AsyncIterable<Row>) {
      const { record, info } = row;
      const where = `line ${info.lines}`;
      if (layout === null) {
        layout = decideLayout(record, options, file);
        width = record.length;
        widthLine = info.lines;
        if (layout.header) continue;
      }
      if (record.length !== width) {
        throw new CliError(`${file} ${where}: ${record.length} field${record.length === 1 ? '' : 's'}, but line ${widthLine} has ${width}: every row needs the same number of columns`);
      }
      const values = new Array<number>(layout.vector.length);
      for (let k = 0; k < layout.vector.length; k++) {
        const c = layout.vector[k];
        values[k] = parseValue(record[c], `${file} ${where}, column ${c + 1}${layout.names ? ` (${layout.names[c]})` : ''}`, CliError);
      }
      const label = layout.label === null ? null : record[layout.label];
      const id = layout.id === null ? null : parseId(record[layout.id], `${file} ${where}`);
      out.add(values, where, label, id);
      if (options.onProgress && ++sinceReport >= 1024) {
        sinceReport = 0;
        options.onProgress(info.bytes, total);
      }
    }
  } catch (cause) {
    if (cause instanceof CliError || cause instanceof UsageError) throw cause;
    const e = cause as Error & { code?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new CliError(`cannot read ${file}: ${e.message}`);
    throw new CliError(`${file}: ${e.message}`);
  } finally {
    source.destroy();
  }
  options.onProgress?.(total, total);
  return out.finish();
}

interface Layout {
  header: boolean;
  names: string[] | null;
  label: number | null;
  id: number | null;
  vector: number[];
}

const numeric = (s: string) => parseNumber(s) !== null;

function decideLayout(first: string[], options: ReadOptions, file: string): Layout {
  const named = (spec: string | undefined) => spec !== undefined && !/^\d+$/.test(spec.trim());
  let header = options.header;
  if (named(options.labelColumn) || named(options.idColumn)) {
    if (header === false) throw new UsageError('--label-column/--id-column name a header column, but --no-header says there is none (give a column number instead)');
    header = true;
  }
  header ??= first.slice(1).some((s) => !numeric(s)) || (first.length === 1 && !numeric(first[0]));
  const names = header ? first : null;

  const resolve = (spec: string | undefined, flag: string): number | null => {
    if (spec === undefined) return null;
    const t = spec.trim();
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n < 1 || n > first.length) throw new UsageError(`--${flag} ${t}: ${file} has columns 1 … ${first.length}`);
      return n - 1;
    }
    const at = names!.indexOf(t);
    if (at < 0) throw new UsageError(`--${flag} ${JSON.stringify(t)}: ${file} has no such column (its header: ${names!.join(', ')})`);
    return at;
  };
  let label = resolve(options.labelColumn, 'label-column');
  let id = resolve(options.idColumn, 'id-column');
  if (names) {
    const lower = names.map((n) => n.toLowerCase());
    if (id === null && lower.includes('id')) id = lower.indexOf('id');
    if (label === null) {
      const at = lower.findIndex((n, i) => LABEL_NAMES.includes(n) && i !== id);
      if (at >= 0) label = at;
    }
  } else if (label === null && id !== 0 && !numeric(first[0])) {
    label = 0;
  }
  if (label !== null && label === id) throw new UsageError('the label column and the id column must differ');
  const vector = first.map((_, i) => i).filter((i) => i !== label && i !== id);
  if (vector.length === 0) throw new CliError(`${file}: no vector columns (only ${names ? names.join(', ') : 'labels/ids'})`);
  return { header, names, label, id, vector };
}
