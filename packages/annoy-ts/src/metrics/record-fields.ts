// What a metric's records hold and where: the one table everything else derives from.
//
// Annoy (annoylib.h) declares one Node struct per metric and derives the rest from it: the record
// size is offsetof(Node, v) plus the vector, a leaf holds as many ids as fit from children[0] to
// the record's end (K), and every reader uses the struct's offsets. Here each struct is a table
// of fields (byte offset, type, which records use it); from it come the record size, children
// word, leaf capacity and vector words of every metric (measureRecord), the (metric, f)
// candidates of record layout inference (dimensionOfRecord), the offsets the metrics and the
// TypeScript kernels read, and the constants of the AssemblyScript kernels, which
// tools/build-wasm.mjs writes to kernels/assembly/record-fields.ts (a unit test fails when they
// disagree).
//
// This module imports nothing, so the kernels, the metrics and the build tool can all read it.

/** 32-bit integers, float32 components, or (hamming's vector) 64-bit words of bits. */
export type FieldType = 'i32' | 'f32' | 'u64';

/** Items (n_descendants = 1), splits (n_descendants > K: a plane and two children) and leaves (2 … K item ids). */
export type RecordKind = 'item' | 'split' | 'leaf';

export interface RecordField {
  /** The name Annoy's struct gives the field (or what it holds, where Annoy's union hides it). */
  readonly name: string;
  /** Bytes from the start of the record. */
  readonly offset: number;
  readonly type: FieldType;
  /** Elements in the field. A leaf's item ids start at children[0] and run on to the record's end. */
  readonly count: number;
  /** The records in which the field means something; elsewhere its bytes are zero or belong to another field. */
  readonly usedBy: readonly RecordKind[];
}

/** The vector, last in every record: one element per dimension, or (hamming) 64 bits to an element. */
export interface VectorField {
  readonly name: string;
  readonly offset: number;
  readonly type: 'f32' | 'u64';
  readonly dimensionsPerElement: 1 | 64;
  readonly usedBy: readonly RecordKind[];
}

export interface RecordFields {
  /** The struct in annoylib.h that these fields mirror. */
  readonly struct: string;
  readonly nDescendants: RecordField;
  readonly children: RecordField;
  /** Angular items: the squared norm ‖v‖², in the bytes of children[0] (0 = not stored, from old Annoy files). */
  readonly norm?: RecordField;
  /** Euclidean and manhattan splits: the plane's offset a (margin = a + n·x). */
  readonly a?: RecordField;
  /** Dot: the hidden extra component that gives every item the same length (Annoy 1.17.x). */
  readonly dotFactor?: RecordField;
  readonly vector: VectorField;
}

const nDescendants = { name: 'n_descendants', offset: 0, type: 'i32', count: 1, usedBy: ['item', 'split', 'leaf'] } as const;

/** Annoy's Angular::Node: n_descendants, union { children[2]; norm }, v[f]. */
export const ANGULAR_RECORD = {
  struct: 'Angular::Node',
  nDescendants,
  children: { name: 'children', offset: 4, type: 'i32', count: 2, usedBy: ['split', 'leaf'] },
  norm: { name: '‖v‖²', offset: 4, type: 'f32', count: 1, usedBy: ['item'] },
  vector: { name: 'v', offset: 12, type: 'f32', dimensionsPerElement: 1, usedBy: ['item', 'split'] },
} as const satisfies RecordFields;

/** Annoy's Minkowski::Node (euclidean and manhattan): n_descendants, a, children[2], v[f]. */
export const MINKOWSKI_RECORD = {
  struct: 'Minkowski::Node',
  nDescendants,
  a: { name: 'a', offset: 4, type: 'f32', count: 1, usedBy: ['split'] },
  children: { name: 'children', offset: 8, type: 'i32', count: 2, usedBy: ['split', 'leaf'] },
  vector: { name: 'v', offset: 16, type: 'f32', dimensionsPerElement: 1, usedBy: ['item', 'split'] },
} as const satisfies RecordFields;

/** Annoy 1.17.x's DotProduct::Node: n_descendants, children[2], dot_factor, v[f]. */
export const DOT_RECORD = {
  struct: 'DotProduct::Node',
  nDescendants,
  children: { name: 'children', offset: 4, type: 'i32', count: 2, usedBy: ['split', 'leaf'] },
  dotFactor: { name: 'dot_factor', offset: 12, type: 'f32', count: 1, usedBy: ['item', 'split'] },
  vector: { name: 'v', offset: 16, type: 'f32', dimensionsPerElement: 1, usedBy: ['item', 'split'] },
} as const satisfies RecordFields;

/**
 * Annoy's Hamming::Node: n_descendants, children[2], v[⌈f/64⌉] of uint64 (aligned to 8 bytes, so
 * 4 bytes of padding precede it). A split keeps the number of the bit it tests in v[0].
 */
export const HAMMING_RECORD = {
  struct: 'Hamming::Node',
  nDescendants,
  children: { name: 'children', offset: 4, type: 'i32', count: 2, usedBy: ['split', 'leaf'] },
  vector: { name: 'v', offset: 16, type: 'u64', dimensionsPerElement: 64, usedBy: ['item', 'split'] },
} as const satisfies RecordFields;

/** Every struct, by the prefix its constants carry in the AssemblyScript kernels (ANGULAR_VECTOR, …). */
export const RECORD_STRUCTS = {
  ANGULAR: ANGULAR_RECORD,
  MINKOWSKI: MINKOWSKI_RECORD,
  DOT: DOT_RECORD,
  HAMMING: HAMMING_RECORD,
} as const satisfies Record<string, RecordFields>;

const BYTES: Record<FieldType, number> = { i32: 4, f32: 4, u64: 8 };

/** Bytes a field takes (for the vector: one element). */
export function fieldBytes(field: RecordField): number {
  return field.count * BYTES[field.type];
}

/** Sizes and 32-bit word offsets of one metric's records for dimension f. */
export interface RecordMeasures {
  recordBytes: number;
  /** Word offset of children[0]; a leaf's item ids start here. */
  childrenWord: number;
  /** The most item ids a leaf holds (Annoy's K): as many as fit from children[0] to the record's end. */
  leafCapacity: number;
  /** Word offset and length in 32-bit words of the vector (hamming: its 64-bit words as 32-bit halves). */
  vectorWord: number;
  vectorWords: number;
  /** Elements of the vector: f, or (hamming) ⌈f/64⌉ 64-bit words. */
  vectorElements: number;
}

export function measureRecord(fields: RecordFields, f: number): RecordMeasures {
  const { vector, children } = fields;
  const vectorElements = Math.ceil(f / vector.dimensionsPerElement);
  const vectorBytes = vectorElements * BYTES[vector.type];
  const recordBytes = vector.offset + vectorBytes;
  return {
    recordBytes,
    childrenWord: children.offset >>> 2,
    leafCapacity: (recordBytes - children.offset) / BYTES[children.type],
    vectorWord: vector.offset >>> 2,
    vectorWords: vectorBytes >>> 2,
    vectorElements,
  };
}

/**
 * The largest f whose records are `recordBytes` long (for hamming, every f from 64 less up to it
 * gives the same size), or null when no f does.
 */
export function dimensionOfRecord(fields: RecordFields, recordBytes: number): number | null {
  const { vector } = fields;
  const elements = (recordBytes - vector.offset) / BYTES[vector.type];
  return Number.isInteger(elements) && elements >= 1 ? elements * vector.dimensionsPerElement : null;
}

/**
 * The fields other than the vector, element by element, in byte order: one line per 32-bit slot
 * (children[0], children[1]), with the field an item keeps in the same bytes beside it.
 */
export function describeRecord(fields: RecordFields, f: number): string {
  const slots: string[] = [];
  const { vector } = fields;
  const shared = new Map<number, RecordField>();
  const own: RecordField[] = [];
  for (const field of fixedFields(fields)) {
    // A field only items use, in bytes that splits and leaves use for another field (Annoy's union).
    const overlaps = fixedFields(fields).some((other) => other !== field && covers(other, field.offset));
    if (overlaps && field.usedBy.length === 1 && field.usedBy[0] === 'item') shared.set(field.offset, field);
    else own.push(field);
  }
  let next = 0;
  for (const field of own.sort((x, y) => x.offset - y.offset)) {
    if (field.offset > next) slots.push(`padding @${next}`);
    for (let e = 0; e < field.count; e++) {
      const at = field.offset + e * BYTES[field.type];
      const also = shared.get(at);
      const name = field.count === 1 ? field.name : `${field.name}[${e}]`;
      slots.push(`${name} ${field.type}${also ? ` (items: ${also.name} ${also.type})` : ''} @${at}`);
    }
    next = field.offset + fieldBytes(field);
  }
  if (vector.offset > next) slots.push(`padding @${next}`);
  slots.push(`${vector.name}[${Math.ceil(f / vector.dimensionsPerElement)}] ${vector.type} @${vector.offset}`);
  return slots.join(', ');
}

/** The fields before the vector, in the order the table lists them. */
export function fixedFields(fields: RecordFields): RecordField[] {
  return Object.values(fields).filter((x): x is RecordField => typeof x === 'object' && x !== fields.vector);
}

function covers(field: RecordField, offset: number): boolean {
  return offset >= field.offset && offset < field.offset + fieldBytes(field);
}
