#!/usr/bin/env node
// annoy-ts: build, query, inspect and evaluate Annoy indexes from the shell.
import { run } from './run.ts';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `annoy-ts query … | head`
  throw e;
});

process.exitCode = await run(process.argv.slice(2));
