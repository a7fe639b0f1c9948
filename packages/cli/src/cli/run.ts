import { AnnoyError } from 'annoy-ts';
import { packageVersion } from 'annoy-ts';
import { CliError, UsageError } from './errors.ts';

export interface Command {
  name: string;
  summary: string;
  /** Loads the command's module only when it runs, so `--help` and typos start fast. */
  load(): Promise<(argv: string[]) => Promise<void>>;
}

const COMMANDS: Command[] = [
  {
    name: 'build',
    summary: 'build an index from vectors (.npy .fvecs .bvecs .fbin .csv .tsv .jsonl, word-vector .txt)',
    load: async () => (await import('./commands/build.ts')).build,
  },
  {
    name: 'query',
    summary: 'nearest neighbours of vectors, items or labels (table or JSON Lines)',
    load: async () => (await import('./commands/query.ts')).query,
  },
  {
    name: 'info',
    summary: 'f, metric, items, trees, size, record layout and sidecar status (or infer f and metric)',
    load: async () => (await import('./commands/info.ts')).info,
  },
  {
    name: 'eval',
    summary: 'recall@k against exact search on a sample of queries, and queries per second',
    load: async () => (await import('./commands/eval.ts')).evaluate,
  },
  {
    name: 'serve',
    summary: 'an HTTP query service for one or more indexes, with hot index swaps',
    load: async () => (await import('./commands/serve.ts')).serve,
  },
];

export const USAGE = `annoy-ts — build, query, inspect, evaluate and serve Annoy indexes

Usage: annoy-ts <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(7)}${c.summary}`).join('\n')}

Run 'annoy-ts <command> --help' for the options of a command.
Exit codes: 0 ok, 1 failure (files, data), 2 usage error (the command line). --debug shows stack traces.
`;

/** Runs one command line; returns the exit code. Errors become one line on stderr. */
export async function run(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      if (topic) return run([topic.name, '--help']);
      process.stdout.write(USAGE);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}: expected one of ${COMMANDS.map((c) => c.name).join(', ')} (see annoy-ts --help)`);
    }
    await (await command.load())(rest);
    return 0;
  } catch (error) {
    const code = error instanceof UsageError ? 2 : 1;
    const known = error instanceof UsageError || error instanceof CliError || error instanceof AnnoyError;
    const message = (error as Error)?.message ?? String(error);
    process.stderr.write(`annoy-ts: ${known ? message : `unexpected error: ${message}`}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    else if (!known) process.stderr.write('(run again with --debug for the stack trace)\n');
    return code;
  }
}
