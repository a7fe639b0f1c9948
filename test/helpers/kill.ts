import { spawn } from 'node:child_process';

/**
 * Runs the Node.js script `script` (with `args`) and kills it with SIGKILL `delay` ms after it
 * prints a `ready` line; resolves with what it printed after that line, for the crash tests to
 * read the work it acknowledged before the kill. A child that exits by itself is an error.
 */
export function killAfterReady(script: string, args: string[], delay: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      const before = out.includes('ready\n');
      out += chunk.toString();
      if (!before && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), delay);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the child exited by itself (code ${code}): ${err.slice(0, 3000)}`));
      else resolve(out.split('ready\n')[1] ?? '');
    });
  });
}
