// Jazzer.js target: arbitrary bytes read as a .fbin file by the CLI's reader (see readers.ts).
import { checkBinary } from './readers.ts';

export function fuzz(data: Buffer): void {
  checkBinary('fbin', data);
}
