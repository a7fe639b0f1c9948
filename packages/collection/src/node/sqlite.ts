// The embedded database under a collection, behind the few calls the collection makes: SQLite from
// the better-sqlite3 package (prebuilt for Node 20+), or the runtime's own SQLite where that
// package cannot load (node:sqlite on Node ≥ 22.13 and Deno ≥ 2.2, bun:sqlite on Bun).
import { createRequire } from 'node:module';

/**
 * An Error named like an annoy-ts error class (this module and the database thread import no more
 * than SQLite; the collection re-creates the class from the name: errorClassNamed).
 */
export function annoyError(name: string, message: string, cause?: unknown): Error {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = name;
  return e;
}

export type SqlValue = number | bigint | string | Uint8Array | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  run(...params: SqlValue[]): void;
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqlDatabase {
  /** Which SQLite: 'better-sqlite3', 'node:sqlite' or 'bun:sqlite'. */
  readonly driver: string;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}

type Opener = (path: string) => SqlDatabase;

let opener: Promise<Opener> | null = null;

/** Opens (creating it if needed) the SQLite database at `path`, with no busy wait: a locked database fails at once. */
export async function openDatabase(path: string): Promise<SqlDatabase> {
  const open = await (opener ??= findDriver());
  return open(path);
}

async function findDriver(): Promise<Opener> {
  const reasons: string[] = [];
  try {
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    // Loading the package is not enough: the native part must load in this runtime.
    new Database(':memory:').close();
    return (path) => {
      const db = new Database(path, { timeout: 0 });
      return {
        driver: 'better-sqlite3',
        exec: (sql) => void db.exec(sql),
        prepare: (sql) => {
          const s = db.prepare(sql);
          const reader = s.reader;
          return {
            run: (...p) => void s.run(...p),
            get: (...p) => (reader ? (s.get(...p) as SqlRow | undefined) : undefined),
            all: (...p) => (reader ? (s.all(...p) as SqlRow[]) : []),
          };
        },
        close: () => void db.close(),
      };
    };
  } catch (e) {
    reasons.push(`better-sqlite3: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const name of ['bun:sqlite', 'node:sqlite']) {
    try {
      const mod = (await import(name)) as Record<string, unknown>;
      const Database = (mod.DatabaseSync ?? mod.Database ?? (mod.default as Record<string, unknown> | undefined)?.Database) as
        (new (path: string, options?: object) => NativeDatabase) | undefined;
      if (!Database) throw new Error('no Database class');
      return (path) => {
        const db = name === 'node:sqlite' ? new Database(path, { timeout: 0 }) : new Database(path, { create: true });
        // bun:sqlite keeps the file (and its lock) open while a prepared statement lives: finalize them on close.
        const statements: { finalize?: () => void }[] = [];
        return {
          driver: name,
          exec: (sql) => void db.exec(sql),
          prepare: (sql) => {
            const s = db.prepare(sql);
            statements.push(s as { finalize?: () => void });
            return {
              run: (...p) => void s.run(...p),
              get: (...p) => (s.get(...p) ?? undefined) as SqlRow | undefined,
              all: (...p) => s.all(...p) as SqlRow[],
            };
          },
          close: () => {
            for (const s of statements) s.finalize?.();
            db.close();
          },
        };
      };
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw annoyError(
    'AnnoyIOError',
    `collections need SQLite, and none could be loaded in this runtime (${reasons.join('; ')}); ` +
      'install better-sqlite3, or use Node ≥ 22.13, Deno ≥ 2.2 or Bun, or use MemoryCollection',
  );
}

interface NativeDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...p: SqlValue[]): unknown; get(...p: SqlValue[]): unknown; all(...p: SqlValue[]): unknown[] };
  close(): void;
}
