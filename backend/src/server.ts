import { pino } from 'pino';
import { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { DatabaseUnavailableError, resolveDatabase } from './db/bootstrap.ts';
import { applyMigrations, createDatabaseIfMissing, openDatabase } from './db/client.ts';
import { ensureInitialData } from './modules/setup/initial-data.ts';

/**
 * The CLI entry: config → database (found or started) → migrations → app → listen.
 * Stops gracefully on SIGTERM/SIGINT: stop accepting, let in-flight requests finish,
 * close sockets, close the pool, stop a private MariaDB we started.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const log = pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'],
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty' } } : {}),
  });

  let target;
  try {
    target = await resolveDatabase(config.databaseUrl, config.dataDir, log);
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(3);
    }
    throw error;
  }

  await createDatabaseIfMissing(target.url);
  const database = openDatabase(target.url);
  await applyMigrations(database);
  // Demo data or a first-admin setup link, only while no user exists; the text holds a
  // credential, so it goes to the terminal rather than into the log.
  const initial = await ensureInitialData({ database, config }, (text) =>
    process.stdout.write(text),
  );
  log.info({ initialData: initial.kind }, 'initial data checked');
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false }) : null;

  const app = await buildApp({ config, database, redis, loggerInstance: log });
  await app.listen({ host: config.host, port: config.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    try {
      await app.close();
      await database.close();
      redis?.disconnect();
      await target.stop();
    } finally {
      clearTimeout(force);
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
