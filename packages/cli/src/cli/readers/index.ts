import { statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CliError, UsageError } from '../errors.ts';
import { readWholeFile, systemMessage, type Dataset, type ReadOptions } from './dataset.ts';
import { parseFbin } from './fbin.ts';
import { readJsonl } from './jsonl.ts';
import { parseNpy } from './npy.ts';
import { readWordVectors } from './text.ts';
import { parseVecs } from './vecs.ts';

export type { Dataset, ReadOptions } from './dataset.ts';

export const FORMATS = ['npy', 'fvecs', 'bvecs', 'fbin', 'csv', 'tsv', 'jsonl', 'text'] as const;
export type Format = (typeof FORMATS)[number];

const EXTENSIONS: Record<string, Format> = {
  '.npy': 'npy',
  '.fvecs': 'fvecs',
  '.bvecs': 'bvecs',
  '.fbin': 'fbin',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.txt': 'text',
  '.vec': 'text',
  '.glove': 'text',
};

/** The format named by --format, or the one the file's extension implies. */
export function formatOf(path: string, explicit?: string): Format {
  if (explicit !== undefined) {
    const f = explicit.toLowerCase().replace(/^\./, '');
    if ((FORMATS as readonly string[]).includes(f)) return f as Format;
    if (f === 'ndjson') return 'jsonl';
    if (f === 'txt' || f === 'glove' || f === 'word2vec' || f === 'vec') return 'text';
    throw new UsageError(`--format ${JSON.stringify(explicit)} is not one of ${FORMATS.join(', ')}`);
  }
  const ext = extname(path).toLowerCase();
  const found = EXTENSIONS[ext];
  if (found) return found;
  if (ext === '.json') throw new UsageError(`${basename(path)}: JSON is read as JSON Lines (one vector per line): rename it to .jsonl or pass --format jsonl`);
  throw new UsageError(`cannot tell the format of ${basename(path)} from its extension: pass --format (${FORMATS.join(', ')})`);
}

/** Reads every vector of `path` (any supported format), with labels and ids when the file has them. */
export async function readVectors(path: string, options: ReadOptions & { format?: string } = {}): Promise<Dataset & { format: Format }> {
  const format = formatOf(path, options.format);
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    size = st.size;
  } catch (cause) {
    throw new CliError(`cannot read ${path}: ${systemMessage(cause)}`);
  }
  if (size === 0) throw new CliError(`${path} is empty`);
  const file = path;
  let data: Dataset;
  switch (format) {
    case 'npy':
      data = parseNpy(readWholeFile(path, options.onProgress), file);
      break;
    case 'fvecs':
    case 'bvecs':
      data = parseVecs(readWholeFile(path, options.onProgress), file, format);
      break;
    case 'fbin':
      data = parseFbin(readWholeFile(path, options.onProgress), file);
      break;
    case 'csv':
    case 'tsv':
      data = await (await import('./csv.ts')).readCsv(path, file, options.delimiter ?? (format === 'tsv' ? '\t' : ','), size, options);
      break;
    case 'jsonl':
      data = await readJsonl(path, file, size, options);
      break;
    case 'text':
      data = await readWordVectors(path, file, size, options);
      break;
  }
  return { ...data, format };
}
