// The collection database (collection.db), as the database thread (store-worker.ts) uses it:
//   meta  (name, value)                        format, version, f, metric, trees, seed, graph, and which
//                                              index segments are current and the ids they cover
//   items (id, key, vector, attributes)        every live item: id = its place in the history of
//                                              writes (a replaced item gets a new one), the key
//                                              (TEXT or INTEGER, unique), float32 vector bytes, JSON
// WAL journal, synchronous = FULL (a commit is on disk when it returns), and an exclusive lock
// held for as long as the database is open (the OS drops it if the process dies).
// This module runs on the database thread, which imports nothing heavier than SQLite: errors are
// plain Errors carrying the name of the annoy-ts error class, which the other side re-creates.
import type { MetricName } from 'annoy-ts';
import { annoyError, type SqlDatabase, type SqlStatement, type SqlValue } from './sqlite.ts';

export const DATABASE_FILE = 'collection.db';
const FORMAT = 'annoy-ts-collection';
const VERSION = 1;

/** Which index segments are current: file stems ('' for none) and the largest id each covers. */
export interface Meta {
  base: string;
  baseUpTo: number;
  delta: string;
  deltaUpTo: number;
}

export interface Settings {
  f: number;
  metric: MetricName;
  trees: number;
  seed: string;
  /** The graph setting: "false" or the graph options as JSON (collections made before it existed have none: "false"). */
  graph: string;
  meta: Meta;
}

/** Every item, as loaded at open: columns, with vectors only for ids above `vectorsAbove`. */
export interface StoredRows {
  ids: Float64Array;
  /** JSON of the keys array (strings and numbers), in id order. */
  keys: string;
  /** JSON of the attributes texts (null when none), in id order. */
  attributes: string;
  /** Row numbers (into ids) that have a vector, and the vectors, f float32 values each. */
  vectorRows: Int32Array;
  vectors: Float32Array;
}

/** One durable write: upserted rows and deleted keys, in order, in one transaction. */
export type WriteOp =
  | { kind: 'upsert'; ids: number[]; keys: (string | number)[]; vectors: Float32Array; attributes: (string | null)[] }
  | { kind: 'delete'; keys: (string | number)[] };

const METRICS = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
}

export function databaseError(dir: string, cause: unknown): Error {
  if (cause instanceof Error && cause.name.startsWith('Annoy')) return cause;
  const message = (cause as Error).message;
  if (/not a database|malformed|corrupt/i.test(message)) {
    return annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE} is damaged or not a collection database: ${message}`, cause);
  }
  return annoyError('AnnoyIOError', `cannot use ${dir}/${DATABASE_FILE}: ${message}`, cause);
}

/** Takes SQLite's exclusive lock for as long as the database stays open. */
export function lock(db: SqlDatabase, dir: string): void {
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    // Batched upserts into a large table spend most of their time in checkpoints (copying the log
    // into the database, with fsync) and in key-index pages touched at random: checkpoints every
    // 16 MiB of log instead of 4 MiB and a 64 MiB page cache took 331k upserts in batches of 1,000
    // from 21k to 32k items/s here.
    db.exec('PRAGMA cache_size = -65536');
    db.exec('PRAGMA wal_autocheckpoint = 4096');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (cause) {
    const message = (cause as Error).message;
    if (/locked|busy/i.test(message)) {
      throw annoyError('AnnoyStateError', `the collection in ${dir} is open in another process (only one writer at a time): ${message}`, cause);
    }
    throw databaseError(dir, cause);
  }
}

/** Reads the settings, creating the schema first when the database is new (then f and metric are required). */
export function readOrCreate(db: SqlDatabase, dir: string, requested: { f: number; metric: MetricName } | null, trees: number, seed: string, graph: string): Settings {
  let rows: { name: string; value: string }[];
  try {
    const hasMeta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) {
      const hasAny = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").get();
      if (hasAny) throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE} is an SQLite database, but not a collection's (it has no meta table)`);
      if (!requested) throw annoyError('AnnoyArgumentError', `${dir} holds no collection yet; to create one, pass f and metric`);
      transaction(db, () => {
        db.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
        db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, key ANY NOT NULL UNIQUE, vector BLOB NOT NULL, attributes TEXT) STRICT');
        const set = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
        const initial: Record<string, string> = {
          format: FORMAT, version: String(VERSION), f: String(requested.f), metric: requested.metric,
          trees: String(trees), seed, graph,
          base: '', baseUpTo: '-1', delta: '', deltaUpTo: '-1',
        };
        for (const [name, value] of Object.entries(initial)) set.run(name, value);
      });
    }
    rows = db.prepare('SELECT name, value FROM meta').all() as { name: string; value: string }[];
  } catch (cause) {
    throw databaseError(dir, cause);
  }
  const m = new Map(rows.map((r) => [r.name, r.value]));
  if (m.get('format') !== FORMAT) throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE} is not a collection database (format ${describe(m.get('format'))})`);
  const version = Number(m.get('version'));
  if (version !== VERSION) throw annoyError('AnnoyFormatError', `${dir} is a version ${m.get('version')} collection; this annoy-ts reads version ${VERSION}`);
  const f = Number(m.get('f'));
  const metric = m.get('metric') as MetricName;
  if (!Number.isInteger(f) || f < 1 || !METRICS.includes(metric)) {
    throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE}: meta says f = ${describe(m.get('f'))}, metric ${describe(metric)}`);
  }
  if (requested && (requested.f !== f || requested.metric !== metric)) {
    throw annoyError('AnnoyArgumentError',
      `the collection in ${dir} holds ${f}-dimensional vectors with metric '${metric}', not f = ${requested.f} with '${requested.metric}' as requested`,
    );
  }
  const num = (name: string) => {
    const v = Number(m.get(name));
    if (!Number.isSafeInteger(v)) throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE}: meta ${name} is ${describe(m.get(name))}`);
    return v;
  };
  const seedText = m.get('seed') ?? '';
  if (!/^\d+$/.test(seedText)) throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE}: meta seed is ${describe(seedText)}`);
  return {
    f, metric, trees: num('trees'), seed: seedText, graph: m.get('graph') ?? 'false',
    meta: { base: m.get('base') ?? '', baseUpTo: num('baseUpTo'), delta: m.get('delta') ?? '', deltaUpTo: num('deltaUpTo') },
  };
}

/** Every item in id order; vectors only above `vectorsAbove` (the items no index segment holds). */
export function readRows(db: SqlDatabase, dir: string, f: number, vectorsAbove: number): StoredRows {
  let rows: { id: number | bigint; key: SqlValue; attributes: string | null; vector: Uint8Array | null }[];
  try {
    rows = db.prepare('SELECT id, key, attributes, CASE WHEN id > ? THEN vector END AS vector FROM items ORDER BY id').all(vectorsAbove) as typeof rows;
  } catch (cause) {
    throw databaseError(dir, cause);
  }
  const ids = new Float64Array(rows.length);
  const keys: (string | number)[] = new Array(rows.length);
  const attributes: (string | null)[] = new Array(rows.length);
  const withVector: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    ids[r] = Number(row.id);
    const key = typeof row.key === 'bigint' ? Number(row.key) : row.key;
    if (typeof key !== 'string' && typeof key !== 'number') throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE}: item ${ids[r]} has a key of type ${typeof key}`);
    keys[r] = key;
    attributes[r] = row.attributes;
    if (row.vector !== null) withVector.push(r);
  }
  const vectors = new Float32Array(withVector.length * f);
  const bytes = new Uint8Array(vectors.buffer);
  withVector.forEach((r, j) => {
    const blob = rows[r]!.vector!;
    if (!(blob instanceof Uint8Array) || blob.byteLength !== 4 * f) {
      throw annoyError('AnnoyFormatError', `${dir}/${DATABASE_FILE}: the vector of item ${describe(keys[r])} is not ${f} float32 values`);
    }
    bytes.set(blob, j * 4 * f);
  });
  return { ids, keys: JSON.stringify(keys), attributes: JSON.stringify(attributes), vectorRows: Int32Array.from(withVector), vectors };
}

/** Applies writes durably, all or nothing. */
export class Writer {
  readonly #db: SqlDatabase;
  readonly #upsert: SqlStatement;
  readonly #remove: SqlStatement;
  readonly #setMeta: SqlStatement;

  constructor(db: SqlDatabase) {
    this.#db = db;
    this.#upsert = db.prepare('INSERT OR REPLACE INTO items (id, key, vector, attributes) VALUES (?, ?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM items WHERE key = ?');
    this.#setMeta = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
  }

  write(ops: readonly WriteOp[]): void {
    transaction(this.#db, () => {
      for (const op of ops) {
        if (op.kind === 'upsert') {
          const bytes = new Uint8Array(op.vectors.buffer, op.vectors.byteOffset, op.vectors.byteLength);
          const rowBytes = op.vectors.byteLength / Math.max(1, op.ids.length);
          for (let j = 0; j < op.ids.length; j++) {
            this.#upsert.run(op.ids[j]!, op.keys[j]!, bytes.subarray(j * rowBytes, (j + 1) * rowBytes), op.attributes[j]!);
          }
        } else {
          for (const key of op.keys) this.#remove.run(key);
        }
      }
    });
  }

  setMeta(values: Record<string, string>): void {
    transaction(this.#db, () => {
      for (const [name, value] of Object.entries(values)) this.#setMeta.run(name, value);
    });
  }
}

function transaction(db: SqlDatabase, body: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    body();
    db.exec('COMMIT');
  } catch (e) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // the transaction may already be gone
    }
    throw e;
  }
}
