// `annoy-ts serve --nats …`: the command-line options that make a server join a cluster, turned
// into the server's cluster options. (serve.ts spreads NATS_OPTIONS and NATS_HELP into its own.)
import { readFileSync } from 'node:fs';
import { intOption, str, type Parsed } from '../cli/args.ts';
import { CliError, UsageError } from '../cli/errors.ts';
import { checkKeyPair, readPem, type NatsTlsOptions, type PemKind } from './connection.ts';
import { ClusterError } from './errors.ts';
import { checkPrefix } from './protocol.ts';
import type { NodeOptions } from './node.ts';
import { ShardSets } from './shards.ts';

export const NATS_OPTIONS = {
  nats: { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-token-file': { type: 'string' },
  'nats-ca': { type: 'string' },
  'nats-cert': { type: 'string' },
  'nats-key': { type: 'string' },
  'nats-prefix': { type: 'string' },
  'nats-timeout': { type: 'string' },
  'nats-retry': { type: 'string' },
  'node-name': { type: 'string' },
  shard: { type: 'string' },
} as const;

export const NATS_HELP = `
Cluster (NATS): shards and replicas on many machines
      --nats URL[,URL…]   join the NATS cluster at URL (nats://host:4222): every INDEX is served as a
                          shard endpoint (replicas of a shard share its load), and the query endpoints
                          answer for the whole cluster (each shard asked, answers merged exactly).
                          With --nats, INDEX may be left out: the server is then only a gateway.
      --nats-creds FILE   NATS user credentials (JWT and NKey seed, as nsc writes them)
      --nats-token-file FILE  NATS token (the file's first line); ANNOY_TS_NATS_TOKEN works too
      --nats-ca FILE      TLS: the PEM CA certificate(s) that signed the NATS server's certificate
                          (default: the system's CAs). A tls:// URL or any --nats-ca/--nats-cert
                          requires TLS; a server that requires TLS gets it, verified, in any case.
      --nats-cert FILE    TLS client certificate (PEM), for a NATS server that verifies clients
      --nats-key FILE     its private key (PEM, unencrypted); --nats-cert and --nats-key go together
      --nats-prefix NAME  subject prefix and service name (default annoy): separate clusters on one NATS
      --nats-timeout MS   every cluster query answers or fails within MS (default 5000)
      --nats-retry MS     send a shard request again when no replica answered within MS (default 250)
      --node-name NAME    this server's name in discovery (default host:pid)
      --shard K[,K…]      of a sharded index folder (NAME=DIR, with manifest.json), serve these shards
                          (default: all of them); run other servers for the other shards. Each
                          shard is listed locally as NAME.shard-K; queries use NAME.
  Cluster queries take "allowPartial": true (answer from the shards that answered, naming the
  missing ones), "consistent": true (every shard from the same set) and "timeoutMs". GET /v1/cluster
  lists the indexes, shards and replicas that are up. SIGTERM drains: NATS stops routing to this
  server, the requests it holds finish, then it exits.
`;

function readNatsToken(file: string | undefined): string | undefined {
  if (file !== undefined) {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').split(/\r?\n/)[0].trim();
    } catch (cause) {
      throw new CliError(`cannot read --nats-token-file ${file}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`);
    }
    if (!token) throw new CliError(`--nats-token-file ${file}: the first line is empty`);
    return token;
  }
  const env = process.env['ANNOY_TS_NATS_TOKEN'];
  if (env === undefined) return undefined;
  if (!env.trim()) throw new CliError('ANNOY_TS_NATS_TOKEN is set but empty');
  return env.trim();
}

/** Reads one PEM file of --nats-ca/--nats-cert/--nats-key (exit 1 with one line naming the flag and the file). */
function pemOption(kind: PemKind, flag: string, file: string): string {
  try {
    return readPem(kind, file, `--${flag}`);
  } catch (e) {
    throw e instanceof ClusterError ? new CliError(e.message) : e;
  }
}

/** --nats-ca, --nats-cert and --nats-key as the connection's TLS options (PEM text), or undefined. */
function natsTls(values: Parsed['values']): NatsTlsOptions | undefined {
  const caFile = str(values, 'nats-ca');
  const certFile = str(values, 'nats-cert');
  const keyFile = str(values, 'nats-key');
  if (certFile !== undefined && keyFile === undefined) throw new UsageError('--nats-cert needs --nats-key (the client certificate\'s private key)');
  if (keyFile !== undefined && certFile === undefined) throw new UsageError('--nats-key needs --nats-cert (the client certificate)');
  if (caFile === undefined && certFile === undefined) return undefined;
  const tls: NatsTlsOptions = {};
  if (caFile !== undefined) tls.ca = pemOption('ca', 'nats-ca', caFile);
  if (certFile !== undefined && keyFile !== undefined) {
    tls.cert = pemOption('cert', 'nats-cert', certFile);
    tls.key = pemOption('key', 'nats-key', keyFile);
    try {
      checkKeyPair(tls.cert, tls.key, `--nats-cert ${certFile}`, `--nats-key ${keyFile}`);
    } catch (e) {
      throw e instanceof ClusterError ? new CliError(e.message) : e;
    }
  }
  return tls;
}

/**
 * The cluster options of a serve command line (undefined without --nats), and the indexes to load:
 * a sharded folder becomes one index per served shard (see shards.ts).
 */
export function natsOptions(values: Parsed['values'], specs: { name: string; path: string }[]): { options: NodeOptions; indexes: { name: string; path: string }[] } | undefined {
  const servers = str(values, 'nats');
  if (servers === undefined) {
    const stray = Object.keys(NATS_OPTIONS).filter((k) => k !== 'nats' && values[k] !== undefined);
    if (stray.length) throw new UsageError(`--${stray[0]} needs --nats URL`);
    return undefined;
  }
  if (!servers.trim()) throw new UsageError('--nats needs a URL, e.g. nats://127.0.0.1:4222');
  const prefix = str(values, 'nats-prefix');
  if (prefix !== undefined) {
    try {
      checkPrefix(prefix);
    } catch (e) {
      throw new UsageError(`--nats-prefix: ${(e as Error).message}`);
    }
  }
  const creds = str(values, 'nats-creds');
  const tokenFile = str(values, 'nats-token-file');
  if (creds !== undefined && tokenFile !== undefined) throw new UsageError('give --nats-creds or --nats-token-file, not both');
  const tls = natsTls(values);
  const { indexes, sets } = ShardSets.expand(specs, str(values, 'shard'));
  const options: NodeOptions = {
    servers,
    shards: sets,
    credsFile: creds,
    token: creds === undefined ? readNatsToken(tokenFile) : undefined,
    tls,
    prefix,
    timeoutMs: intOption(str(values, 'nats-timeout'), 'nats-timeout', 1, 5000),
    retryAfterMs: intOption(str(values, 'nats-retry'), 'nats-retry', 1, 250),
    nodeName: str(values, 'node-name'),
  };
  return { options, indexes };
}
