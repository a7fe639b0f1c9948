// One server for the load benchmark, run as its own process (so it can be pinned to cores with
// taskset): `tsx bench/serve/server-process.ts MODE PROCESSES PORT NAME=INDEX`.
//   MODE workers|main  searches on the worker-thread pool (one thread per core it may use) or on
//                      the event loop; PROCESSES > 1 starts a Node cluster of that many servers
//                      sharing the port (each with its own copy of the index) — measured to
//                      compare the two ways of using every core.
// Prints "ready" on stdout once listening; SIGTERM drains and exits.
import cluster from 'node:cluster';
import { startServer, type SearchMode } from '../../packages/cli/src/server/index.ts';

const [mode, processes, port, spec] = process.argv.slice(2);
const [name, path] = spec.split('=');

if (Number(processes) > 1 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < Number(processes); i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'ready' && ++ready === Number(processes)) console.log('ready');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
} else {
  const server = await startServer({
    indexes: [{ name, path }], port: Number(port), search: mode as SearchMode, log: (l) => console.error(l),
    limits: { maxInFlight: 100_000 },
  });
  if (cluster.isWorker) process.send!('ready');
  else console.log('ready');
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
