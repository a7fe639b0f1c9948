// NumPy .npy files (format versions 1, 2 and 3): 2-D float32 or float64 arrays in C order.
import { CliError } from '../errors.ts';
import { fromMatrix, type Dataset } from './dataset.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array, file: string): Dataset {
  const bad = (msg: string): never => {
    throw new CliError(`${file}: ${msg}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) bad('not a NumPy .npy file (no \\x93NUMPY signature)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number, start: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) bad('truncated .npy header');
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    return bad(`.npy format version ${major} is not supported (1, 2 and 3 are)`);
  }
  const dataStart = start + headerLength;
  if (dataStart > bytes.length) bad('truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataStart));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad(`cannot read the .npy header ${JSON.stringify(header.trim())}`);

  const type = /^([<>=|])?(f4|f8)$/.exec(descr!);
  if (!type) {
    bad(`dtype ${JSON.stringify(descr)} is not supported: annoy-ts reads float32 ('<f4') and float64 ('<f8') arrays ` +
      "(convert with arr.astype('float32'))");
  }
  if (fortran === 'True') bad('the array is stored in Fortran (column-major) order: save it with np.save(path, np.ascontiguousarray(arr))');
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) bad(`bad shape (${shapeText})`);
  if (shape.length !== 2) {
    bad(`shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''}) is ${shape.length}-D; annoy-ts needs a 2-D array of rows × dimensions` +
      (shape.length === 1 ? ' (for one vector: arr.reshape(1, -1))' : ''));
  }
  const [rows, dim] = shape;
  const size = type![2] === 'f4' ? 4 : 8;
  const little = type![1] !== '>';
  const need = rows * dim * size;
  const have = bytes.length - dataStart;
  if (have < need) bad(`truncated: shape (${rows}, ${dim}) needs ${need} bytes of data, the file has ${have}`);
  if (have > need) bad(`${have - need} bytes after the array's data: not a single .npy array`);

  const at = bytes.byteOffset + dataStart;
  let values: Float32Array | Float64Array;
  if (little && at % size === 0) {
    values = size === 4 ? new Float32Array(bytes.buffer, at, rows * dim) : new Float64Array(bytes.buffer, at, rows * dim);
  } else {
    values = size === 4 ? new Float32Array(rows * dim) : new Float64Array(rows * dim);
    for (let i = 0; i < values.length; i++) {
      values[i] = size === 4 ? view.getFloat32(dataStart + 4 * i, little) : view.getFloat64(dataStart + 8 * i, little);
    }
  }
  return fromMatrix(file, values, rows, dim);
}
