// The served indexes and their generations. Each request leases the generation that is current
// when it starts and answers from it alone; a swap loads the new file beside the old one, makes it
// current in one assignment, and frees the old generation once its last lease is returned.
import type { MetricName } from 'annoy-ts';
import type { Labels } from './labels.ts';
import { currentFingerprint, loadIndex, type LoadedIndex, type LoadOptions, type ServedIndex } from './loader.ts';
import { ApiError } from './errors.ts';

export class Generation {
  /** Requests answering from this generation right now. */
  leases = 0;
  /** Replaced by a newer generation: freed when `leases` reaches 0. */
  retired = false;
  freed = false;

  constructor(readonly name: string, readonly number: number, readonly loaded: LoadedIndex, readonly loadedAt: Date) {}

  get index(): ServedIndex {
    return this.loaded.index;
  }
  get labels(): Labels | null {
    return this.loaded.labels;
  }
  get f(): number {
    return this.loaded.index.f;
  }
  get metric(): MetricName {
    return this.loaded.index.metric;
  }
}

export interface ReloadResult {
  name: string;
  /** 'swapped': a new generation serves; 'unchanged': the file had not changed (only when allowed to skip). */
  status: 'swapped' | 'unchanged';
  generation: number;
  previous: number;
  path: string;
  millis: number;
}

export interface ReloadAttempt {
  at: Date;
  ok: boolean;
  reason: string;
  error?: string;
}

export interface RegistryEvents {
  onSwap?(result: ReloadResult, reason: string, loaded: LoadedIndex): void;
  onReloadFailed?(name: string, path: string, error: Error, reason: string): void;
  onFreed?(generation: Generation): void;
}

export class Slot {
  current: Generation;
  /** The path new generations are loaded from (re-pointed by a reload with a path). */
  path: string;
  /** Older generations still answering requests. */
  readonly draining = new Set<Generation>();
  lastReload: ReloadAttempt | null = null;
  reloads = { ok: 0, failed: 0 };
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly name: string, first: Generation) {
    this.current = first;
    this.path = first.loaded.path;
  }

  /** Runs reloads of this index one after another. */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const NAME = new RegExp(NAME_PATTERN);

export function checkIndexName(name: string): string | null {
  return NAME.test(name) ? null : `index name ${JSON.stringify(name)} must be 1–64 letters, digits, '.', '_' or '-' (starting with a letter or digit)`;
}

export class Registry {
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  /**
   * `warmUp`: start each new generation's query threads before it serves (when searches run on
   * the worker pool), so the first requests after a swap do not wait for threads to start.
   */
  constructor(private readonly loadOptions: LoadOptions, private readonly warmUp: boolean, private readonly events: RegistryEvents = {}) {}

  /** Loads the first generation of an index (at startup). */
  async add(name: string, path: string): Promise<Slot> {
    const problem = checkIndexName(name);
    if (problem) throw new ApiError(400, 'invalid_name', problem);
    if (this.#slots.has(name)) throw new ApiError(409, 'duplicate_name', `there is already an index named ${JSON.stringify(name)}`);
    const loaded = await loadIndex(path, this.loadOptions);
    if (this.warmUp) await warmUp(loaded.index);
    const slot = new Slot(name, new Generation(name, 1, loaded, new Date()));
    this.#slots.set(name, slot);
    return slot;
  }

  names(): string[] {
    return [...this.#slots.keys()];
  }

  slots(): Slot[] {
    return [...this.#slots.values()];
  }

  slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (!slot) {
      const names = this.names();
      throw new ApiError(404, 'unknown_index', `no index named ${JSON.stringify(name)}${names.length ? `: this server has ${names.map((n) => JSON.stringify(n)).join(', ')}` : ''}`);
    }
    return slot;
  }

  /** Runs `work` on the current generation of `name`, which stays alive until `work` settles. */
  async with<T>(name: string, work: (generation: Generation) => T | Promise<T>): Promise<T> {
    const generation = this.slot(name).current;
    generation.leases++;
    try {
      return await work(generation);
    } finally {
      if (--generation.leases === 0 && generation.retired) this.#free(generation);
    }
  }

  /**
   * Loads `path` (default: the index's current path) beside the serving generation and switches to
   * it. A file that fails to load (missing, truncated, wrong checksum…) throws; the old generation
   * keeps serving. With `skipUnchanged`, a file whose size, time and inode have not changed is not
   * reloaded.
   */
  reload(name: string, options: { path?: string; reason: string; skipUnchanged?: boolean }): Promise<ReloadResult> {
    const slot = this.slot(name);
    return slot.serialize(async () => {
      const started = performance.now();
      const path = options.path ?? slot.path;
      const previous = slot.current;
      if (this.#closed) throw new ApiError(503, 'unavailable', 'the server is shutting down');
      if (options.skipUnchanged && path === previous.loaded.path && (await currentFingerprint(path)) === previous.loaded.fingerprint) {
        return { name, status: 'unchanged', generation: previous.number, previous: previous.number, path, millis: Math.round(performance.now() - started) };
      }
      let loaded: LoadedIndex;
      try {
        loaded = await loadIndex(path, this.loadOptions);
        if (this.#closed) {
          await freeLoaded(loaded);
          throw new ApiError(503, 'unavailable', 'the server is shutting down');
        }
        if (this.warmUp) await warmUp(loaded.index);
      } catch (error) {
        slot.reloads.failed++;
        slot.lastReload = { at: new Date(), ok: false, reason: options.reason, error: (error as Error).message };
        this.events.onReloadFailed?.(name, path, error as Error, options.reason);
        throw error;
      }
      const next = new Generation(name, previous.number + 1, loaded, new Date());
      // The swap: requests that start from now on lease `next`; those already running finish on
      // `previous`, which is freed when the last of them returns its lease.
      slot.current = next;
      slot.path = path;
      slot.reloads.ok++;
      slot.lastReload = { at: next.loadedAt, ok: true, reason: options.reason };
      previous.retired = true;
      if (previous.leases === 0) this.#free(previous);
      else slot.draining.add(previous);
      const result: ReloadResult = { name, status: 'swapped', generation: next.number, previous: previous.number, path, millis: Math.round(performance.now() - started) };
      this.events.onSwap?.(result, options.reason, loaded);
      return result;
    });
  }

  #free(generation: Generation): void {
    if (generation.freed) return;
    generation.freed = true;
    this.#slots.get(generation.name)?.draining.delete(generation);
    freeLoaded(generation.loaded).then(() => this.events.onFreed?.(generation), () => this.events.onFreed?.(generation));
  }

  /** Frees every generation (after the HTTP server has drained). */
  async close(): Promise<void> {
    this.#closed = true;
    const all: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      await slot.serialize(async () => undefined); // let a running reload finish first
      for (const g of [slot.current, ...slot.draining]) {
        g.freed = true;
        all.push(freeLoaded(g.loaded));
      }
      slot.draining.clear();
    }
    await Promise.all(all);
  }
}

/** Ends the index's query threads and drops its memory. */
async function freeLoaded(loaded: LoadedIndex): Promise<void> {
  try {
    await loaded.index.close();
  } finally {
    loaded.index.unload();
  }
}

/** Starts the new index's query threads before it serves, so the first requests do not wait for them. */
async function warmUp(index: ServedIndex): Promise<void> {
  if (index.getNItems() === 0) return;
  const zeros = new Array<number>(index.f).fill(0);
  await index.getNnsByVectorsAsync(Array.from({ length: 16 }, () => zeros), 1);
}
