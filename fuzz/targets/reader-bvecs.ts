// Jazzer.js target: arbitrary bytes read as a .bvecs file by the CLI's reader (see readers.ts).
import { checkBinary } from './readers.ts';

export function fuzz(data: Buffer): void {
  checkBinary('bvecs', data);
}
