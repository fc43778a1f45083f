import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import {
  applyMigrations,
  createDatabaseIfMissing,
  migrationsApplied,
  openDatabase,
} from './client.ts';
import { DatabaseUnavailableError, resolveDatabase } from './bootstrap.ts';

const log = pino({ level: 'silent' });
/** A port where no MariaDB answers, so the local-root probe fails. */
const NOBODY = 'mysql://root@127.0.0.1:1/trupp';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('finding the database', () => {
  it('uses the local MariaDB when it answers', async () => {
    const target = await resolveDatabase(null, '/nonexistent', log);
    expect(target.url).toBe('mysql://root@127.0.0.1:3306/trupp');
  });

  it('refuses a DATABASE_URL that does not answer, in one sentence', async () => {
    await expect(resolveDatabase(NOBODY, '/nonexistent', log)).rejects.toThrow(
      /DATABASE_URL does not answer/,
    );
  });

  it('names the package to install when there is no server at all', async () => {
    const error = await resolveDatabase(null, '/nonexistent', log, {
      localRootUrl: NOBODY,
      binDirs: ['/nonexistent'],
      usePath: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toContain('apt-get install mariadb-server');
    expect((error as Error).message).toContain('DATABASE_URL');
  });

  it('starts, migrates and stops a private MariaDB when only the binaries are installed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trupp-private-db-'));
    dirs.push(dataDir);
    const target = await resolveDatabase(null, dataDir, log, { localRootUrl: NOBODY });
    try {
      expect(target.url).toContain('socketPath=');
      await createDatabaseIfMissing(target.url);
      const database = openDatabase(target.url, 2);
      await applyMigrations(database);
      expect(await migrationsApplied(database)).toBe(true);
      await database.close();
    } finally {
      await target.stop();
    }
    // Stopped: the socket no longer answers.
    const socketPath = decodeURIComponent(/socketPath=([^&]+)/.exec(target.url)![1]!);
    await expect(mysql.createConnection({ socketPath, user: 'root' })).rejects.toThrow();
  }, 120_000);
});
