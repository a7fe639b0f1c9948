import type { Worker } from 'node:worker_threads';
import { AnnoyError, AnnoyStateError, errorClassNamed } from '../errors.ts';
import type { SharedIndex } from '../threads/share.ts';
import type { QueryReply, QueryTask, WorkerQuery } from './query-worker.ts';
import { startWorker } from './workers.ts';

type Result = number[] | { ids: number[]; distances: number[] };

interface Call {
  chunks: { start: number; data: Float64Array }[];
  next: number;
  results: Result[];
  pending: number;
  done: boolean;
  kind: QueryTask['kind'];
  n: number;
  query: WorkerQuery;
  resolve: (results: Result[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  shared: SharedIndex;
  busy: { call: Call; start: number; id: number } | null;
}

/**
 * @internal Worker threads that search one index's shared memory in place. Calls are split into chunks that
 * idle workers take in turn; results come back in input order. Workers do not keep the process
 * alive while idle; a worker that dies fails the call it was serving and is replaced.
 */
export class QueryPool {
  private readonly slots: Slot[] = [];
  private readonly calls: Call[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly share: () => SharedIndex, private readonly size: number) {}

  run(kind: QueryTask['kind'], data: Float64Array, rows: number, width: number, n: number, query: WorkerQuery): Promise<Result[]> {
    if (this.closed) return Promise.reject(new AnnoyStateError('the query pool was closed'));
    if (this.slots.length === 0) for (let w = 0; w < this.size; w++) this.slots.push(this.spawn(this.share()));
    // A few chunks per worker keeps every worker busy until the end without much messaging.
    const per = Math.max(1, Math.ceil(rows / (this.size * 4)));
    const chunks: Call['chunks'] = [];
    for (let start = 0; start < rows; start += per) chunks.push({ start, data: data.slice(start * width, Math.min(rows, start + per) * width) });
    return new Promise<Result[]>((resolve, reject) => {
      const call: Call = { chunks, next: 0, results: new Array(rows), pending: chunks.length, done: false, kind, n, query, resolve, reject };
      if (chunks.length === 0) return resolve([]);
      this.calls.push(call);
      this.dispatch();
    });
  }

  /** Ends every worker; later calls start a new pool. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const call of this.calls.splice(0)) this.fail(call, new AnnoyStateError('the query pool was closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(shared: SharedIndex): Slot {
    const slot: Slot = { worker: startWorker('query-worker', shared), shared, busy: null };
    slot.worker.unref();
    slot.worker.on('message', (reply: QueryReply) => this.onReply(slot, reply));
    const died = (why: string) => {
      const busy = slot.busy;
      slot.busy = null;
      const at = this.slots.indexOf(slot);
      if (at < 0) return; // closed, or already replaced
      // Replace the worker on the same scratch space: nothing else uses it.
      this.slots[at] = this.spawn(slot.shared);
      if (busy) this.fail(busy.call, new AnnoyError(`a query worker stopped (${why}) while answering queries ${busy.start}…`));
      this.dispatch();
    };
    slot.worker.on('error', (e: Error) => died(e.message));
    slot.worker.on('exit', (code) => died(`exit code ${code}`));
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const call = this.calls.find((c) => !c.done && c.next < c.chunks.length);
      if (!call) break;
      const chunk = call.chunks[call.next++];
      const id = this.nextId++;
      slot.busy = { call, start: chunk.start, id };
      slot.worker.ref();
      const task: QueryTask = { id, kind: call.kind, data: chunk.data, n: call.n, query: call.query };
      slot.worker.postMessage(task);
    }
    for (const slot of this.slots) if (!slot.busy) slot.worker.unref();
  }

  private onReply(slot: Slot, reply: QueryReply): void {
    const busy = slot.busy;
    if (!busy || busy.id !== reply.id) return;
    slot.busy = null;
    const { call, start } = busy;
    if (!call.done) {
      if ('error' in reply) {
        const Class = errorClassNamed(reply.error.name);
        this.fail(call, new Class(`query ${start + reply.position}: ${reply.error.message}`));
      } else {
        reply.results.forEach((r, k) => (call.results[start + k] = r));
        if (--call.pending === 0) {
          call.done = true;
          this.calls.splice(this.calls.indexOf(call), 1);
          call.resolve(call.results);
        }
      }
    }
    this.dispatch();
  }

  private fail(call: Call, error: Error): void {
    if (call.done) return;
    call.done = true;
    const at = this.calls.indexOf(call);
    if (at >= 0) this.calls.splice(at, 1);
    call.reject(error);
  }
}
