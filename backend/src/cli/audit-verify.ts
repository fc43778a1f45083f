import { destination, pino } from 'pino';
import { ConfigError, loadConfig } from '../config.ts';
import { DatabaseUnavailableError, resolveDatabase } from '../db/bootstrap.ts';
import { openDatabase, type Db } from '../db/client.ts';
import { auditHeads, tenants } from '../db/schema.ts';
import { dbErrorCode } from '../lib/db-errors.ts';
import { PLATFORM_CHAIN, verifyAuditChain } from '../modules/audit/service.ts';

/**
 * Verifies the audit hash chains: `npm run audit:verify -w backend -- [tenantId|--all]`.
 * Without an argument (or with --all) every chain is checked: every tenant's and the
 * platform chain. Prints one line per chain to stdout.
 * Exit codes: 0 all intact, 1 a chain is broken, 2 usage or configuration error,
 * 3 no database (or no Trupp data in it), 4 unknown tenant.
 */

const USAGE = 'usage: npm run audit:verify -w backend -- [tenantId|--all]';

async function chainsToCheck(
  db: Db,
  selection: string | null,
): Promise<Array<{ id: string; name: string }>> {
  const tenantRows = await db.select({ id: tenants.id, name: tenants.name }).from(tenants);
  const names = new Map(tenantRows.map((t) => [t.id, t.name]));
  if (selection !== null) {
    const known = names.has(selection) || selection === PLATFORM_CHAIN;
    return known ? [{ id: selection, name: names.get(selection) ?? '(platform)' }] : [];
  }
  // Heads cover chains whose tenant is gone (and the platform chain); tenants cover
  // chains with no records yet.
  const heads = await db.select({ id: auditHeads.tenantId }).from(auditHeads);
  const ids = new Set([...names.keys(), ...heads.map((h) => h.id)]);
  return [...ids].sort().map((id) => ({
    id,
    name: names.get(id) ?? (id === PLATFORM_CHAIN ? '(platform)' : '(tenant deleted)'),
  }));
}

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  if (args.length > 1 || args.some((a) => a === '--help' || a === '-h')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const selection = args[0] === undefined || args[0] === '--all' ? null : args[0];
  if (selection !== null && selection.startsWith('-')) {
    process.stderr.write(`unknown option ${selection}\n${USAGE}\n`);
    return 2;
  }

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  // Results go to stdout; the log (database discovery) to stderr.
  const log = pino({ level: config.logLevel }, destination(2));
  let target;
  try {
    target = await resolveDatabase(config.databaseUrl, config.dataDir, log);
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      return 3;
    }
    throw error;
  }
  const database = openDatabase(target.url, 2);
  try {
    let chains;
    try {
      chains = await chainsToCheck(database.db, selection);
    } catch (error) {
      const code = dbErrorCode(error);
      if (code !== 'ER_BAD_DB_ERROR' && code !== 'ER_NO_SUCH_TABLE') throw error;
      process.stderr.write('The database holds no Trupp data yet; start the server once first.\n');
      return 3;
    }
    if (chains.length === 0) {
      process.stderr.write(`There is no tenant with id ${selection}.\n`);
      return 4;
    }
    let broken = 0;
    for (const chain of chains) {
      const result = await verifyAuditChain(database.db, chain.id);
      if (result.ok) {
        process.stdout.write(
          `ok      ${chain.id}  ${chain.name}: ${result.checked} records intact\n`,
        );
      } else {
        broken += 1;
        process.stdout.write(
          `BROKEN  ${chain.id}  ${chain.name}: first broken record seq ${result.firstBrokenSeq} ` +
            `(${result.reason}), ${result.checked} records before it intact\n`,
        );
      }
    }
    process.stdout.write(
      broken === 0
        ? `All ${chains.length} audit chain(s) intact.\n`
        : `${broken} of ${chains.length} audit chain(s) BROKEN.\n`,
    );
    return broken === 0 ? 0 : 1;
  } finally {
    await database.close();
    await target.stop();
  }
}

process.exitCode = await main(process.argv.slice(2));
