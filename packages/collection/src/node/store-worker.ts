// The database thread of a collection: it owns the SQLite connection, so commits (which wait for
// the disk) and checkpoints never block the thread that answers queries. Requests are handled one
// at a time, in the order they came.
import { parentPort, workerData } from 'node:worker_threads';
import { databaseError, lock, readOrCreate, readRows, Writer, type StoredRows, type WriteOp } from './database.ts';
import { openDatabase, type SqlDatabase } from './sqlite.ts';
import type { StoreInit, StoreReply, StoreRequest } from './store.ts';

const init = workerData as StoreInit;
let db: SqlDatabase | null = null;
let writer: Writer | null = null;
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (request: StoreRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: StoreRequest): Promise<void> {
  let reply: StoreReply;
  try {
    reply = { id: request.id, ok: true, value: await run(request) };
  } catch (e) {
    const error = databaseError(init.dir, e);
    reply = { id: request.id, ok: false, name: error.name, message: error.message };
  }
  const rows = request.kind === 'rows' && reply.ok ? (reply.value as StoredRows) : null;
  const transfer = rows ? [rows.ids.buffer as ArrayBuffer, rows.vectors.buffer as ArrayBuffer, rows.vectorRows.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(reply, transfer);
  if (request.kind === 'close') process.exit(0);
}

async function run(request: StoreRequest): Promise<unknown> {
  switch (request.kind) {
    case 'open': {
      db = await openDatabase(init.path);
      try {
        lock(db, init.dir);
        const settings = readOrCreate(db, init.dir, request.requested, request.trees, request.seed, request.graph);
        writer = new Writer(db);
        return { ...settings, driver: db.driver };
      } catch (e) {
        db.close();
        db = null;
        throw e;
      }
    }
    case 'rows':
      return readRows(need(), init.dir, request.f, request.vectorsAbove);
    case 'write':
      writer!.write(request.ops as WriteOp[]);
      return null;
    case 'meta':
      writer!.setMeta(request.values);
      return null;
    case 'close':
      db?.close();
      db = null;
      return null;
  }
}

function need(): SqlDatabase {
  if (!db) throw new Error('the database is not open');
  return db;
}
