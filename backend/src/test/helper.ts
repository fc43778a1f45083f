import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import mysql from 'mysql2/promise';
import { buildApp } from '../app.ts';
import { loadConfig, type Config } from '../config.ts';
import { applyMigrations, openDatabase, type Database } from '../db/client.ts';

/** Server URL of the MariaDB tests run against (root on localhost unless TEST_DATABASE_URL). */
const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/';

export interface TestDatabase {
  name: string;
  url: string;
  database: Database;
  drop(): Promise<void>;
}

/** Creates a fresh, migrated database named `trupp_t_<random>` for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `trupp_t_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: SERVER_URL });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = openDatabase(url.toString(), 5);
  await applyMigrations(database);
  return {
    name,
    url: url.toString(),
    database,
    async drop() {
      await database.close();
      const conn = await mysql.createConnection({ uri: SERVER_URL });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

/**
 * Builds the app against a fresh database. Call in `beforeAll`, `close()` in `afterAll`.
 * `env` overrides configuration variables for this app (e.g. LOGIN_MAX_FAILURES).
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', DEMO_DATA: 'false', ...env });
  const app = await buildApp({ config, database: db.database });
  await app.ready();
  return {
    app,
    db,
    config,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
