// The attribute filter language of Collection.query (documented in the README, "Collections"):
//
//   { genre: 'jazz', year: { $gte: 1950, $lt: 1970 }, tags: { $in: ['live', 'remastered'] } }
//
// Fields (dotted paths reach into nested objects) are ANDed. A field's condition is a literal
// (equality) or an object of operators: $eq $ne $gt $gte $lt $lte $in $nin $exists. $and / $or take
// arrays of filters, $not one filter. When the attribute is an array, a condition holds when it
// holds for one of its elements ($ne / $nin: for none of them). Ranges compare numbers with numbers
// and strings with strings; other pairs never match. A missing field matches only $ne, $nin and
// $exists: false. Anything else is an AnnoyArgumentError naming the place in the filter.
import { AnnoyArgumentError } from 'annoy-ts';
import { describe, type Attributes, type JsonValue } from './input.ts';

/** A literal a condition compares with. */
export type FilterLiteral = string | number | boolean | null;

/** Operators on one field. */
export interface FieldOperators {
  $eq?: FilterLiteral;
  $ne?: FilterLiteral;
  $gt?: number | string;
  $gte?: number | string;
  $lt?: number | string;
  $lte?: number | string;
  $in?: readonly FilterLiteral[];
  $nin?: readonly FilterLiteral[];
  $exists?: boolean;
}

/** An attribute filter (see the README's "Collections" section). */
export type AttributeFilter = {
  $and?: readonly AttributeFilter[];
  $or?: readonly AttributeFilter[];
  $not?: AttributeFilter;
} & { [field: string]: FilterLiteral | FieldOperators | readonly AttributeFilter[] | AttributeFilter | undefined };

export type AttributePredicate = (attributes: Attributes | null) => boolean;

/** Most operands of all $in / $nin lists in one filter together, and deepest nesting. */
const MAX_LIST = 100_000;
const MAX_DEPTH = 32;

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists']);

/** Compiles a filter once per query into a predicate over an item's attributes. */
export function compileFilter(filter: unknown): AttributePredicate {
  const budget = { list: MAX_LIST };
  return compileNode(filter, 'filter', 0, budget);
}

function compileNode(node: unknown, at: string, depth: number, budget: { list: number }): AttributePredicate {
  if (depth > MAX_DEPTH) throw new AnnoyArgumentError(`${at}: filters may nest at most ${MAX_DEPTH} levels deep`);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new AnnoyArgumentError(`${at} must be an object like { "genre": "jazz" }, got ${describe(node)}`);
  }
  const parts: AttributePredicate[] = [];
  for (const [name, value] of Object.entries(node as Record<string, unknown>)) {
    if (value === undefined) continue;
    const here = `${at}.${name}`;
    if (name === '$and' || name === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw new AnnoyArgumentError(`${here} must be a non-empty array of filters, got ${describe(value)}`);
      const subs = value.map((sub, k) => compileNode(sub, `${here}[${k}]`, depth + 1, budget));
      parts.push(name === '$and' ? (a) => subs.every((s) => s(a)) : (a) => subs.some((s) => s(a)));
    } else if (name === '$not') {
      const sub = compileNode(value, here, depth + 1, budget);
      parts.push((a) => !sub(a));
    } else if (name.startsWith('$')) {
      throw new AnnoyArgumentError(`${here}: unknown filter operator ${JSON.stringify(name)} (at this level: $and, $or, $not, or a field name)`);
    } else {
      if (name.length === 0 || name.split('.').some((p) => p.length === 0)) throw new AnnoyArgumentError(`${here}: a field path must not be empty or have empty parts`);
      parts.push(compileField(name.split('.'), value, here, budget));
    }
  }
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0]!;
  return (a) => {
    for (const p of parts) if (!p(a)) return false;
    return true;
  };
}

type Test = (value: JsonValue) => boolean;

function compileField(path: string[], condition: unknown, at: string, budget: { list: number }): AttributePredicate {
  const read = (a: Attributes | null): JsonValue | undefined => {
    let v: JsonValue | undefined = a ?? undefined;
    for (const p of path) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = Object.hasOwn(v, p) ? v[p] : undefined;
    }
    return v;
  };
  if (isLiteral(condition)) {
    const eq = equals(condition);
    return (a) => some(read(a), eq);
  }
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) {
    throw new AnnoyArgumentError(
      `${at}: a condition must be a string, number, boolean, null or an object of operators ($eq, $in, $gte, …), got ${describe(condition)}` +
        (Array.isArray(condition) ? ' (to match any of several values use { "$in": [...] })' : ''),
    );
  }
  const checks: ((v: JsonValue | undefined) => boolean)[] = [];
  const entries = Object.entries(condition as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) throw new AnnoyArgumentError(`${at}: an empty condition; give a value or operators like { "$gte": 1 }`);
  for (const [op, operand] of entries) {
    const here = `${at}.${op}`;
    if (!FIELD_OPERATORS.has(op)) {
      throw new AnnoyArgumentError(
        op.startsWith('$')
          ? `${here}: unknown filter operator ${JSON.stringify(op)}; known: ${[...FIELD_OPERATORS].join(', ')}`
          : `${at}: conditions on nested objects use dotted paths (${JSON.stringify(`${path.join('.')}.${op}`)}), not objects`,
      );
    }
    switch (op) {
      case '$eq':
      case '$ne': {
        if (!isLiteral(operand)) throw new AnnoyArgumentError(`${here} must be a string, number, boolean or null, got ${describe(operand)}`);
        const eq = equals(operand);
        checks.push(op === '$eq' ? (v) => some(v, eq) : (v) => !some(v, eq));
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        if (!(typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand)))) {
          throw new AnnoyArgumentError(`${here} must be a finite number or a string, got ${describe(operand)}`);
        }
        const cmp = range(op, operand);
        checks.push((v) => some(v, cmp));
        break;
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) throw new AnnoyArgumentError(`${here} must be an array of values, got ${describe(operand)}`);
        budget.list -= operand.length;
        if (budget.list < 0) throw new AnnoyArgumentError(`${here}: the $in/$nin lists of one filter may hold at most ${MAX_LIST} values in all`);
        operand.forEach((x, k) => {
          if (!isLiteral(x)) throw new AnnoyArgumentError(`${here}[${k}] must be a string, number, boolean or null, got ${describe(x)}`);
        });
        const set = new Set<FilterLiteral>(operand as FilterLiteral[]);
        const member: Test = (x) => (x === null || typeof x !== 'object') && set.has(x);
        checks.push(op === '$in' ? (v) => some(v, member) : (v) => !some(v, member));
        break;
      }
      case '$exists': {
        if (typeof operand !== 'boolean') throw new AnnoyArgumentError(`${here} must be true or false, got ${describe(operand)}`);
        checks.push(operand ? (v) => v !== undefined : (v) => v === undefined);
        break;
      }
    }
  }
  return (a) => {
    const v = read(a);
    for (const c of checks) if (!c(v)) return false;
    return true;
  };
}

function isLiteral(x: unknown): x is FilterLiteral {
  return x === null || typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
}

function equals(literal: FilterLiteral): Test {
  return (x) => x === literal;
}

function range(op: string, bound: number | string): Test {
  const kind = typeof bound;
  switch (op) {
    case '$gt':
      return (x) => typeof x === kind && (x as number | string) > bound;
    case '$gte':
      return (x) => typeof x === kind && (x as number | string) >= bound;
    case '$lt':
      return (x) => typeof x === kind && (x as number | string) < bound;
    default:
      return (x) => typeof x === kind && (x as number | string) <= bound;
  }
}

/** The test holds for the value, or (for an array) for one of its elements; never for a missing value. */
function some(value: JsonValue | undefined, test: Test): boolean {
  if (value === undefined) return false;
  if (Array.isArray(value)) {
    for (const x of value) if (test(x)) return true;
    return false;
  }
  return test(value);
}
