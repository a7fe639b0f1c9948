// Word-vector text files: `word v1 v2 … vd` per line, as GloVe and fastText/word2vec (text mode)
// write them. A word2vec/fastText header line "COUNT DIM" is recognised and skipped (and DIM is
// then checked). Fields are separated by spaces or tabs; a word may itself contain spaces (the
// last d fields are the vector), but not a tab. The header's COUNT is not enforced.
import { parseValue } from '../args.ts';
import { CliError } from '../errors.ts';
import { MatrixBuilder, type Dataset, type ReadOptions } from './dataset.ts';
import { readLines } from './lines.ts';

const SPLIT = /[ \t]+/;

export async function readWordVectors(path: string, file: string, total: number, options: ReadOptions = {}): Promise<Dataset> {
  const out = new MatrixBuilder(file);
  let dim = -1;
  let first = true;
  for await (const [raw, n] of readLines(path, file, total, options.onProgress)) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split(SPLIT);
    const where = `line ${n}`;
    if (first) {
      first = false;
      if (fields.length === 2 && /^\d+$/.test(fields[0]) && /^\d+$/.test(fields[1]) && Number(fields[1]) >= 2) {
        dim = Number(fields[1]);
        continue;
      }
    }
    if (dim === -1) {
      dim = fields.length - 1;
      if (dim < 1) throw new CliError(`${file} ${where}: a word and no values (expected "word v1 v2 …")`);
    }
    if (fields.length < dim + 1) {
      throw new CliError(`${file} ${where}: ${fields.length - 1} values, expected ${dim}: every vector needs the same dimension`);
    }
    if (fields.length > dim + 1 && /^[+-]?(\d|\.\d)/.test(fields[fields.length - dim - 1])) {
      throw new CliError(`${file} ${where}: ${fields.length - 1} values, expected ${dim}: every vector needs the same dimension`);
    }
    const word = fields.slice(0, fields.length - dim).join(' ');
    const values = new Array<number>(dim);
    for (let k = 0; k < dim; k++) values[k] = parseValue(fields[fields.length - dim + k], `${file} ${where}, value ${k + 1} of ${JSON.stringify(word)}`, CliError);
    out.add(values, where, word);
  }
  return out.finish();
}
