import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../../backend/src/test/helper.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  database: TestDatabase;
  /** Everything the server printed to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, wait for exit, drop the database; resolves with the exit code. */
  stop(): Promise<number | null>;
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

/**
 * Starts the real backend (`tsx backend/src/server.ts`) as its own process against a
 * fresh database on a free port, and waits until /readyz answers 200.
 */
export async function startServer(
  options: {
    env?: Record<string, string>;
    /** 'npm-start' runs scripts/start.mjs exactly as `npm start` does. */
    via?: 'backend' | 'npm-start';
    /** Host name in the public URL; WebAuthn needs a domain such as 'localhost', not an IP. */
    hostname?: string;
  } = {},
): Promise<RunningServer> {
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://${options.hostname ?? '127.0.0.1'}:${port}`;
  let out = '';
  let err = '';
  const [command, args] =
    options.via === 'npm-start'
      ? [process.execPath, [join(repoRoot, 'scripts/start.mjs')]]
      : [join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'backend/src/server.ts')]];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      ...options.env,
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATA_DIR: join(repoRoot, '.data/test'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await database.drop();
      throw new Error(`server exited with ${child.exitCode}:\n${out}\n${err}`);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await database.drop();
      throw new Error(`server not ready within 60 s:\n${out}\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  let stopped: Promise<number | null> | null = null;
  return {
    url,
    port,
    process: child,
    database,
    stdout: () => out,
    stderr: () => err,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        const code = await exited;
        await database.drop();
        return code;
      })();
      return stopped;
    },
  };
}
