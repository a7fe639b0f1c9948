// --watch: reloads an index when its file, sidecar or labels change, or when the path is re-pointed
// (a symbolic link replaced). Folders are watched rather than files, because tools replace files
// by renaming a new one over them, which a watch on the old file would never see.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MANIFEST_FILE, ShardedIndex } from 'annoy-ts';
import type { Registry, Slot } from './registry.ts';

export class IndexWatcher {
  readonly #watchers = new Map<string, FSWatcher[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(private readonly registry: Registry, private readonly debounceMs: number, private readonly onError: (name: string, error: Error) => void) {}

  start(): void {
    for (const slot of this.registry.slots()) this.#watch(slot);
  }

  /** Watches (again) the folders of the slot's configured path and of the file it resolves to. */
  #watch(slot: Slot): void {
    for (const w of this.#watchers.get(slot.name) ?? []) w.close();
    const generation = slot.current.loaded;
    const names = new Set([basename(slot.path), `${basename(slot.path)}.json`, basename(generation.realPath), `${basename(generation.realPath)}.json`]);
    if (generation.labels) names.add(basename(generation.labels.file));
    const dirs = new Set([dirname(slot.path), dirname(generation.realPath)]);
    // A sharded index's folder: a rebuild commits by renaming a new manifest into it (shards first).
    if (generation.index instanceof ShardedIndex) {
      dirs.add(generation.realPath);
      names.add(MANIFEST_FILE);
    }
    const watchers: FSWatcher[] = [];
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          if (file === null || names.has(basename(file.toString()))) this.#changed(slot);
        });
        w.on('error', (e) => this.onError(slot.name, e));
        watchers.push(w);
      } catch (e) {
        this.onError(slot.name, e as Error);
      }
    }
    this.#watchers.set(slot.name, watchers);
  }

  #changed(slot: Slot): void {
    if (this.#closed) return;
    clearTimeout(this.#timers.get(slot.name));
    this.#timers.set(slot.name, setTimeout(() => {
      this.#timers.delete(slot.name);
      this.registry.reload(slot.name, { reason: 'file changed', skipUnchanged: true })
        .then((r) => {
          if (r.status === 'swapped' && !this.#closed) this.#watch(slot); // the path may resolve elsewhere now
        })
        .catch(() => undefined); // reported by the registry's onReloadFailed; the old generation serves on
    }, this.debounceMs));
  }

  /** After an admin reload re-pointed an index: watch its new folders. */
  refresh(name: string): void {
    if (this.#closed) return;
    const slot = this.registry.slots().find((s) => s.name === name);
    if (slot) this.#watch(slot);
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    for (const ws of this.#watchers.values()) for (const w of ws) w.close();
    this.#watchers.clear();
  }
}
