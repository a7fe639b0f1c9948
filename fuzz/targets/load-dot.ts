// Jazzer.js target: arbitrary bytes opened as a dot index, then queries (see load.ts).
import { checkLoad } from './load.ts';

export function fuzz(data: Buffer): void {
  checkLoad('dot', data);
}
