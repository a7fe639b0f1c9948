// Record layout inference: guessing f and the metric of an Annoy file that came without a sidecar
// (Annoy stores neither). Pure functions over the bytes (no Node built-ins): every (metric, f)
// whose record size divides the file (from the metrics' record fields) is opened with the
// loader's own structural checks, and the survivors are ranked by what their item records hold
// where the record layouts differ.
import { AnnoyFormatError } from '../errors.ts';
import { openIndexBytes } from './open.ts';
import { createMetric, MAX_DIMENSION, METRIC_NAMES, RECORD_FIELDS } from '../metrics/index.ts';
import type { MetricName } from '../metrics/metric.ts';
import { dimensionOfRecord, fieldBytes, fixedFields, measureRecord, type RecordFields } from '../metrics/record-fields.ts';

export type Verdict = 'consistent' | 'possible' | 'unlikely';
export type Confidence = 'high' | 'medium' | 'low' | 'none';

/** One (metric, f) whose record layout fits the file. */
export interface RecordLayoutCandidate {
  metric: MetricName;
  /** The dimension (hamming: the largest number of bits that fits the record, see fMin). */
  f: number;
  /** Hamming only: the smallest f (bits) consistent with the file. */
  fMin?: number;
  recordBytes: number;
  nNodes: number;
  nItems: number;
  /** Roots found by Annoy's root scan (what getNTrees() reports after loading). */
  nTrees: number;
  verdict: Verdict;
  /** Share of the sampled item and hole records whose metric-specific fields check out (0 … 1). */
  score: number;
  /** One line: what the item records showed. */
  evidence: string;
}

export interface RecordLayoutInference {
  byteLength: number;
  /** Best first. Only record layouts that passed the structural checks are listed. */
  candidates: RecordLayoutCandidate[];
  /** (metric, f) pairs whose record size divides the file but whose structure is inconsistent. */
  rejected: number;
  confidence: Confidence;
  /** One sentence: the verdict and how sure it is. */
  summary: string;
}

/** Items looked at per candidate (evenly spaced ids). */
const SAMPLE = 2048;
const ORDER: MetricName[] = ['angular', 'dot', 'euclidean', 'manhattan', 'hamming'];
const VERDICT_RANK: Record<Verdict, number> = { consistent: 2, possible: 1, unlikely: 0 };

/** Every (metric, f) that could have written `bytes`, ranked, with a confidence. */
export function inferRecordLayout(bytes: Uint8Array): RecordLayoutInference {
  const n = bytes.byteLength;
  let buffer = bytes.buffer as ArrayBuffer, offset = bytes.byteOffset;
  if (offset % 4 !== 0) {
    buffer = bytes.slice().buffer;
    offset = 0;
  }
  const candidates: RecordLayoutCandidate[] = [];
  let rejected = 0;
  const words = new DataView(buffer, offset, n);
  for (const s of recordSizes(n)) {
    // Cheap first: the last record's n_descendants is n_items for every record layout of this size, and
    // must lie in 1 … records. Only then is the whole structure walked (which copies the bytes).
    const m = words.getInt32(n - s, true);
    if (m < 1 || m > n / s) {
      rejected += layoutsOfSize(s).length;
      continue;
    }
    for (const [metric, f] of layoutsOfSize(s)) {
      const policy = createMetric(f, metric);
      let opened;
      try {
        opened = openIndexBytes(policy, buffer, offset, n);
      } catch (cause) {
        if (!(cause instanceof AnnoyFormatError)) throw cause;
        rejected++;
        continue;
      }
      const view = viewOf(buffer, offset, n, s);
      if (!lastRecordIsRootCopy(view, opened.nItems)) {
        rejected++;
        continue;
      }
      const base = { metric, f, recordBytes: s, nNodes: n / s, nItems: opened.nItems, nTrees: opened.roots.length };
      candidates.push({ ...base, ...examine(metric, f, view, opened.nItems) });
    }
  }
  candidates.sort((a, b) =>
    VERDICT_RANK[b.verdict] - VERDICT_RANK[a.verdict] || b.score - a.score || ORDER.indexOf(a.metric) - ORDER.indexOf(b.metric) || a.f - b.f);
  const { confidence, summary } = judge(candidates, n);
  return { byteLength: n, candidates, rejected, confidence, summary };
}

/** The file's records as 32-bit views (record r starts at word r × recordWords). */
interface View {
  i32: Int32Array;
  f32: Float32Array;
  u32: Uint32Array;
  recordBytes: number;
  recordWords: number;
  count: number;
}

function viewOf(buffer: ArrayBuffer, offset: number, byteLength: number, recordBytes: number): View {
  const words = byteLength / 4;
  return {
    i32: new Int32Array(buffer, offset, words),
    f32: new Float32Array(buffer, offset, words),
    u32: new Uint32Array(buffer, offset, words),
    recordBytes,
    recordWords: recordBytes / 4,
    count: byteLength / recordBytes,
  };
}

/**
 * Annoy ends every file with byte-for-byte copies of the roots, so the last record equals an
 * earlier tree record (id ≥ n_items). Annoy's loader does not need this, but every file Annoy
 * writes has it, and it rules out reading a file as a handful of giant records.
 */
function lastRecordIsRootCopy(store: View, nItems: number): boolean {
  const i32 = store.i32, rw = store.recordWords, last = (store.count - 1) * rw;
  for (let id = store.count - 2; id >= nItems; id--) {
    const b = id * rw;
    if (i32[b] !== i32[last]) continue;
    let same = true;
    for (let w = 1; w < rw; w++) if (i32[b + w] !== i32[last + w]) { same = false; break; }
    if (same) return true;
  }
  return false;
}

/** The smallest record any metric writes (f = 1). */
const MIN_RECORD_BYTES = Math.min(...METRIC_NAMES.map((m) => measureRecord(RECORD_FIELDS[m], 1).recordBytes));

/** Record sizes that divide the file: multiples of 4, at least the smallest record. */
function recordSizes(n: number): number[] {
  const sizes = new Set<number>();
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    for (const s of [d, n / d]) if (s % 4 === 0 && s >= MIN_RECORD_BYTES) sizes.add(s);
  }
  return [...sizes].sort((a, b) => a - b);
}

/** Every (metric, f) whose records are `s` bytes long (hamming: the largest f). */
function layoutsOfSize(s: number): [MetricName, number][] {
  const out: [MetricName, number][] = [];
  for (const metric of METRIC_NAMES) {
    const f = dimensionOfRecord(RECORD_FIELDS[metric], s);
    if (f !== null && f <= MAX_DIMENSION) out.push([metric, f]);
  }
  return out;
}

/**
 * Bytes that every item record leaves zero: from the end of n_descendants to the vector, minus the
 * fields items use (angular's ‖v‖², dot's dot_factor). As word offsets, and as "bytes 4–11" with the
 * names of the fields (or padding) those bytes belong to, for the evidence.
 */
function itemZeroWords(fields: RecordFields): { words: number[]; what: string } {
  const own = fixedFields(fields);
  const words: number[] = [];
  const names: string[] = [];
  const at = (byte: number, usedByItems: boolean) =>
    own.filter((x) => x.usedBy.includes('item') === usedByItems && byte >= x.offset && byte < x.offset + fieldBytes(x));
  for (let byte = fields.nDescendants.offset + 4; byte < fields.vector.offset; byte += 4) {
    if (at(byte, true).length > 0) continue;
    words.push(byte >>> 2);
    const field = at(byte, false)[0];
    names.push(!field ? 'padding' : field.count === 1 ? field.name : `${field.name}[${(byte - field.offset) >>> 2}]`);
  }
  const ranges: string[] = [];
  for (let k = 0; k < words.length; k++) {
    let end = k;
    while (end + 1 < words.length && words[end + 1] === words[end] + 1) end++;
    ranges.push(`${4 * words[k]}–${4 * words[end] + 3}`);
    k = end;
  }
  return { words, what: `bytes ${ranges.join(', ')} of an item are not zero (${names.join(', ')})` };
}

interface Evidence {
  verdict: Verdict;
  score: number;
  evidence: string;
  fMin?: number;
}

function sampleIds(nItems: number): number[] {
  if (nItems <= SAMPLE) return Array.from({ length: nItems }, (_, i) => i);
  return Array.from({ length: SAMPLE }, (_, k) => Math.floor((k * (nItems - 1)) / (SAMPLE - 1)));
}

/**
 * What distinguishes record layouts that share a record size (Annoy spec 5.1), read from the
 * metrics' record fields: an item leaves zero every byte between n_descendants and its vector
 * except the fields items use (itemZeroWords); angular items keep ‖v‖² (in children[0]'s bytes);
 * dot items keep dot_factor, with dot_factor² + ‖v‖² the same (the largest squared norm) for every
 * item; hamming items set no bit beyond f.
 */
function examine(metric: MetricName, f: number, store: View, nItems: number): Evidence {
  const i32 = store.i32, f32 = store.f32, u32 = store.u32, rw = store.recordWords;
  const fields = RECORD_FIELDS[metric];
  const vw = fields.vector.offset >>> 2;
  const zero = itemZeroWords(fields);
  const normWord = fields.norm ? fields.norm.offset >>> 2 : -1;
  const dotFactorWord = fields.dotFactor ? fields.dotFactor.offset >>> 2 : -1;
  const gapsAreZero = (b: number) => zero.words.every((w) => i32[b + w] === 0);
  const ids = sampleIds(nItems);
  let items = 0, holes = 0, bad = 0, nonFinite = 0, zeroVectors = 0;
  // angular
  let normOk = 0, normZero = 0, firstZero = 0;
  // dot
  let dfPositive = 0;
  const dotTotals: number[] = [];
  const badReasons = new Set<string>();
  const fail = (why: string) => { bad++; badReasons.add(why); };

  for (const id of ids) {
    const b = id * rw;
    const nd = i32[b];
    if (nd === 0) {
      holes++;
      // A hole is all zeros, except dot's dot_factor (the build gives every id the largest item norm).
      let allZero = true;
      for (let w = 1; w < rw; w++) if (i32[b + w] !== 0 && w !== dotFactorWord) { allZero = false; break; }
      if (!allZero) fail('a hole (n_descendants = 0) that is not all zeros');
      else if (dotFactorWord >= 0) dotTotals.push(f32[b + dotFactorWord] * f32[b + dotFactorWord]);
      continue;
    }
    if (nd !== 1) continue; // the loader already rejected this; keep the evidence about items only
    items++;
    if (metric === 'hamming') {
      if (!gapsAreZero(b)) fail(zero.what);
      let noBits = true;
      for (let w = vw; w < rw; w++) if (u32[b + w] !== 0) { noBits = false; break; }
      if (noBits) zeroVectors++;
      continue;
    }
    let finite = true, sq32 = 0, sq64 = 0;
    for (let z = 0; z < f; z++) {
      const x = f32[b + vw + z];
      if (!Number.isFinite(x)) { finite = false; break; }
      sq32 = Math.fround(sq32 + Math.fround(x * x));
      sq64 += x * x;
    }
    if (!finite) { nonFinite++; fail('an item with a NaN or infinite component'); continue; }
    if (sq64 === 0) zeroVectors++;
    if (!gapsAreZero(b)) { fail(zero.what); continue; }
    if (metric === 'angular') {
      const norm = f32[b + normWord];
      if (f32[b + vw] === 0) firstZero++;
      if (norm === 0) { if (sq32 !== 0) normZero++; continue; }
      if (Math.abs(norm - sq32) <= 1e-4 * Math.max(sq32, 1e-30)) normOk++;
      else fail(`the squared norm in ${byteRange(normWord)} differs from the vector's`);
    } else if (metric === 'dot') {
      const df = f32[b + dotFactorWord];
      if (!(df >= 0) || !Number.isFinite(df)) { fail('a negative or non-finite dot_factor'); continue; }
      if (df > 0) dfPositive++;
      dotTotals.push(df * df + sq64);
    }
  }

  if (metric === 'dot' && dotTotals.length > 0) {
    const max = Math.max(...dotTotals);
    const off = dotTotals.filter((t) => Math.abs(t - max) > 1e-3 * max + 1e-30).length;
    if (off > 0) {
      bad += off;
      badReasons.add(`dot_factor² + ‖v‖² differs between records (${off} of ${dotTotals.length} off the maximum)`);
    }
  }

  const checked = items + holes;
  const score = checked === 0 ? 0 : Math.max(0, checked - bad) / checked;
  const sampled = `${checked} sampled record${checked === 1 ? '' : 's'}`;
  if (checked === 0) return { verdict: 'possible', score, evidence: 'no item records to check' };
  if (bad > 0) {
    return { verdict: 'unlikely', score, evidence: `${bad} of ${sampled} contradict this record layout: ${[...badReasons].join('; ')}` };
  }
  if (items > 0 && zeroVectors === items) {
    return { verdict: 'unlikely', score: score / 2, evidence: `every item read this way is the zero vector: fields of another record layout (${sampled})` };
  }
  switch (metric) {
    case 'angular':
      if (normZero === 0) return { verdict: 'consistent', score, evidence: `every item stores its squared norm in ${byteRange(normWord)} (${sampled})` };
      if (normOk > 0) return { verdict: 'possible', score, evidence: `${normZero} items have no stored norm, ${normOk} do (${sampled})` };
      if (firstZero === items) {
        return {
          verdict: 'unlikely', score: score / 2,
          evidence: `no item stores a norm and every item's first component is 0: zero fields of a record layout 4 bytes longer, not angular (${sampled})`,
        };
      }
      return { verdict: 'possible', score, evidence: `no item stores its norm: only a pre-2015 Annoy file looks like this (${sampled})` };
    case 'dot':
      if (dfPositive > 0) return { verdict: 'consistent', score, evidence: `dot_factor² + ‖v‖² is the same for every record (${sampled})` };
      return { verdict: 'possible', score, evidence: `every dot_factor is 0 and every item has the same norm: unit vectors, or another record layout (${sampled})` };
    case 'hamming': {
      const W = measureRecord(fields, f).vectorElements;
      const maxBit = highestBit(u32, rw, vw, nItems, W);
      const fMin = Math.max(64 * (W - 1) + 1, maxBit + 1);
      return {
        verdict: 'consistent', score, fMin,
        evidence: `items have zeros in ${byteRange(...zero.words)}; bits set up to bit ${maxBit}, so f is ${fMin === f ? f : `${fMin} … ${f}`} (${sampled})`,
      };
    }
    default:
      return { verdict: 'consistent', score, evidence: `every item has a = 0 and zero child slots in ${byteRange(...zero.words)} (${sampled})` };
  }
}

/** "bytes 4–15" for the words 1 … 3 of a record (contiguous words). */
function byteRange(...words: number[]): string {
  return `bytes ${4 * Math.min(...words)}–${4 * Math.max(...words) + 3}`;
}

/** The highest bit set in any hamming item (-1 when none): the file's f is above it. */
function highestBit(u32: Uint32Array, rw: number, vw: number, nItems: number, W: number): number {
  let best = -1;
  for (let id = 0; id < nItems; id++) {
    const b = id * rw + vw;
    for (let h = 2 * W - 1; h >= 0 && 32 * h + 31 > best; h--) {
      const word = u32[b + h];
      if (word !== 0) {
        best = Math.max(best, 32 * h + 31 - Math.clz32(word));
        break;
      }
    }
  }
  return best;
}

function name(c: RecordLayoutCandidate): string {
  return `${c.metric}, f = ${c.fMin !== undefined && c.fMin !== c.f ? `${c.fMin} … ${c.f}` : c.f}`;
}

function judge(candidates: RecordLayoutCandidate[], n: number): { confidence: Confidence; summary: string } {
  if (candidates.length === 0) {
    return { confidence: 'none', summary: `no (metric, f) fits these ${n} bytes: not an Annoy index, damaged, or built with 0 trees` };
  }
  const consistent = candidates.filter((c) => c.verdict === 'consistent');
  const pair = consistent.length === 2 && consistent[0].f === consistent[1].f &&
    new Set(consistent.map((c) => c.metric)).size === 2 && consistent.every((c) => c.metric === 'euclidean' || c.metric === 'manhattan');
  if (consistent.length === 1 || pair) {
    const others = candidates.length - consistent.length;
    const rest = others === 0 ? '' : `; ${others} other record layout${others === 1 ? ' fits' : 's fit'} the structure but not the item records`;
    if (pair) {
      return {
        confidence: 'high',
        summary: `euclidean or manhattan, f = ${consistent[0].f}: certain up to that choice — both metrics write the same records ` +
          `and split the same way, so the file cannot tell them apart${rest}`,
      };
    }
    return { confidence: 'high', summary: `${name(consistent[0])}: the only record layout whose structure and item records are all consistent${rest}` };
  }
  if (consistent.length > 1) {
    return { confidence: 'medium', summary: `ambiguous: ${consistent.map(name).join(' / ')} are all consistent; ${name(consistent[0])} ranks first` };
  }
  const best = candidates[0];
  const possible = candidates.filter((c) => c.verdict === 'possible');
  if (possible.length === 1) {
    return { confidence: 'medium', summary: `probably ${name(best)}: ${best.evidence}; every other record layout is contradicted by the item records` };
  }
  return {
    confidence: 'low',
    summary: `best guess ${name(best)} (${best.verdict}): its structure checks out, but the item records give ${best.verdict === 'possible' ? 'weak' : 'contrary'} evidence`,
  };
}
