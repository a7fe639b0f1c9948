// Reading the SMS Spam Collection (Kaggle's spam.csv): latin-1 bytes → labelled messages.
//
// The file is latin-1 (not UTF-8), has a header row `v1,v2,,,` (v1 = label, v2 = text) and three
// trailing empty columns; texts with commas are quoted as in RFC 4180. In 50 rows the export went
// wrong: a text with both quotes and commas was written with backslash-escaped quotes, so a CSV
// parser (rightly) splits it into the trailing columns. We give those rows their text back by
// joining the non-empty cells after the label with the comma that separated them.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

export type Label = 'ham' | 'spam';

export interface Message {
  label: Label;
  /** The text exactly as in the file (latin-1 decoded), artefacts included; see cleanText() in embed.ts. */
  text: string;
}

/** Decode latin-1 bytes (every byte is one character, U+0000..U+00FF). */
export function decodeLatin1(bytes: Uint8Array): string {
  return new TextDecoder('latin1').decode(bytes);
}

/** Parse the CSV text (already decoded). Throws on a bad header or an unknown label. */
export function parseSpamCsv(text: string): Message[] {
  const rows = parse(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
  const [header, ...body] = rows;
  if (header === undefined || header[0] !== 'v1' || header[1] !== 'v2') {
    throw new Error(`expected a header row starting "v1,v2", got ${JSON.stringify(header?.slice(0, 2))}`);
  }
  return body.map((row, r) => {
    const label = row[0];
    if (label !== 'ham' && label !== 'spam') {
      throw new Error(`row ${r + 2}: label must be "ham" or "spam", got ${JSON.stringify(label)}`);
    }
    const cells = row.slice(1);
    while (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
    return { label, text: cells.join(',') };
  });
}

/** Read and parse the CSV file at `path`. */
export function readSpamCsv(path: string): Message[] {
  return parseSpamCsv(decodeLatin1(readFileSync(path)));
}
