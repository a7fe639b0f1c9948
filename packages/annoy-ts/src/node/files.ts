import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AnnoyError, AnnoyIOError } from '../errors.ts';

/** Reads the whole file straight into one fresh ArrayBuffer (4-byte aligned, no second copy). */
export function readFileBytes(path: string): Uint8Array {
  return readFileInto(path, (size) => new Uint8Array(new ArrayBuffer(size)));
}

/**
 * @internal
 * Reads the whole file into memory the caller provides once it knows the size (an index reads
 * straight into its WebAssembly memory this way: no second copy). Errors of `allocate` pass through.
 */
export function readFileInto(path: string, allocate: (byteLength: number) => Uint8Array): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new AnnoyIOError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new AnnoyIOError(`cannot read ${path}: not a regular file`);
    const size = stat.size;
    const bytes = allocate(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, Math.min(size - done, 1 << 30), done);
      if (n === 0) throw new AnnoyIOError(`cannot read ${path}: the file shrank while it was read (${done} of ${size} bytes)`);
      done += n;
    }
    return bytes;
  } catch (cause) {
    if (cause instanceof AnnoyError) throw cause;
    throw new AnnoyIOError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    closeSync(fd);
  }
}

/** @internal The file's text, or null when it does not exist. */
export function readTextIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AnnoyIOError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Writes `bytes` to a new file and flushes it to disk. */
function writeNewFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or unlink in `dir` durable before the next step (best effort: not every platform can fsync a folder). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open or fsync a folder; the order then rests on the OS.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes a file atomically and durably: a temporary file beside `path`, flushed, renamed over
 * `path`, then the folder flushed, so that once this returns the new file survives a crash (a
 * manifest that commits a build, for one, must not come back as its predecessor after the old
 * build's files were deleted). A failure leaves any existing file untouched.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const temp = tempBeside(path);
  try {
    writeNewFile(temp, bytes);
    renameSync(temp, path);
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new AnnoyIOError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
  syncDir(dirname(path));
}

/**
 * @internal
 * Replaces the companion file at `path` (an index's sidecar, its graph) around `placePrimary`, the
 * step that puts the file it describes in place, so that no crash can leave a companion beside a
 * file it does not describe:
 *   1. the new companion (`bytes`) is written to a temporary file beside `path` and flushed;
 *   2. the old companion (if any) is renamed out of the way (to a temporary name);
 *   3. `placePrimary()`;
 *   4. the new companion is renamed to `path`; the old one is deleted.
 * The folder is flushed after steps 2 and 4 (`placePrimary` flushes its own), so they reach the
 * disk in this order. A crash leaves (old primary, old companion), (old primary, none), (new
 * primary, none) or (new primary, new companion) — a crash after step 2 also leaves a stray
 * `.….tmp` file. When anything up to step 3 fails, the old companion is put back, so a failed save
 * leaves both old files as they were. `bytes` null: no new companion, but an old one is still
 * removed. Errors pass through as thrown.
 */
export function replaceCompanion(path: string, bytes: Uint8Array | null, placePrimary: () => void): void {
  const dir = dirname(path);
  const newTemp = bytes === null ? null : tempBeside(path);
  const oldTemp = tempBeside(path);
  let movedOld = false;
  let placed = false;
  // A folder there is not an old companion: it would be moved aside, and then not removable.
  if (isFolder(path)) throw new Error(`${path} is a folder, not a file`);
  try {
    if (newTemp !== null) writeNewFile(newTemp, bytes!);
    try {
      renameSync(path, oldTemp);
      movedOld = true;
      syncDir(dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    }
    placePrimary();
    placed = true;
    if (newTemp !== null) {
      renameSync(newTemp, path);
      syncDir(dir);
    }
  } catch (cause) {
    if (newTemp !== null) rmSync(newTemp, { force: true });
    if (movedOld && !placed) {
      try {
        renameSync(oldTemp, path);
        movedOld = false;
      } catch {
        // Could not put it back: (old primary, no companion) is still a consistent state.
      }
    }
    throw cause;
  } finally {
    if (movedOld) rmSync(oldTemp, { force: true });
  }
}

/**
 * @internal
 * Saves an index and its sidecar so that no crash can leave a sidecar describing a different
 * index file: the index is written to a temporary file beside `indexPath` and flushed, then
 * renamed over `indexPath` (the folder flushed) as the primary step of replaceCompanion, which
 * puts the sidecar around it. Without a sidecar an index still opens with f and metric given, and
 * the sidecar's checksum is the second line of defence (it also catches an index later rewritten
 * by another tool). A failed save leaves both old files as they were.
 * `sidecarText` null: no new sidecar is written, but an old one is still removed.
 */
export function writeIndexAndSidecar(indexPath: string, bytes: Uint8Array, sidecarPath: string, sidecarText: string | null): void {
  const indexTemp = tempBeside(indexPath);
  try {
    if (isFolder(sidecarPath)) throw new Error(`${sidecarPath} (where the sidecar goes) is a folder`);
    writeNewFile(indexTemp, bytes);
    replaceCompanion(sidecarPath, sidecarText === null ? null : new TextEncoder().encode(sidecarText), () => {
      renameSync(indexTemp, indexPath);
      syncDir(dirname(indexPath));
    });
  } catch (cause) {
    rmSync(indexTemp, { force: true });
    throw new AnnoyIOError(`cannot save to ${indexPath}: ${(cause as Error).message}`, { cause });
  }
}
