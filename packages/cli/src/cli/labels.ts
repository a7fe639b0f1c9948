// Labels (words, string keys) of an index live in a JSON array beside it, `INDEX.labels.json`,
// named in the sidecar: element i is item i's label (null for ids without one).
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from 'annoy-ts';
import { CliError } from './errors.ts';
import { systemMessage } from './readers/dataset.ts';

export function labelsPathFor(indexPath: string): string {
  return `${indexPath}.labels.json`;
}

/** Writes the labels file atomically; returns its file name (what the sidecar records). */
export function writeLabels(indexPath: string, labels: (string | null)[]): string {
  const path = labelsPathFor(indexPath);
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(labels) + '\n'));
  return basename(path);
}

export class Labels {
  private byLabel: Map<string, number> | null = null;

  constructor(readonly file: string, readonly list: (string | null)[]) {}

  get(id: number): string | null {
    return this.list[id] ?? null;
  }

  /** The smallest item id with this label, or undefined. */
  find(label: string): number | undefined {
    if (!this.byLabel) {
      this.byLabel = new Map();
      this.list.forEach((l, i) => {
        if (l !== null && !this.byLabel!.has(l)) this.byLabel!.set(l, i);
      });
    }
    return this.byLabel.get(label);
  }
}

/** Reads the labels file a sidecar names (relative to the index's folder). */
export function readLabels(indexPath: string, name: string, nItems: number): Labels {
  const path = join(dirname(indexPath), name);
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    if (cause instanceof SyntaxError) throw new CliError(`${path} (the index's labels) is not valid JSON: ${cause.message}`);
    throw new CliError(`cannot read ${path}, the labels file named in ${indexPath}.json: ${systemMessage(cause)}`);
  }
  if (!Array.isArray(list) || list.some((l) => l !== null && typeof l !== 'string')) {
    throw new CliError(`${path} (the index's labels) must be a JSON array of strings and nulls`);
  }
  if (list.length > nItems) throw new CliError(`${path} has ${list.length} labels, but the index has only ${nItems} items: it belongs to another index`);
  return new Labels(path, list as (string | null)[]);
}
