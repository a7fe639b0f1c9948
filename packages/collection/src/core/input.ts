// Checks of everything a caller hands a collection: keys, vectors, attributes, options. Each check
// throws an AnnoyArgumentError naming the value and its position in the batch, before anything changes.
import { AnnoyArgumentError, type MetricName } from 'annoy-ts';

/** A collection key: a string, or a safe integer (1 and '1' are different keys). */
export type Key = string | number;

/** JSON values, as attributes hold them. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [field: string]: JsonValue };

/** An item's attributes: a JSON object. */
export type Attributes = { [field: string]: JsonValue };

/** One item to insert or replace. */
export interface UpsertItem {
  key: Key;
  vector: ArrayLike<number>;
  /** A JSON object (default: none, read back as `{}`). */
  attributes?: Attributes | null;
}

export const METRICS: readonly MetricName[] = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];
/** Longest string key, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024;
/** Default limit of one item's attributes, as JSON text (UTF-16 code units). */
export const DEFAULT_MAX_ATTRIBUTES_LENGTH = 65_536;
/** The largest dimension a collection accepts (a vector is one database row). */
export const MAX_COLLECTION_DIMENSION = 65_536;

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
}

export function checkKey(key: unknown, where: string): Key {
  if (typeof key === 'string') {
    if (key.length === 0) throw new AnnoyArgumentError(`${where}: a key must not be the empty string`);
    if (key.length > MAX_KEY_LENGTH) throw new AnnoyArgumentError(`${where}: key is ${key.length} characters long, more than the ${MAX_KEY_LENGTH} allowed`);
    return key;
  }
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) {
      throw new AnnoyArgumentError(`${where}: a numeric key must be a safe integer (|key| ≤ 2^53 − 1), got ${key}`);
    }
    return key === 0 ? 0 : key; // -0 and 0 are one key
  }
  throw new AnnoyArgumentError(`${where}: a key must be a string or a safe integer, got ${describe(key)}`);
}

export function checkDimension(f: unknown, metric: unknown): { f: number; metric: MetricName } {
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f > MAX_COLLECTION_DIMENSION) {
    throw new AnnoyArgumentError(`f (the vector dimension) must be an integer from 1 to ${MAX_COLLECTION_DIMENSION}, got ${describe(f)}`);
  }
  if (typeof metric !== 'string' || !(METRICS as readonly string[]).includes(metric)) {
    throw new AnnoyArgumentError(`unknown metric ${describe(metric)}; expected one of ${METRICS.map((m) => `'${m}'`).join(', ')}`);
  }
  return { f, metric: metric as MetricName };
}

/** The vector as float32 (what the index stores), after checking its length and values. */
export function checkVector(vector: unknown, f: number, where: string): Float32Array {
  if (vector === null || typeof vector !== 'object' || typeof (vector as { length?: unknown }).length !== 'number') {
    throw new AnnoyArgumentError(`${where}: vector must be an array or typed array of ${f} numbers, got ${describe(vector)}`);
  }
  const v = vector as ArrayLike<unknown>;
  if (v.length !== f) throw new AnnoyArgumentError(`${where}: vector has ${v.length} components, but the collection's dimension is ${f}`);
  const out = new Float32Array(f);
  for (let k = 0; k < f; k++) {
    const x = v[k];
    if (typeof x !== 'number') throw new AnnoyArgumentError(`${where}: vector[${k}] must be a number, got ${describe(x)}`);
    if (!Number.isFinite(x)) throw new AnnoyArgumentError(`${where}: vector[${k}] is ${x}; only finite numbers can be stored`);
    if (Math.abs(x) > 3.4028234663852886e38) throw new AnnoyArgumentError(`${where}: vector[${k}] = ${x} overflows float32 (largest finite value ≈ 3.4e38)`);
    out[k] = x;
  }
  return out;
}

/**
 * Attributes as stored: the JSON text (null when there are none) and a deep-frozen copy parsed
 * from it, so what queries return is exactly what a reopened collection will return.
 */
export function checkAttributes(attributes: unknown, maxLength: number, where: string): { text: string | null; value: Attributes | null } {
  if (attributes === undefined || attributes === null) return { text: null, value: null };
  if (typeof attributes !== 'object' || Array.isArray(attributes) || ArrayBuffer.isView(attributes)) {
    throw new AnnoyArgumentError(`${where}: attributes must be a JSON object (like { "genre": "jazz" }), got ${describe(attributes)}`);
  }
  const proto = Object.getPrototypeOf(attributes) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new AnnoyArgumentError(`${where}: attributes must be a plain JSON object, got ${describe(attributes)}`);
  }
  let text: string;
  try {
    text = JSON.stringify(attributes, jsonOnly);
  } catch (cause) {
    throw new AnnoyArgumentError(`${where}: attributes are not JSON: ${(cause as Error).message}`, { cause });
  }
  if (text.length > maxLength) {
    throw new AnnoyArgumentError(`${where}: attributes are ${text.length} characters of JSON, more than the limit of ${maxLength} (option maxAttributesLength)`);
  }
  if (text === '{}') return { text: null, value: null };
  return { text, value: parseAttributes(text) };
}

/** JSON.stringify replacer: refuses what JSON would silently drop or change. */
function jsonOnly(this: unknown, field: string, value: unknown): unknown {
  // `this[field]` is the value before its toJSON() ran: a Date would silently become a string.
  const original = (this as Record<string, unknown>)[field];
  if (original !== value && original !== null && typeof original === 'object') {
    throw new Error(`field ${JSON.stringify(field)} is ${describe(original)}, not a plain object (convert it to a string or number first)`);
  }
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`field ${JSON.stringify(field)} is ${value}, which JSON cannot hold`);
      return value;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new Error(`field ${JSON.stringify(field)} is a ${typeof value}, which JSON cannot hold`);
    case 'object':
      if (value !== null && !Array.isArray(value)) {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) throw new Error(`field ${JSON.stringify(field)} is ${describe(value)}, not a plain object`);
      }
      return value;
    default:
      return value;
  }
}

/** Parses stored attributes text into a deep-frozen object. */
export function parseAttributes(text: string): Attributes {
  return deepFreeze(JSON.parse(text) as Attributes);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;

export function checkPositiveInteger(value: unknown, what: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new AnnoyArgumentError(`${what} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

export function checkFraction(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new AnnoyArgumentError(`${what} must be a number > 0, got ${describe(value)}`);
  return value;
}

export function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AnnoyArgumentError(`${what} must be an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}
