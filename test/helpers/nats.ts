// A real nats-server (the Debian package's binary) for the cluster tests and benchmark: started on
// loopback with a port of its own choosing, stopped or killed on demand, restarted on the same port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nats-server binary: $ANNOY_TS_NATS_SERVER, Debian's /usr/sbin/nats-server, or one on PATH. */
export function natsServerPath(): string | null {
  const env = process.env.ANNOY_TS_NATS_SERVER;
  if (env) return existsSync(env) ? env : null;
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : null;
}

export interface NatsOptions {
  maxPayload?: number;
  token?: string;
  /** A fixed port (to restart a server where clients expect it); default: a free one. */
  port?: number;
  /** TLS for clients (PEM files): the server's certificate and key; with `verify`, clients need a certificate signed by `ca`. */
  tls?: { cert: string; key: string; ca?: string; verify?: boolean };
}

export interface NatsServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/** Starts nats-server on 127.0.0.1 and waits until it accepts clients. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const bin = natsServerPath();
  if (!bin) throw new Error('nats-server is not installed (apt-get install nats-server, or set ANNOY_TS_NATS_SERVER)');
  const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-nats-'));
  const conf = join(dir, 'nats.conf');
  const lines = ['host: 127.0.0.1', `port: ${options.port ?? -1}`];
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.token !== undefined) lines.push(`authorization { token: "${options.token}" }`);
  if (options.tls !== undefined) {
    const { cert, key, ca, verify } = options.tls;
    lines.push('tls {', `  cert_file: ${JSON.stringify(cert)}`, `  key_file: ${JSON.stringify(key)}`);
    if (ca !== undefined) lines.push(`  ca_file: ${JSON.stringify(ca)}`);
    if (verify) lines.push('  verify: true');
    lines.push('}');
  }
  writeFileSync(conf, lines.join('\n') + '\n');
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10_000);
    child.stderr!.on('data', (d) => {
      log += d;
      const m = /Listening for client connections on [\d.]+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => reject(new Error(`nats-server exited: ${log}`)));
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `${options.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`, port, child, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
