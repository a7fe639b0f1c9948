import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AnnoyIndex as PortableAnnoyIndex } from '../annoy-index.ts';
import { AnnoyArgumentError, AnnoyIOError } from '../errors.ts';
import { describe } from '../metrics/index.ts';

/** AnnoyIndex with save() and load() on the file system (Node.js, Deno, Bun). */
export class AnnoyIndex extends PortableAnnoyIndex {
  /** Reads the file straight into one fresh ArrayBuffer (aligned, no second copy). */
  protected override readIndexFile(path: string): Uint8Array {
    checkPath(path);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw new AnnoyIOError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
    }
    try {
      const size = fstatSync(fd).size;
      const bytes = new Uint8Array(new ArrayBuffer(size));
      let done = 0;
      while (done < size) {
        const n = readSync(fd, bytes, done, Math.min(size - done, 1 << 30), done);
        if (n === 0) throw new Error(`the file shrank while it was read (${done} of ${size} bytes)`);
        done += n;
      }
      return bytes;
    } catch (cause) {
      if (cause instanceof AnnoyIOError) throw cause;
      throw new AnnoyIOError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
    } finally {
      closeSync(fd);
    }
  }

  /** Writes to a temporary file beside `path`, flushes it to disk, then renames it over `path`. */
  protected override writeIndexFile(path: string, bytes: Uint8Array): void {
    checkPath(path);
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let fd: number | undefined;
    try {
      fd = openSync(temp, 'wx');
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(temp, path);
    } catch (cause) {
      if (fd !== undefined) closeSync(fd);
      rmSync(temp, { force: true });
      throw new AnnoyIOError(`cannot save to ${path}: ${(cause as Error).message}`, { cause });
    }
  }
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AnnoyArgumentError(`path must be a non-empty string, got ${describe(path)}`);
  }
}
