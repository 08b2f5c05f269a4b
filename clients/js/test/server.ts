// Starts a real `signalink serve` for the integration tests: free ports, a
// temporary SQLite database, stop and restart on the same ports and data.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SIGNALINK_BIN = process.env['SIGNALINK_BIN'] ?? '/work/main/build/release/signalink';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export interface Server {
  readonly apiUrl: string;
  readonly wsUrl: string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  /** Start again on the same ports and database. */
  restart(): Promise<void>;
  /** Stop (if running) and remove the data directory. */
  dispose(): Promise<void>;
}

export async function startServer(extraEnv: Record<string, string> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'signalink-client-'));
  const [api, ws, analytics, notifier] = await freePorts(4);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    API_PORT: String(api),
    WS_PORT: String(ws),
    ANALYTICS_PORT: String(analytics),
    NOTIFIER_PORT: String(notifier),
    DATABASE_URL: `sqlite:///${join(dir, 'db.sqlite')}`,
    SECRET_KEY: 'client-tests-secret-key-0123456789abcdef',
    RATE_LIMIT_ENABLED: 'false',
    PASSWORD_HASH_COST: 'fast',
    LOG_LEVEL: 'warning',
    ...extraEnv,
  };
  const apiUrl = `http://127.0.0.1:${api}`;
  const gatewayHttp = `http://127.0.0.1:${ws}`;
  let child: ChildProcess | null = null;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const proc = spawn(SIGNALINK_BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    // A test run that dies half-way must not leave servers behind.
    const killOnExit = (): void => {
      proc.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await healthy(`${apiUrl}/health`)) || !(await healthy(`${gatewayHttp}/health`))) {
      if (proc.exitCode !== null) throw new Error(`signalink exited with ${proc.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`signalink not healthy after ${START_TIMEOUT_MS} ms:\n${output}`);
      await sleep(50);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    apiUrl,
    wsUrl: `ws://127.0.0.1:${ws}/ws`,
    stop,
    restart: launch,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    return res.ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Ports the kernel hands out for port 0, released at once for the server to
// take; all held together so that they differ.
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve, reject) => {
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => {
            const addr = s.address();
            if (addr === null || typeof addr === 'string') reject(new Error('no port'));
            else resolve(addr.port);
          });
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
