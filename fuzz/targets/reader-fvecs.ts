// Jazzer.js target: arbitrary bytes read as a .fvecs file by the CLI's reader (see readers.ts).
import { checkBinary } from './readers.ts';

export function fuzz(data: Buffer): void {
  checkBinary('fvecs', data);
}
