import type cliProgressTypes from 'cli-progress';
import { createRequire } from 'node:module';

type CliProgress = typeof cliProgressTypes;

/** A progress bar on stderr with rate and ETA; a no-op when disabled (--quiet, or stderr is not a terminal). */
export interface Progress {
  start(label: string, total: number, unit: Unit): void;
  update(value: number, total?: number): void;
  stop(): void;
}

export type Unit = 'bytes' | 'items';

export interface ProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WritableStream;
  /** Draw even when the stream is not a terminal (tests). */
  force?: boolean;
}

const NOOP: Progress = { start() {}, update() {}, stop() {} };

export function createProgress(enabled: boolean, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!enabled || (!options.force && !(stream as NodeJS.WriteStream).isTTY)) return NOOP;
  // Loaded only when a bar is drawn: most runs (pipes, CI, --quiet) never pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;
  let bar: InstanceType<CliProgress['SingleBar']> | null = null;
  let unit: Unit = 'items';
  let started = 0;
  const payload = (value: number, total: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
    return { done: amount(value, unit), all: amount(total, unit), speed: `${amount(value / seconds, unit)}/s` };
  };
  return {
    start(label, total, u) {
      this.stop();
      unit = u;
      started = Date.now();
      bar = new cliProgress.SingleBar({
        stream,
        noTTYOutput: options.force ?? false,
        format: `${label.padEnd(8)} [{bar}] {percentage}% | {done} / {all} | {speed} | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(total, 1), 0, payload(0, total));
    },
    update(value, total) {
      if (!bar) return;
      if (total !== undefined) bar.setTotal(Math.max(total, 1));
      bar.update(value, payload(value, total ?? bar.getTotal()));
    },
    stop() {
      if (!bar) return;
      bar.stop();
      bar = null;
    },
  };
}

function amount(n: number, unit: Unit): string {
  if (unit === 'bytes') {
    if (n < 1024) return `${Math.round(n)} B`;
    if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
    if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
    return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  }
  if (n < 1e4) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(2)}M`;
}
