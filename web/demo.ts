// npm run demo:web — build the browser bundle, the demo page and its index (50,000 GloVe words;
// reused when already built), then serve them on localhost until Ctrl-C.
//
//   npm run demo:web -- --port 8080 --words 50000 --trees 10 [--rebuild] [--build-only]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle, describeBundle } from './build.ts';
import { DEMO_SITE_DIR } from './paths.ts';
import { serveStatic } from './server.ts';
import { buildSite } from './site.ts';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: process.env['PORT'] ?? '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    words: { type: 'string', default: '50000' },
    trees: { type: 'string', default: '10' },
    rebuild: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
  },
});
const port = Number(opts.port), words = Number(opts.words), trees = Number(opts.trees);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${opts.port}`);

const t0 = performance.now();
const library = await buildBundle(); // dist/web/annoy-ts.js
console.log(`library  ${describeBundle(library)}`);
const site = await buildSite(DEMO_SITE_DIR, { words, trees, force: opts.rebuild, log: (line) => console.log(`data     ${line}`) });
const rel = (p: string): string => path.relative(process.cwd(), p);
console.log(
  `data     ${rel(site.data.indexFile)}: ${site.data.words.toLocaleString('en')} words, ${site.data.trees} trees, ` +
    `${(site.data.bytes / 2 ** 20).toFixed(1)} MiB${site.data.reused ? ' (up to date, reused; --rebuild to redo)' : ''}`,
);
console.log(`site     ${rel(site.dir)}/ built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (opts['build-only']) process.exit(0);

const server = await serveStatic(site.dir, { port, host: opts.host });
console.log(`\nserving ${rel(site.dir)}/ at ${server.url} — open it in a browser; Ctrl-C stops the server`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
