// JSON Lines: one vector per line, either a bare array `[0.1, 0.2]` or an object
// `{"vector": [...], "id": 7, "label": "seven"}` ("embedding", "values" or "v" for the vector;
// "label", "word", "key" or "name" for the label). Blank lines are skipped.
import { checkValue } from '../args.ts';
import { CliError } from '../errors.ts';
import { MatrixBuilder, parseId, type Dataset, type ReadOptions } from './dataset.ts';
import { readLines } from './lines.ts';

const VECTOR_KEYS = ['vector', 'embedding', 'values', 'v'];
const LABEL_KEYS = ['label', 'word', 'key', 'name'];

export async function readJsonl(path: string, file: string, total: number, options: ReadOptions = {}): Promise<Dataset> {
  const out = new MatrixBuilder(file);
  for await (const [line, n] of readLines(path, file, total, options.onProgress)) {
    if (line.trim() === '') continue;
    const where = `line ${n}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new CliError(`${file} ${where}: not valid JSON (${(cause as Error).message})`);
    }
    let vector: unknown = value, label: string | null = null, id: number | null = null;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const o = value as Record<string, unknown>;
      const key = VECTOR_KEYS.find((k) => Object.hasOwn(o, k));
      if (key === undefined) throw new CliError(`${file} ${where}: an object needs the vector under one of ${VECTOR_KEYS.map((k) => `"${k}"`).join(', ')}`);
      vector = o[key];
      const labelKey = LABEL_KEYS.find((k) => Object.hasOwn(o, k));
      if (labelKey !== undefined) {
        const l = o[labelKey];
        if (typeof l !== 'string' && typeof l !== 'number') throw new CliError(`${file} ${where}: "${labelKey}" must be a string`);
        label = String(l);
      }
      if (Object.hasOwn(o, 'id')) {
        if (typeof o['id'] !== 'number') throw new CliError(`${file} ${where}: id ${preview(o['id'])} is not a non-negative integer`);
        id = parseId(String(o['id']), `${file} ${where}`);
      }
    }
    if (!Array.isArray(vector)) throw new CliError(`${file} ${where}: expected an array of numbers or an object with a "vector" array`);
    for (let k = 0; k < vector.length; k++) {
      const x: unknown = vector[k];
      if (typeof x !== 'number') throw new CliError(`${file} ${where}, value ${k + 1}: ${preview(x)} is not a number`);
      checkValue(x, `${file} ${where}, value ${k + 1}`, CliError);
    }
    out.add(vector as number[], where, label, id);
  }
  return out.finish();
}

/**
 * A JSON value for an error message. Arrays and objects are only named: JSON.stringify recurses,
 * and a line nested a few thousand levels deep would overflow the stack (RangeError) while the
 * message for the bad value was being built.
 */
function preview(x: unknown): string {
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x !== null && typeof x === 'object') return 'an object';
  const text = JSON.stringify(x);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
