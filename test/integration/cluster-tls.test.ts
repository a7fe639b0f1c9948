// The cluster over TLS on a real nats-server: a CA, a server certificate for 127.0.0.1/localhost and
// client certificates made with openssl at test time. A shard server (`serve --nats tls://… --nats-ca`)
// and a TLS ClusterClient answer as the index does, with the server verified (tls) and with mutual
// TLS (verify: true, client certificates). Refused clearly: a server certificate that does not
// verify (no --nats-ca), a missing or untrusted client certificate, TLS asked of a server without
// it; bad TLS options are usage errors (exit 2) or one line naming the flag and the file (exit 1).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { ClusterClient } from '../../packages/cli/src/cluster/index.ts';
import { cliAsync, cliEntry, randomRows, type Run } from '../helpers/cli.ts';
import { killAll, post, serveNode, stopNode } from '../helpers/cluster.ts';
import { natsServerPath, startNats, type NatsServer } from '../helpers/nats.ts';
import { skipWithout } from '../helpers/requirements.ts';

const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const skip =
  skipWithout(natsServerPath() !== null, 'nats-server (apt-get install nats-server, or ANNOY_TS_NATS_SERVER)') ||
  skipWithout(hasOpenssl, 'openssl (apt-get install openssl), which makes the test certificates');

const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-cluster-tls-'));
const at = (name: string) => join(dir, name);
const F = 16;
const N = 2000;
const K = 10;

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA (NAME.pem, NAME-key.pem). */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=annoy-ts test ${name}`]);
}

/** A certificate NAME.pem (key NAME-key.pem) signed by CA, with the given X.509 v3 extensions. */
function makeCert(name: string, ca: string, extensions: string[]): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=annoy-ts test ${name}`]);
  writeFileSync(at(`${name}.ext`), extensions.join('\n') + '\n');
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-set_serial', String(Date.now() % 1e9), '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

/** A failed run: the exit code, and its stderr is one line. */
function oneLine(run: Run, code: number): string {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0];
}

let reference: AnnoyIndex;
const queries = randomRows(20, F, 99);
const words = () => `words=${at('words.ann')}`;
const servers: NatsServer[] = [];
const clients: ClusterClient[] = [];

/** Queries through the client and a node's HTTP gateway equal the index's own answers. */
async function expectSameAnswers(client: ClusterClient, http: string): Promise<void> {
  const index = client.index('words');
  for (const q of queries.slice(0, 5)) expect(await index.getNnsByVector(q, K, -1, true)).toEqual(reference.getNnsByVector(q, K, -1, true));
  expect(await index.getNnsByVectors(queries, K)).toEqual(reference.getNnsByVectors(queries, K));
  expect(await index.getNnsByItems([0, 7, N - 1], K)).toEqual(reference.getNnsByItems([0, 7, N - 1], K));
  expect(await index.getItemVector(42)).toEqual(reference.getItemVector(42));
  const r = await post(`${http}/v1/indexes/words/query`, { item: 3, k: K });
  expect(r.status).toBe(200);
  expect(r.body.ids).toEqual(reference.getNnsByItem(3, K));
}

beforeAll(() => {
  if (skip) return;
  cliEntry();
  makeCa('ca');
  makeCa('other-ca');
  makeCert('server', 'ca', ['subjectAltName = IP:127.0.0.1, DNS:localhost', 'extendedKeyUsage = serverAuth']);
  makeCert('client', 'ca', ['extendedKeyUsage = clientAuth']);
  makeCert('stranger', 'other-ca', ['extendedKeyUsage = clientAuth']); // a client certificate the server does not trust
  const index = new AnnoyIndex(F, 'angular');
  randomRows(N, F, 5).forEach((r, i) => index.addItem(i, r));
  index.setSeed(5);
  index.build(6);
  index.save(at('words.ann'));
  index.unload();
  reference = AnnoyIndex.open(at('words.ann'));
});

afterAll(async () => {
  for (const c of clients) await c.close();
  killAll();
  for (const s of servers) await s.kill();
  reference?.unload();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('cluster over TLS: the NATS server verified', () => {
  let nats: NatsServer;

  beforeAll(async () => {
    nats = await startNats({ tls: { cert: at('server.pem'), key: at('server-key.pem') } });
    servers.push(nats);
  });

  it('serve --nats tls://… --nats-ca and a TLS ClusterClient: answers equal the index’s own', async () => {
    expect(nats.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const node = await serveNode([words(), '--threads', '0', '--nats-ca', at('ca.pem')], nats.url, 'tls-node');
    expect(node.stderr()).toMatch(/joined the cluster/);
    const client = await ClusterClient.connect({ servers: nats.url, tls: { caFile: at('ca.pem') }, timeoutMs: 3000 });
    clients.push(client);
    try {
      await expectSameAnswers(client, node.url);
      // The CA given as PEM text, and a nats:// URL (TLS because the server requires it, verified against the CA).
      const byText = await ClusterClient.connect({ servers: nats.url.replace('tls://', 'nats://'), tls: { ca: readFileSync(at('ca.pem'), 'utf8') } });
      clients.push(byText);
      expect(await byText.index('words').getNnsByItem(9, K)).toEqual(reference.getNnsByItem(9, K));
    } finally {
      expect(await stopNode(node)).toBe(0);
    }
  });

  it('without --nats-ca the self-signed server is refused: exit 1, one line, the certificate could not be verified', async () => {
    const [viaUrl, viaPlainUrl] = await Promise.all([
      cliAsync(['serve', words(), '--port', '0', '--nats', nats.url]),
      // nats:// to a server that requires TLS: still TLS, still verified against the system's CAs.
      cliAsync(['serve', words(), '--port', '0', '--nats', nats.url.replace('tls://', 'nats://')]),
    ]);
    expect(oneLine(viaUrl, 1)).toMatch(/^annoy-ts: cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: the server's TLS certificate could not be verified \(unable to verify the first certificate\): give the CA that signed it \(serve --nats-ca FILE/);
    expect(oneLine(viaPlainUrl, 1)).toMatch(/the server's TLS certificate could not be verified/);
    await expect(ClusterClient.connect({ servers: nats.url })).rejects.toMatchObject({ code: 'nats_unreachable', message: expect.stringMatching(/certificate could not be verified/) });
    // A CA that did not sign the server's certificate is no better.
    const wrongCa = await cliAsync(['serve', words(), '--port', '0', '--nats', nats.url, '--nats-ca', at('other-ca.pem')]);
    expect(oneLine(wrongCa, 1)).toMatch(/certificate could not be verified/);
  });

  it('TLS asked of a NATS server without TLS (a tls:// URL, or --nats-ca): refused, one line', async () => {
    const plain = await startNats();
    servers.push(plain);
    const [url, ca] = await Promise.all([
      cliAsync(['serve', words(), '--port', '0', '--nats', plain.url.replace('nats://', 'tls://')]),
      cliAsync(['serve', words(), '--port', '0', '--nats', plain.url, '--nats-ca', at('ca.pem')]),
    ]);
    for (const run of [url, ca]) expect(oneLine(run, 1)).toMatch(/^annoy-ts: NATS at .* does not offer TLS, but TLS was asked for/);
    await plain.kill();
  });

  it('command line: --nats-cert and --nats-key go together (exit 2); unreadable or wrong PEM files name the flag and the file (exit 1)', async () => {
    writeFileSync(at('not-pem.txt'), 'hello\n');
    const base = ['serve', words(), '--port', '0', '--nats', nats.url];
    const [certOnly, keyOnly, noNats, missingCa, notPem, keyAsCert, mismatch] = await Promise.all([
      cliAsync([...base, '--nats-ca', at('ca.pem'), '--nats-cert', at('client.pem')]),
      cliAsync([...base, '--nats-key', at('client-key.pem')]),
      cliAsync(['serve', words(), '--nats-ca', at('ca.pem')]),
      cliAsync([...base, '--nats-ca', at('missing.pem')]),
      cliAsync([...base, '--nats-ca', at('not-pem.txt')]),
      cliAsync([...base, '--nats-cert', at('client-key.pem'), '--nats-key', at('client-key.pem')]),
      cliAsync([...base, '--nats-cert', at('client.pem'), '--nats-key', at('stranger-key.pem')]),
    ]);
    expect(oneLine(certOnly, 2)).toBe("annoy-ts: --nats-cert needs --nats-key (the client certificate's private key)");
    expect(oneLine(keyOnly, 2)).toBe('annoy-ts: --nats-key needs --nats-cert (the client certificate)');
    expect(oneLine(noNats, 2)).toBe('annoy-ts: --nats-ca needs --nats URL');
    expect(oneLine(missingCa, 1)).toBe(`annoy-ts: cannot read --nats-ca ${at('missing.pem')}: no such file`);
    expect(oneLine(notPem, 1)).toBe(`annoy-ts: --nats-ca ${at('not-pem.txt')} is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)`);
    expect(oneLine(keyAsCert, 1)).toMatch(/^annoy-ts: --nats-cert .*client-key\.pem is not a PEM certificate file/);
    expect(oneLine(mismatch, 1)).toBe(`annoy-ts: --nats-key ${at('stranger-key.pem')} is not the private key of the client certificate --nats-cert ${at('client.pem')}`);
    // The same checks for library users.
    await expect(ClusterClient.connect({ servers: nats.url, tls: { certFile: at('client.pem') } })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/needs its key/) });
    await expect(ClusterClient.connect({ servers: nats.url, tls: { caFile: at('missing.pem') } })).rejects.toMatchObject({ code: 'bad_request', message: `cannot read tls.caFile ${at('missing.pem')}: no such file` });
  });
});

describe.skipIf(skip)('cluster over mutual TLS: the NATS server verifies clients', () => {
  let nats: NatsServer;

  beforeAll(async () => {
    nats = await startNats({ tls: { cert: at('server.pem'), key: at('server-key.pem'), ca: at('ca.pem'), verify: true } });
    servers.push(nats);
  });

  it('serve with --nats-ca, --nats-cert, --nats-key and a ClusterClient with a client certificate: answers equal the index’s own', async () => {
    const node = await serveNode([words(), '--nats-ca', at('ca.pem'), '--nats-cert', at('client.pem'), '--nats-key', at('client-key.pem')], nats.url, 'mtls-node');
    const client = await ClusterClient.connect({ servers: nats.url, tls: { caFile: at('ca.pem'), certFile: at('client.pem'), keyFile: at('client-key.pem') }, timeoutMs: 3000 });
    clients.push(client);
    try {
      await expectSameAnswers(client, node.url);
    } finally {
      expect(await stopNode(node)).toBe(0);
    }
  });

  it('no client certificate, or one the server does not trust: refused with a clear error', async () => {
    const [noCert, stranger, library] = await Promise.all([
      cliAsync(['serve', words(), '--port', '0', '--nats', nats.url, '--nats-ca', at('ca.pem')]),
      cliAsync(['serve', words(), '--port', '0', '--nats', nats.url, '--nats-ca', at('ca.pem'), '--nats-cert', at('stranger.pem'), '--nats-key', at('stranger-key.pem')]),
      ClusterClient.connect({ servers: nats.url, tls: { caFile: at('ca.pem') } }).then(
        (c) => {
          clients.push(c);
          return null;
        },
        (e: unknown) => e,
      ),
    ]);
    expect(oneLine(noCert, 1)).toMatch(/^annoy-ts: NATS at tls:\/\/127\.0\.0\.1:\d+ requires a TLS client certificate \(it verifies clients\) and closed the connection: give one \(serve --nats-cert FILE --nats-key FILE/);
    expect(oneLine(stranger, 1)).toMatch(/^annoy-ts: NATS at tls:\/\/127\.0\.0\.1:\d+ did not accept the TLS client certificate/);
    expect(library).toMatchObject({ code: 'nats_unreachable', message: expect.stringMatching(/requires a TLS client certificate/) });
  }, 30_000);
});
