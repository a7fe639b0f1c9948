// Fuzz target logic for the CLI's input readers (npy, fvecs, bvecs, fbin, CSV, TSV, JSON Lines,
// word-vector text). Promises: a reader returns a dataset or throws CliError / UsageError (the CLI
// turns those into one clear line and an exit code); never anything else. A dataset it returns is
// well-formed: count ≥ 1 rows of dim ≥ 1 values, data.length = count × dim, every value finite
// (they go straight into addItem), labels and ids (when present) one per row, ids distinct
// integers in Annoy's int32 range.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, UsageError } from '../../packages/cli/src/cli/errors.ts';
import type { Dataset } from '../../packages/cli/src/cli/readers/dataset.ts';
import { parseFbin } from '../../packages/cli/src/cli/readers/fbin.ts';
import { readVectors } from '../../packages/cli/src/cli/readers/index.ts';
import { parseNpy } from '../../packages/cli/src/cli/readers/npy.ts';
import { parseVecs } from '../../packages/cli/src/cli/readers/vecs.ts';
import { bytesOf, only, onlyAsync, violation } from './common.ts';

const ALLOWED = [CliError, UsageError];

export function checkDataset(what: string, d: Dataset): void {
  if (!Number.isSafeInteger(d.dim) || d.dim < 1) violation(`${what}: dim ${d.dim}`);
  if (!Number.isSafeInteger(d.count) || d.count < 1) violation(`${what}: count ${d.count}`);
  if (!(d.data instanceof Float32Array) || d.data.length !== d.count * d.dim) {
    violation(`${what}: ${d.data.length} values for ${d.count} rows × ${d.dim}`);
  }
  for (let i = 0; i < d.data.length; i++) if (!Number.isFinite(d.data[i])) violation(`${what}: value ${i} is ${d.data[i]}`);
  if (d.labels !== null && d.labels.length !== d.count) violation(`${what}: ${d.labels.length} labels for ${d.count} rows`);
  if (d.ids !== null) {
    if (d.ids.length !== d.count) violation(`${what}: ${d.ids.length} ids for ${d.count} rows`);
    if (new Set(d.ids).size !== d.ids.length) violation(`${what}: duplicate ids`);
    for (const id of d.ids) if (!Number.isSafeInteger(id) || id < 0 || id > 0x7fffffff - 1) violation(`${what}: id ${id}`);
  }
}

/** The binary parsers take the bytes directly; try them aligned (fresh buffer) and at an odd offset. */
export function checkBinary(format: 'npy' | 'fvecs' | 'bvecs' | 'fbin', data: Uint8Array): void {
  const input = bytesOf(data);
  const aligned = input.slice();
  const odd = new Uint8Array(input.length + 1).subarray(1);
  odd.set(input);
  for (const bytes of [aligned, odd]) {
    const d = only(ALLOWED, `${format} reader`, () => {
      switch (format) {
        case 'npy': return parseNpy(bytes, 'fuzz.npy');
        case 'fbin': return parseFbin(bytes, 'fuzz.fbin');
        default: return parseVecs(bytes, `fuzz.${format}`, format);
      }
    });
    if (d) checkDataset(format, d);
  }
}

let scratch: string | null = null;

/** The text readers stream from a file: the input goes to a scratch file first. */
export async function checkText(format: 'csv' | 'tsv' | 'jsonl' | 'text', data: Uint8Array): Promise<void> {
  if (scratch === null) {
    scratch = join(tmpdir(), `annoy-ts-fuzz-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    const dir = scratch;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const path = join(scratch, `input.${format === 'text' ? 'txt' : format}`);
  writeFileSync(path, bytesOf(data));
  const d = await onlyAsync(ALLOWED, `${format} reader`, () => readVectors(path));
  if (d) checkDataset(format, d);
}
