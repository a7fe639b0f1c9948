// Jazzer.js target: arbitrary bytes read as a jsonl file by the CLI's reader (see readers.ts).
import { checkText } from './readers.ts';

export async function fuzz(data: Buffer): Promise<void> {
  await checkText('jsonl', data);
}
