// Connecting to NATS, with the failures a person can act on turned into one clear sentence, and
// the connection's state (connected, reconnecting, closed) tracked so that queries fail at once
// while NATS is away instead of waiting out their timeout.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, Events, type NatsConnection, type NatsError } from 'nats';
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
}

export function serverList(servers: string | string[]): string[] {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ClusterError('bad_request', 'no NATS server given (e.g. nats://127.0.0.1:4222)');
  return list;
}

function describeFailure(error: unknown, servers: string[]): string {
  const e = error as NatsError & { code?: string };
  const where = servers.join(', ');
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
  }
  const message = e instanceof Error ? e.message : String(error);
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
      const code = (cause as NodeJS.ErrnoException).code;
      throw new ClusterError('nats_unreachable', `cannot read the NATS credentials file ${options.credsFile}: ${code === 'ENOENT' ? 'no such file' : (cause as Error).message}`);
    }
  }
  try {
    return await connect({
      servers,
      name: options.name ?? 'annoy-ts',
      token: options.token,
      user: options.user,
      pass: options.pass,
      authenticator: creds ? credsAuthenticator(creds) : undefined,
      timeout: options.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      pingInterval: 10_000,
      maxPingOut: 2,
    });
  } catch (error) {
    throw new ClusterError('nats_unreachable', describeFailure(error, servers), { cause: error });
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
