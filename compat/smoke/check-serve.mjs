// A short life of the installed `annoy-ts serve` under one runtime: start it on a free port, wait
// for its "listening on URL" line, ask /health and one query over HTTP (it must answer like real
// Annoy), then SIGTERM: it must drain and exit 0.
//   node check-serve.mjs INDEX.ann queries.fbin query-k10.json -- <runtime> <cli main.js>
// (or `-- node_modules/.bin/annoy-ts`). Runs under the host's Node; the server under the runtime.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseFbin, sameAnswer } from './core.mjs';

const dash = process.argv.indexOf('--');
const [index, queriesFile, expectedFile] = process.argv.slice(2, dash);
const [command, ...prefix] = process.argv.slice(dash + 1);
const name = basename(index).replace(/\.ann$/, '');
const query = parseFbin(readFileSync(queriesFile))[0];
const expected = JSON.parse(readFileSync(expectedFile, 'utf8')).results[0];
const failures = [];

const server = spawn(command, [...prefix, 'serve', index, '--port', '0', '--host', '127.0.0.1', '--drain-timeout', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
server.stderr.setEncoding('utf8');
const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
const url = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve(null), 60_000);
  server.stderr.on('data', (chunk) => {
    log += chunk;
    const m = /listening on (http:\/\/\S+?)[ ,(]/.exec(log);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  exited.then(() => resolve(null));
});

if (url === null) {
  failures.push(`the server did not start within 60 s:\n${log}`);
} else {
  try {
    const health = await fetch(`${url}/health`);
    if (health.status !== 200) failures.push(`GET /health: ${health.status}`);
    const response = await fetch(`${url}/v1/indexes/${name}/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: query, k: expected.ids.length }),
    });
    const answer = await response.json();
    if (response.status !== 200 || !Array.isArray(answer.ids) || !sameAnswer(answer, expected)) {
      failures.push(`POST /v1/indexes/${name}/query: ${response.status} ${JSON.stringify(answer)}; real Annoy gave ${JSON.stringify(expected)}`);
    }
  } catch (error) {
    failures.push(`HTTP: ${error.message}`);
  }
}
server.kill('SIGTERM');
const timeout = setTimeout(() => server.kill('SIGKILL'), 20_000);
const { code, signal } = await exited;
clearTimeout(timeout);
if (url !== null && (code !== 0 || !/stopped/.test(log))) failures.push(`after SIGTERM: exit ${code ?? signal}, log:\n${log}`);
for (const f of failures) console.log(`  ✗ CLI serve: ${f}`);
process.exitCode = failures.length === 0 ? 0 : 1;
