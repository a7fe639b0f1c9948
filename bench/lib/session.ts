/** Child processes: one-shot builds and line-protocol query servers. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import readline from 'node:readline';
import { REPO_ROOT } from './paths.ts';

/** node + the tsx loader running `script` (the run's copy of bench/child.ts). */
export function nodeChild(script: string, mode: 'build' | 'serve', request: unknown): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', script, mode, JSON.stringify(request)] };
}

function relay(stream: NodeJS.ReadableStream, prefix: string, tail: string[]): void {
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    process.stdout.write(`${prefix}${line}\n`);
  });
}

/** Every child still running, so an interrupted run can stop them. */
export const liveSessions = new Set<LineSession>();

/** A child speaking JSON lines on stdout (and taking commands on stdin). */
export class LineSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;
  private readonly stderrTail: string[] = [];
  private exit: Promise<number | null>;

  constructor(command: string, args: string[], prefix: string) {
    this.child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const rl = readline.createInterface({ input: this.child.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else this.lines.push(line);
    });
    rl.on('close', () => {
      this.ended = true;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(null);
      }
    });
    relay(this.child.stderr, prefix, this.stderrTail);
    liveSessions.add(this);
    this.exit = new Promise((resolve, reject) => {
      this.child.on('error', (e) => {
        liveSessions.delete(this);
        reject(e);
      });
      this.child.on('close', (code) => {
        liveSessions.delete(this);
        resolve(code);
      });
    });
    this.exit.catch(() => {});
  }

  /** The next JSON line on stdout. */
  async next<T>(): Promise<T> {
    let line: string | null;
    if (this.lines.length > 0) line = this.lines.shift()!;
    else if (this.ended) line = null;
    else line = await new Promise<string | null>((resolve) => (this.waiting = resolve));
    if (line === null) {
      const code = await this.exit.catch((e: Error) => e.message);
      throw new Error(`child exited (${String(code)}) without answering${this.stderrTail.length ? `:\n${this.stderrTail.slice(-15).join('\n')}` : ''}`);
    }
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`child printed something that is not JSON: ${line.slice(0, 300)}`);
    }
  }

  send(command: string): void {
    this.child.stdin.write(`${command}\n`);
  }

  async request<T>(command: string): Promise<T> {
    this.send(command);
    return this.next<T>();
  }

  /** Waits for the process to end; throws on a non-zero exit. */
  async close(): Promise<void> {
    this.child.stdin.end();
    const code = await this.exit;
    if (code !== 0) throw new Error(`child exited with status ${String(code)}${this.stderrTail.length ? `:\n${this.stderrTail.slice(-15).join('\n')}` : ''}`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs a child that prints one JSON line and exits. */
export async function runOnce<T>(command: string, args: string[], prefix: string): Promise<T> {
  const s = new LineSession(command, args, prefix);
  try {
    const result = await s.next<T>();
    await s.close();
    return result;
  } catch (e) {
    s.kill();
    throw e;
  }
}
