import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';

/** What the server connects to, and how to stop it if we started it. */
export interface DatabaseTarget {
  url: string;
  /** Stops the private MariaDB we started; a no-op otherwise. */
  stop(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {}

const LOCAL_ROOT_URL = 'mysql://root@127.0.0.1:3306/trupp';

/**
 * Finds the database to use, in this order:
 * 1. DATABASE_URL when set (must answer).
 * 2. MariaDB on 127.0.0.1:3306 as root without password.
 * 3. A private MariaDB under `<dataDir>/mariadb` on a Unix socket, initialised on first
 *    run with mariadb-install-db, started now and stopped with the app.
 * @throws DatabaseUnavailableError with one sentence saying what to install or set.
 */
export async function resolveDatabase(
  databaseUrl: string | null,
  dataDir: string,
  log: Logger,
  /** For tests: where to look for a local server and for the MariaDB binaries. */
  probe: { localRootUrl?: string; binDirs?: string[]; usePath?: boolean } = {},
): Promise<DatabaseTarget> {
  const localRootUrl = probe.localRootUrl ?? LOCAL_ROOT_URL;
  const binDirs = probe.binDirs ?? ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
  const usePath = probe.usePath ?? true;
  const noop = async () => {};
  if (databaseUrl) {
    if (!(await answers(databaseUrl))) {
      throw new DatabaseUnavailableError(
        `The database at DATABASE_URL does not answer; check that it runs and the URL is right.`,
      );
    }
    return { url: databaseUrl, stop: noop };
  }
  if (await answers(localRootUrl)) {
    log.info('using MariaDB on 127.0.0.1:3306 (database "trupp")');
    return { url: localRootUrl, stop: noop };
  }
  const mariadbd = findBinary(['mariadbd', 'mysqld'], binDirs, usePath);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db'], binDirs, usePath);
  if (!mariadbd || !installDb) {
    throw new DatabaseUnavailableError(
      'No database found: install MariaDB (`apt-get install mariadb-server`) or set DATABASE_URL=mysql://user:password@host:3306/trupp.',
    );
  }
  return startPrivateMariadb(mariadbd, installDb, join(dataDir, 'mariadb'), log);
}

async function answers(url: string): Promise<boolean> {
  const parsed = new URL(url.replace(/^mariadb:/, 'mysql:'));
  parsed.pathname = '/';
  try {
    const conn = await mysql.createConnection({ uri: parsed.toString(), connectTimeout: 2000 });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

function findBinary(names: string[], dirs: string[], usePath: boolean): string | null {
  for (const dir of dirs)
    for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  if (!usePath) return null;
  for (const name of names) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  return null;
}

async function startPrivateMariadb(
  mariadbd: string,
  installDb: string,
  dir: string,
  log: Logger,
): Promise<DatabaseTarget> {
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ['--user=root'] : [];
  if (!existsSync(join(dataDir, 'mysql'))) {
    log.info({ dataDir }, 'initialising a private MariaDB (first start)');
    mkdirSync(dataDir, { recursive: true });
    const init = spawnSync(
      installDb,
      [
        // The system's my.cnf (user=mysql, its own datadir) must not leak into a private instance.
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        ...userArgs,
      ],
      { encoding: 'utf8' },
    );
    if (init.status !== 0) {
      throw new DatabaseUnavailableError(
        `mariadb-install-db failed (${init.stderr.trim().split('\n').pop()}); remove ${dataDir} and try again.`,
      );
    }
  }
  log.info({ socket }, 'starting a private MariaDB');
  const child: ChildProcess = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      '--skip-networking',
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      `--log-error=${join(dir, 'mariadb.err')}`,
      ...userArgs,
    ],
    { stdio: 'ignore' },
  );
  const url = `mysql://root@localhost/trupp?socketPath=${encodeURIComponent(socket)}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new DatabaseUnavailableError(
        `The private MariaDB exited at start; see ${join(dir, 'mariadb.err')}.`,
      );
    }
    try {
      const conn = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await conn.end();
      return {
        url,
        async stop() {
          if (child.exitCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        },
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  child.kill('SIGKILL');
  throw new DatabaseUnavailableError(
    `The private MariaDB did not start within 30 s; see ${join(dir, 'mariadb.err')}.`,
  );
}
