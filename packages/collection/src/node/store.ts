// The thread that answers queries talks to the database through this: requests go to the
// database thread (store-worker.ts) and come back as promises, in order.
import type { Worker } from 'node:worker_threads';
import { AnnoyStateError, errorClassNamed, type MetricName } from 'annoy-ts';
import type { Settings, StoredRows, WriteOp } from './database.ts';
import { startWorker } from './worker.ts';

export interface StoreInit {
  path: string;
  dir: string;
}

export type StoreRequest = { id: number } & (
  | { kind: 'open'; requested: { f: number; metric: MetricName } | null; trees: number; seed: string; graph: string }
  | { kind: 'rows'; f: number; vectorsAbove: number }
  | { kind: 'write'; ops: WriteOp[] }
  | { kind: 'meta'; values: Record<string, string> }
  | { kind: 'close' }
);

export type StoreReply = { id: number } & ({ ok: true; value: unknown } | { ok: false; name: string; message: string });

type Request = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Body<K extends Request['kind']> = Omit<Extract<Request, { kind: K }>, 'kind'>;

export class Store {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  #broken: Error | null = null;

  constructor(init: StoreInit) {
    this.#worker = startWorker('store-worker', init);
    // The thread keeps the process alive only while a request is under way: an idle open
    // collection does not stop a program from ending (its writes are all durable by then).
    this.#worker.unref();
    this.#worker.on('message', (reply: StoreReply) => {
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(new (errorClassNamed(reply.name))(reply.message));
    });
    const stop = (error: Error) => {
      this.#broken ??= error;
      for (const waiting of this.#pending.values()) waiting.reject(this.#broken);
      this.#pending.clear();
    };
    this.#worker.on('error', (e: Error) => stop(new AnnoyStateError(`the collection's database thread failed: ${e.message}`, { cause: e })));
    this.#worker.on('exit', (code) => stop(new AnnoyStateError(`the collection's database thread stopped (exit code ${code})`)));
  }

  open(body: Body<'open'>): Promise<Settings & { driver: string }> {
    return this.#call({ ...body, kind: 'open' }) as Promise<Settings & { driver: string }>;
  }

  rows(f: number, vectorsAbove: number): Promise<StoredRows> {
    return this.#call({ kind: 'rows', f, vectorsAbove }) as Promise<StoredRows>;
  }

  /** Resolves once the writes are committed and on disk. */
  write(ops: WriteOp[]): Promise<void> {
    return this.#call({ kind: 'write', ops }) as Promise<void>;
  }

  setMeta(values: Record<string, string>): Promise<void> {
    return this.#call({ kind: 'meta', values }) as Promise<void>;
  }

  /** Closes the database (checkpointing its log) and ends the thread. */
  async close(): Promise<void> {
    if (this.#broken) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    await this.#call({ kind: 'close' }).catch(() => undefined);
    this.#worker.ref(); // until it has exited
    await exited;
  }

  #call(body: Request): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    const id = this.#next++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...body } as StoreRequest);
    });
  }
}
