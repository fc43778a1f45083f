import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

/**
 * The system under test as real processes: a fresh database on the MariaDB server and
 * the backend as its own node process. The backend is started as `node --import tsx
 * backend/src/server.ts` — not through the `tsx` CLI, which would put a wrapper process
 * in between — so `kill('SIGKILL')` kills the process that holds the sockets.
 */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** MariaDB server benchmarks and kill tests create their databases on. */
export const DEFAULT_DATABASE_SERVER = 'mysql://root@127.0.0.1:3306/';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A database that does not exist yet; the backend creates and migrates it on start.
 * `drop()` removes it (idempotent).
 */
export function scratchDatabase(
  serverUrl = DEFAULT_DATABASE_SERVER,
  prefix = 'trupp_b',
): ScratchDatabase {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | null = null;
  return {
    name,
    url: url.toString(),
    drop() {
      dropped ??= (async () => {
        const conn = await mysql.createConnection({ uri: serverUrl });
        try {
          await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
        } finally {
          await conn.end();
        }
      })();
      return dropped;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** True when nothing accepts connections on the port any more. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface BackendProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for the graceful shutdown (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL the server process itself and wait until it is gone. */
  kill(): Promise<void>;
}

export interface BackendOptions {
  databaseUrl: string;
  /** Defaults to a free port; pass the old port to restart "the same" server. */
  port?: number;
  env?: Record<string, string>;
  /** Extra node options for the server process, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/**
 * Starts the backend against `databaseUrl` (created and migrated by the server itself if
 * missing) and waits for /readyz. DATABASE_URL is always set, so the server never starts
 * a private MariaDB that could outlive a SIGKILL; REDIS_URL is empty unless given.
 */
export async function startBackend(options: BackendOptions): Promise<BackendProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  let err = '';
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', join(repoRoot, 'backend/src/server.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        DEMO_DATA: 'false',
        REDIS_URL: '',
        ...options.env,
        DATABASE_URL: options.databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        DATA_DIR: join(repoRoot, '.data/bench'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (gone())
      throw new Error(`server exited with ${child.exitCode ?? child.signalCode}:\n${out}\n${err}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`server not ready in time:\n${out}\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    port,
    pid: child.pid!,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    async stop(graceMs = 15_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resident memory of a process in bytes (VmRSS), or null when it cannot be read. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far (Linux clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
