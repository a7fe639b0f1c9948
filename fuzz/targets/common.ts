// Shared by the fuzz targets (run by Jazzer.js through fuzz/run.mjs) and by
// test/fuzz-regressions.test.ts, which replays the corpora and every regression input.

/** A broken promise of the library (as opposed to a clean, documented error). Jazzer reports it as a crash. */
export class Violation extends Error {
  override readonly name = 'Violation';
}

export function violation(message: string): never {
  throw new Violation(message);
}

/**
 * Runs `fn`; an error it throws must be an instance of one of `allowed` (the documented error
 * classes), anything else (TypeError, RangeError, a WebAssembly trap, …) becomes a Violation.
 */
export function only<T>(allowed: readonly (abstract new (...args: never[]) => Error)[], what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw new Violation(`${what} threw ${describeError(e)} (allowed: ${allowed.map((c) => c.name).join(', ')})`, { cause: e });
  }
}

export async function onlyAsync<T>(
  allowed: readonly (abstract new (...args: never[]) => Error)[], what: string, fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw new Violation(`${what} threw ${describeError(e)} (allowed: ${allowed.map((c) => c.name).join(', ')})`, { cause: e });
  }
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 300)}`;
  return `a non-Error value ${String(e).slice(0, 100)}`;
}

/** The fuzz input as a Uint8Array (Jazzer passes a Buffer; the regression test a Uint8Array). */
export function bytesOf(data: Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
