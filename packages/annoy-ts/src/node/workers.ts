import { Worker, type Transferable } from 'node:worker_threads';

/**
 * @internal
 * Starts a worker thread on the module `name` of this folder (build-worker, query-worker). Compiled
 * (dist/*.js) it is a plain module worker; run from the TypeScript sources (tests, tsx), Node
 * cannot load a .ts worker itself, so a two-line bootstrap registers tsx (a development dependency)
 * first. Workers do not inherit the parent's Node flags: loaders registered with --import (tsx,
 * instrumentation) are not needed by these modules and would be set up again in every worker
 * (about 80 ms per start here).
 */
export function startWorker(name: string, workerData: unknown, transferList?: readonly Transferable[]): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, import.meta.url);
  const options = { workerData, transferList: transferList as Transferable[] | undefined, execArgv: [] };
  if (!fromSources) return new Worker(entry, options);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
