import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CliError } from '../errors.ts';
import { systemMessage } from './dataset.ts';

/**
 * The lines of a UTF-8 text file with their 1-based numbers, reporting bytes read every 1024 lines.
 * `path` null reads standard input (process.stdin, not /dev/stdin: Deno would need a read
 * permission for that path, and Windows has none).
 */
export async function* readLines(path: string | null, file: string, total: number, onProgress?: (done: number, total: number) => void): AsyncGenerator<[string, number]> {
  const stream: NodeJS.ReadableStream & { bytesRead?: number; destroy(): void } = path === null ? process.stdin.setEncoding('utf8') : createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (onProgress && (n & 1023) === 0) onProgress(stream.bytesRead ?? 0, total);
      yield [n === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, n];
    }
  } catch (cause) {
    throw new CliError(`cannot read ${file}: ${systemMessage(cause)}`);
  } finally {
    lines.close();
    stream.destroy();
  }
  onProgress?.(total, total);
}
