import { AnnoyError, packageVersion } from 'annoy-ts';
import { parseCommand, type CommandModule } from './args.ts';
import { CliError, UsageError } from './errors.ts';

/** The commands, their one-line summaries and their modules (loaded only when one runs, so --help and typos start fast). */
const COMMANDS: readonly (readonly [name: string, summary: string, load: () => Promise<CommandModule>])[] = [
  ['build', 'build an index from vectors (.npy .fvecs .bvecs .fbin .csv .tsv .jsonl, word-vector .txt)', () => import('./commands/build.ts')],
  ['query', 'nearest neighbours of vectors, items or labels (table or JSON Lines)', () => import('./commands/query.ts')],
  ['info', 'f, metric, items, trees, size, record layout and sidecar status (or infer f and metric)', () => import('./commands/info.ts')],
  ['eval', 'recall@k against exact search on a sample of queries, and queries per second', () => import('./commands/eval.ts')],
  ['serve', 'an HTTP query service for one or more indexes, with hot index swaps', () => import('./commands/serve.ts')],
  ['collection', 'a durable collection: keys, vectors, attributes; upsert/delete/query/compact/info', () => import('./commands/collection.ts')],
];

export const USAGE = `annoy-ts — build, query, inspect, evaluate and serve Annoy indexes

Usage: annoy-ts <command> [options]

Commands:
${COMMANDS.map(([name, summary]) => `  ${name.padEnd(12)}${summary}`).join('\n')}

Run 'annoy-ts <command> --help' for the options of a command.
Exit codes: 0 ok, 1 failure (files, data), 2 usage error (the command line). --debug shows stack traces.
`;

/** Runs one command line; returns the exit code. Errors become one line on stderr. */
export async function run(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const topic = name === 'help' ? COMMANDS.find(([command]) => command === rest[0]) : undefined;
      if (topic) return run([topic[0], '--help']);
      process.stdout.write(USAGE);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const load = COMMANDS.find(([command]) => command === name)?.[2];
    if (!load) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}: expected one of ${COMMANDS.map(([command]) => command).join(', ')} (see annoy-ts --help)`);
    }
    const { spec, execute } = await load();
    const parsed = parseCommand(spec, rest);
    if (parsed === 'help') process.stdout.write(spec.help);
    else await execute(parsed);
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
