// The TEXMEX formats of the ANN benchmarks: .fvecs (float32) and .bvecs (uint8). Every row is an
// int32 dimension followed by that many values.
import { CliError } from '../errors.ts';
import { fromMatrix, type Dataset } from './dataset.ts';

export function parseVecs(bytes: Uint8Array, file: string, kind: 'fvecs' | 'bvecs'): Dataset {
  const size = kind === 'fvecs' ? 4 : 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new CliError(`${file}: too short for a .${kind} file (${bytes.length} bytes)`);
  const dim = view.getInt32(0, true);
  if (dim < 1 || dim > 1 << 24) throw new CliError(`${file}: row 1 declares ${dim} values: not a .${kind} file`);
  const rowBytes = 4 + dim * size;
  if (bytes.length % rowBytes !== 0) {
    throw new CliError(`${file}: ${bytes.length} bytes is not a whole number of ${rowBytes}-byte rows (${dim} values each): truncated, or the rows differ in dimension`);
  }
  const rows = bytes.length / rowBytes;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const at = r * rowBytes;
    const d = view.getInt32(at, true);
    if (d !== dim) throw new CliError(`${file}: row ${r + 1} has ${d} values, but row 1 has ${dim}: every vector needs the same dimension`);
    if (kind === 'bvecs') out.set(bytes.subarray(at + 4, at + rowBytes), r * dim);
    else for (let k = 0; k < dim; k++) out[r * dim + k] = view.getFloat32(at + 4 + 4 * k, true);
  }
  return fromMatrix(file, out, rows, dim);
}
