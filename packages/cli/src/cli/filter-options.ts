// --filter-ids and --max-distance, shared by `query` and `eval`: the allowed items read from a
// file of ids or labels, and the radius of a range search.
import { readFileSync } from 'node:fs';
import { AllowedIds } from 'annoy-ts';
import { parseNumber, str, type Parsed } from './args.ts';
import { CliError, UsageError } from './errors.ts';
import { systemMessage } from './readers/dataset.ts';
import type { Labels } from '../server/labels.ts';

export const FILTER_OPTIONS = {
  'filter-ids': { type: 'string' },
  'max-distance': { type: 'string' },
} as const;

export const FILTER_HELP = `  --filter-ids FILE   search only among these items: a file of item ids, one per line, or of
                      labels (when any line is not an integer; the index must have labels)
  --max-distance D    only items within distance D (dot: with an inner product of at least D);
                      with it, -k all returns every item in range the search reaches
                      (--search-k all: every item in range, exactly)`;

/** The filter and radius asked for on the command line (after the index is open: ids are checked against it). */
export interface Restrictions {
  options: { filter?: AllowedIds; maxDistance?: number };
  /** For titles and reports: "3 allowed items", "distance ≤ 0.5". */
  describe: string[];
}

/** The radius of --max-distance, checked before the index is opened (its sign is checked by the index, which knows the metric). */
export function maxDistanceOption(values: Parsed['values']): number | undefined {
  const text = str(values, 'max-distance');
  if (text === undefined) return undefined;
  const x = parseNumber(text);
  if (x === null || Number.isNaN(x)) throw new UsageError(`--max-distance must be a number, got ${JSON.stringify(text)}`);
  return x;
}

/** -k: a count, or "all" (every item in range) together with --max-distance. */
export function neighboursOption(values: Parsed['values'], parseCount: (text: string | undefined) => number): number {
  const text = str(values, 'k');
  if (text?.trim().toLowerCase() !== 'all') return parseCount(text);
  if (str(values, 'max-distance') === undefined) throw new UsageError('-k all needs --max-distance (every item within that distance)');
  return Infinity;
}

export function readRestrictions(values: Parsed['values'], nItems: number, labels: Labels | null): Restrictions {
  const options: Restrictions['options'] = {};
  const describe: string[] = [];
  const file = str(values, 'filter-ids');
  if (file !== undefined) {
    options.filter = readAllowedIds(file, nItems, labels);
    describe.push(`${options.filter.count.toLocaleString('en-US')} allowed item${options.filter.count === 1 ? '' : 's'} (${file})`);
  }
  const maxDistance = maxDistanceOption(values);
  if (maxDistance !== undefined) {
    options.maxDistance = maxDistance;
    describe.push(`within distance ${maxDistance}`);
  }
  return { options, describe };
}

const INTEGER = /^\d+$/;

/**
 * The items a --filter-ids file allows: one id or label per line (blank lines skipped). Every line
 * an integer: ids; otherwise every line is a label of the index. A bad line is named by number.
 */
export function readAllowedIds(file: string, nItems: number, labels: Labels | null): AllowedIds {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new CliError(`cannot read ${file} (--filter-ids): ${systemMessage(cause)}`);
  }
  const lines = text.split(/\r?\n/).map((line, i) => ({ value: line.trim(), line: i + 1 })).filter((l) => l.value !== '');
  const ids: number[] = [];
  if (lines.every((l) => INTEGER.test(l.value))) {
    for (const { value, line } of lines) {
      const id = Number(value);
      if (!(id < nItems)) throw new CliError(`${file} line ${line}: item ${value} does not exist (ids run from 0 to ${nItems - 1})`);
      ids.push(id);
    }
  } else {
    if (!labels) {
      const bad = lines.find((l) => !INTEGER.test(l.value))!;
      throw new CliError(`${file} line ${bad.line}: ${JSON.stringify(bad.value)} is not an item id, and the index has no labels`);
    }
    for (const { value, line } of lines) {
      const id = labels.find(value);
      if (id === undefined) throw new CliError(`${file} line ${line}: no item has the label ${JSON.stringify(value)}`);
      ids.push(id);
    }
  }
  return AllowedIds.from(ids, nItems);
}
