import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` (beside this file). Compiled, it is a plain module worker; run
 * from the TypeScript sources (tests, tsx), a two-line bootstrap registers tsx first. Workers do not
 * inherit the parent's Node flags (loaders given with --import would only slow each start down).
 */
export function startWorker(name: string, workerData: unknown, transferList: ArrayBuffer[] = []): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, import.meta.url);
  const options = { workerData, transferList, execArgv: [] };
  if (!fromSources) return new Worker(entry, options);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
