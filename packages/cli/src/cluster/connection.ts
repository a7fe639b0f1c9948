// Connecting to NATS, with the failures a person can act on turned into one clear sentence, and
// the connection's state (connected, reconnecting, closed) tracked so that queries fail at once
// while NATS is away instead of waiting out their timeout. TLS: the server's certificate is
// verified (against a given CA, else the system's CAs), and a client certificate may be given
// for servers that verify clients (mutual TLS).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect, credsAuthenticator, Events, type NatsConnection, type NatsError, type TlsOptions } from 'nats';
import { ClusterError } from './errors.ts';

export interface NatsOptions {
  /** NATS server URLs: "nats://host:4222", "host:4222", or several (comma-separated or an array). */
  servers: string | string[];
  /** A token the NATS server requires (`authorization { token }`). */
  token?: string;
  /** A user credentials file (JWT + NKey seed, as `nsc` writes it). */
  credsFile?: string;
  /** User and password (`authorization { user, password }`). */
  user?: string;
  pass?: string;
  /** The connection's name in NATS monitoring (default: annoy-ts). */
  name?: string;
  /** Milliseconds to wait for the first connection (default 5000). */
  connectTimeoutMs?: number;
  /**
   * TLS for the connection. Given (even `{}`), the connection requires TLS; a `tls://` server URL
   * does the same. Without a CA the system's CAs verify the server's certificate (also when the
   * server requires TLS and no option asks for it).
   */
  tls?: NatsTlsOptions;
}

/** TLS options: each as a PEM file or as PEM text (not both). */
export interface NatsTlsOptions {
  /** The CA certificate(s) that signed the NATS server's certificate (default: the system's CAs). */
  caFile?: string;
  ca?: string;
  /** A client certificate and its (unencrypted) private key, for servers that verify clients (`verify: true`): both or neither. */
  certFile?: string;
  cert?: string;
  keyFile?: string;
  key?: string;
}

export type PemKind = 'ca' | 'cert' | 'key';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function problemOf(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
}

/**
 * Checks PEM text: certificates (a CA bundle, or a client certificate first in its chain) must
 * parse; a key must be an unencrypted private key. `what` names the source in the message
 * ("--nats-ca /etc/ca.pem", "tls.ca"). Throws ClusterError('bad_request').
 */
export function checkPem(kind: PemKind, pem: string, what: string): string {
  if (kind === 'key') {
    try {
      createPrivateKey(pem);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ERR_MISSING_PASSPHRASE') throw new ClusterError('bad_request', `${what}: the private key is encrypted, which is not supported (decrypt it: openssl pkey -in KEY -out PLAIN-KEY)`);
      throw new ClusterError('bad_request', `${what} is not a PEM private key (${(cause as Error).message})`);
    }
    return pem;
  }
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw new ClusterError('bad_request', `${what} is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (cause) {
      throw new ClusterError('bad_request', `${what}: certificate ${i + 1} of ${blocks.length} is not valid (${(cause as Error).message})`);
    }
  });
  return pem;
}

/** Reads and checks a PEM file; the message names `what` (a flag or option) and the file. */
export function readPem(kind: PemKind, file: string, what: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ClusterError('bad_request', `cannot read ${what} ${file}: ${problemOf(cause)}`);
  }
  return checkPem(kind, pem, `${what} ${file}`);
}

/** Checks that a client certificate is current and that the key is its own. */
export function checkKeyPair(cert: string, key: string, whatCert: string, whatKey: string): void {
  const x509 = new X509Certificate(cert.match(CERT_BLOCK)![0]);
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (cause) {
    throw new ClusterError('bad_request', `${whatKey} is not a PEM private key (${(cause as Error).message})`);
  }
  if (!x509.checkPrivateKey(keyObject)) throw new ClusterError('bad_request', `${whatKey} is not the private key of the client certificate ${whatCert}`);
  const now = Date.now();
  if (Date.parse(x509.validTo) < now) throw new ClusterError('bad_request', `the client certificate ${whatCert} expired on ${x509.validTo}`);
  if (Date.parse(x509.validFrom) > now) throw new ClusterError('bad_request', `the client certificate ${whatCert} is not valid before ${x509.validFrom}`);
}

/** The nats client's TLS options (PEM text), or undefined when nothing asks for TLS. */
function tlsSettings(tls: NatsTlsOptions | undefined, servers: string[]): TlsOptions | undefined {
  const wanted = tls !== undefined || servers.some((s) => /^tls:\/\//i.test(s));
  if (!wanted) return undefined;
  const t = tls ?? {};
  const pick = (kind: PemKind, fileKey: 'caFile' | 'certFile' | 'keyFile', textKey: 'ca' | 'cert' | 'key'): string | undefined => {
    const file = t[fileKey];
    const text = t[textKey];
    if (file !== undefined && text !== undefined) throw new ClusterError('bad_request', `give tls.${fileKey} or tls.${textKey}, not both`);
    if (file !== undefined) return readPem(kind, file, `tls.${fileKey}`);
    if (text !== undefined) return checkPem(kind, text, `tls.${textKey}`);
    return undefined;
  };
  const ca = pick('ca', 'caFile', 'ca');
  const cert = pick('cert', 'certFile', 'cert');
  const key = pick('key', 'keyFile', 'key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ClusterError('bad_request', 'a TLS client certificate needs its key: give tls.certFile (or tls.cert) and tls.keyFile (or tls.key), or neither');
  }
  if (cert !== undefined && key !== undefined) {
    checkKeyPair(cert, key, t.certFile === undefined ? 'tls.cert' : `tls.certFile ${t.certFile}`, t.keyFile === undefined ? 'tls.key' : `tls.keyFile ${t.keyFile}`);
  }
  const out: TlsOptions = {};
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  return out;
}

export function serverList(servers: string | string[]): string[] {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ClusterError('bad_request', 'no NATS server given (e.g. nats://127.0.0.1:4222)');
  return list;
}

/** Node's (OpenSSL's) codes for a server certificate that does not verify. */
const UNVERIFIED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'CERT_CHAIN_TOO_LONG',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'INVALID_PURPOSE', 'CERT_REVOKED',
]);

const GIVE_CA = 'give the CA that signed it (serve --nats-ca FILE; ClusterClient: tls.caFile)';
const GIVE_CERT = 'give one (serve --nats-cert FILE --nats-key FILE; ClusterClient: tls.certFile and tls.keyFile)';

/** What the first message of a NATS server (INFO, sent in clear before any TLS) says about TLS. */
interface TlsInfo {
  tls_required?: boolean;
  tls_verify?: boolean;
}

/** Reads a server's INFO line on a plain TCP connection (null when that does not work within `ms`). */
function probeInfo(server: string, ms: number): Promise<TlsInfo | null> {
  const rest = server.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  if (!m) return Promise.resolve(null);
  return new Promise((resolve) => {
    let text = '';
    const socket = tcpConnect({ host: m[1], port: m[2] === undefined ? 4222 : Number(m[2]) });
    const done = (info: TlsInfo | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(info);
    };
    const timer = setTimeout(() => done(null), ms);
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n');
      if (end < 0) {
        if (text.length > 65536) done(null);
        return;
      }
      const line = /^INFO\s+(\{.*\})\s*$/.exec(text.slice(0, end));
      try {
        done(line ? (JSON.parse(line[1]) as TlsInfo) : null);
      } catch {
        done(null);
      }
    });
  });
}

function describeFailure(error: unknown, servers: string[], tls: TlsOptions | undefined, verifying: boolean): string {
  const e = error as NatsError & { code?: string };
  const where = servers.join(', ');
  const message = e instanceof Error ? e.message : String(error);
  if (verifying) {
    // A server that verifies clients closes the connection after the TLS handshake when it does
    // not accept the client (no certificate, or one it does not trust): the client sees a timeout.
    return tls?.cert === undefined
      ? `NATS at ${where} requires a TLS client certificate (it verifies clients) and closed the connection: ${GIVE_CERT}`
      : `NATS at ${where} did not accept the TLS client certificate and closed the connection: is it signed by a CA the server trusts (its tls ca_file), and current?`;
  }
  switch (e?.code) {
    case 'CONNECTION_REFUSED':
      return `cannot reach NATS at ${where}: connection refused (is nats-server running there?)`;
    case 'CONNECTION_TIMEOUT':
    case 'TIMEOUT':
      return `cannot reach NATS at ${where}: no answer in time`;
    case 'AUTHORIZATION_VIOLATION':
      return `NATS at ${where} refused the connection: authorization violation (check the token, user or credentials)`;
    case 'AUTHENTICATION_EXPIRED':
      return `NATS at ${where} refused the connection: the credentials have expired`;
    case 'BAD_CREDS':
      return `the NATS credentials file is not valid: ${e.message}`;
    case 'SERVER_OPT_NA':
      if (message === 'tls') return `NATS at ${where} does not offer TLS, but TLS was asked for (a tls:// URL or TLS options): configure TLS on the server, or connect without TLS`;
      break;
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return `NATS at ${where} requires a TLS client certificate (it verifies clients): ${GIVE_CERT}`;
  }
  if (e?.code !== undefined && UNVERIFIED.has(e.code)) {
    const detail = e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'it is not issued for this host name or address: ' : '';
    return `cannot connect to NATS at ${where}: the server's TLS certificate could not be verified (${detail}${message})${detail ? '' : `: ${GIVE_CA}`}`;
  }
  if (typeof e?.code === 'string' && /^ERR_SSL_.*ALERT/.test(e.code)) {
    return `NATS at ${where} refused the TLS handshake (${message})${tls?.cert === undefined ? '' : ': is the client certificate signed by a CA the server trusts, and current?'}`;
  }
  return `cannot connect to NATS at ${where}: ${/ENOTFOUND|EAI_AGAIN/.test(message) ? 'no such host' : message}`;
}

/** Connects (reconnecting forever once connected); throws a ClusterError('nats_unreachable') naming the problem. */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const servers = serverList(options.servers);
  let creds: Uint8Array | undefined;
  if (options.credsFile !== undefined) {
    try {
      creds = readFileSync(options.credsFile);
    } catch (cause) {
      throw new ClusterError('nats_unreachable', `cannot read the NATS credentials file ${options.credsFile}: ${problemOf(cause)}`);
    }
  }
  const tls = tlsSettings(options.tls, servers);
  try {
    return await connect({
      servers,
      name: options.name ?? 'annoy-ts',
      token: options.token,
      user: options.user,
      pass: options.pass,
      authenticator: creds ? credsAuthenticator(creds) : undefined,
      tls,
      timeout: options.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      pingInterval: 10_000,
      maxPingOut: 2,
    });
  } catch (error) {
    const code = (error as { code?: string })?.code;
    // A timeout from a server that verifies TLS clients is that server closing on us after the handshake.
    const verifying = code === 'TIMEOUT' && (await Promise.all(servers.map((s) => probeInfo(s, 1500)))).some((info) => info?.tls_verify === true);
    throw new ClusterError('nats_unreachable', describeFailure(error, servers, tls, verifying), { cause: error });
  }
}

/** Follows a connection's status: whether it is up right now, and since when it is down. */
export class ConnectionWatch {
  #up = true;
  #server: string;
  #downSince = 0;
  readonly #listeners = new Set<(up: boolean) => void>();

  constructor(readonly nc: NatsConnection) {
    this.#server = nc.getServer();
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect) this.#set(false, String(s.data));
        else if (s.type === Events.Reconnect) this.#set(true, String(s.data));
      }
    })().catch(() => undefined);
    void nc.closed().then(() => this.#set(false, this.#server));
  }

  #set(up: boolean, server: string): void {
    this.#server = server;
    if (this.#up === up) return;
    this.#up = up;
    if (!up) this.#downSince = Date.now();
    for (const listener of this.#listeners) listener(up);
  }

  get up(): boolean {
    return this.#up && !this.nc.isClosed();
  }

  get server(): string {
    return this.#server;
  }

  /** Why queries cannot run now (null while connected). */
  problem(): string | null {
    if (this.nc.isClosed()) return 'the NATS connection is closed';
    if (this.#up) return null;
    return `lost the connection to NATS at ${this.#server} ${Math.round((Date.now() - this.#downSince) / 100) / 10} s ago; reconnecting (queries fail until it is back)`;
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
