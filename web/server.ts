// A small static file server for the demo (node:http only): GET and HEAD, loopback by default,
// no directory listings, nothing outside the root. It sends the cross-origin-isolation headers so the
// page's performance.now() has fine resolution (Chrome coarsens it to 100 µs otherwise), which matters
// when a query takes a fraction of a millisecond.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ann': 'application/octet-stream',
};

export interface StaticServer {
  /** e.g. http://127.0.0.1:8080/ (always ends with a slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Address to listen on; loopback unless you mean otherwise. */
  host?: string;
  /** Called once per request, e.g. for a log line. */
  onRequest?: (method: string, url: string, status: number) => void;
}

/** Serves the files under `root`. Resolves once the server is listening. */
export async function serveStatic(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const base = path.resolve(root);
  const { port = 0, host = '127.0.0.1', onRequest } = options;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const finish = (status: number, body = '', headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(method === 'HEAD' ? undefined : body);
      onRequest?.(method, req.url ?? '', status);
    };
    if (method !== 'GET' && method !== 'HEAD') return finish(405, 'method not allowed\n', { Allow: 'GET, HEAD' });

    let relative: string;
    try {
      relative = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return finish(400, 'bad request\n');
    }
    if (relative.includes('\0')) return finish(400, 'bad request\n');
    if (relative.endsWith('/')) relative += 'index.html';
    const file = path.resolve(base, '.' + relative);
    if (file !== base && !file.startsWith(base + path.sep)) return finish(403, 'forbidden\n');

    stat(file).then(
      (info) => {
        if (!info.isFile()) return finish(404, 'not found\n');
        const modified = new Date(Math.floor(info.mtimeMs / 1000) * 1000);
        const since = Date.parse(req.headers['if-modified-since'] ?? '');
        if (!Number.isNaN(since) && since >= modified.getTime()) {
          res.writeHead(304, { 'Last-Modified': modified.toUTCString(), 'Cache-Control': 'no-cache' });
          res.end();
          onRequest?.(method, req.url ?? '', 304);
          return;
        }
        res.writeHead(200, {
          'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Length': String(info.size),
          'Cache-Control': 'no-cache',
          'Last-Modified': modified.toUTCString(),
          'X-Content-Type-Options': 'nosniff',
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Embedder-Policy': 'require-corp',
          'Cross-Origin-Resource-Policy': 'same-origin',
        });
        onRequest?.(method, req.url ?? '', 200);
        if (method === 'HEAD') return void res.end();
        const stream = createReadStream(file, { highWaterMark: 1 << 20 });
        stream.on('error', () => res.destroy());
        stream.pipe(res);
      },
      () => finish(404, 'not found\n'),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
