// The big-ann-benchmarks .fbin format: uint32 rows, uint32 dimension, then rows × dimension float32.
import { CliError } from '../errors.ts';
import { fromMatrix, type Dataset } from './dataset.ts';

export function parseFbin(bytes: Uint8Array, file: string): Dataset {
  if (bytes.length < 8) throw new CliError(`${file}: too short for a .fbin file (${bytes.length} bytes; the header alone is 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = view.getUint32(0, true), dim = view.getUint32(4, true);
  const need = 8 + rows * dim * 4;
  if (bytes.length !== need) {
    throw new CliError(`${file}: the header says ${rows} rows × ${dim} values (${need} bytes), but the file has ${bytes.length} bytes`);
  }
  const at = bytes.byteOffset + 8;
  const values = at % 4 === 0 ? new Float32Array(bytes.buffer, at, rows * dim) : new Float32Array(bytes.slice(8).buffer);
  return fromMatrix(file, values, rows, dim);
}
