import { createHash, randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

/**
 * Seeds a tenant with one unit of `members` members, each with one signed-in device,
 * plus a dispatcher with a device — written straight into the database in bulk, the way
 * `backend/src/test/factories.ts` `createDeviceSession` mints a session: a random access
 * token of which only the SHA-256 hash is stored. Nobody signs in with a password, so no
 * argon2; the dispatcher has TOTP enabled, so their session is not "MFA enrolment pending".
 */
export interface SeededDevice {
  userId: string;
  deviceId: string;
  accessToken: string;
}

export interface Fleet {
  tenantId: string;
  unitId: string;
  dispatcher: SeededDevice;
  /** Every dispatcher (the first is `dispatcher`); one unless asked for more. */
  dispatchers: SeededDevice[];
  members: SeededDevice[];
}

const ROWS_PER_INSERT = 1000;
/** Long enough for any run; the bench and the kill test finish well inside it. */
const ACCESS_TTL_MS = 6 * 3_600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const token = () => randomBytes(32).toString('base64url');

async function insertMany(
  conn: mysql.Connection,
  table: string,
  columns: string[],
  rows: unknown[][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await conn.query(
      `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES ?`,
      [rows.slice(i, i + ROWS_PER_INSERT)],
    );
  }
}

/** @param databaseUrl a migrated Trupp database */
export async function seedFleet(
  databaseUrl: string,
  members: number,
  options: { dispatchers?: number } = {},
): Promise<Fleet> {
  const conn = await mysql.createConnection({ uri: databaseUrl, timezone: 'Z' });
  try {
    const now = new Date();
    const expires = new Date(now.getTime() + ACCESS_TTL_MS);
    const tag = randomBytes(4).toString('hex');
    const tenantId = randomUUID();
    const unitId = randomUUID();
    await conn.query(
      'INSERT INTO tenants (id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      [tenantId, `Load test ${tag}`, `load-${tag}`, now, now],
    );
    await conn.query(
      'INSERT INTO units (id, tenant_id, parent_id, name, kind, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?, ?)',
      [unitId, tenantId, 'All members', 'station', now, now],
    );

    const dispatchers = Math.max(1, options.dispatchers ?? 1);
    const people: Array<{ device: SeededDevice; role: 'dispatcher' | 'member' }> = [];
    for (let i = 0; i < dispatchers; i++) {
      people.push({
        device: { userId: randomUUID(), deviceId: randomUUID(), accessToken: token() },
        role: 'dispatcher',
      });
    }
    for (let i = 0; i < members; i++) {
      people.push({
        device: { userId: randomUUID(), deviceId: randomUUID(), accessToken: token() },
        role: 'member',
      });
    }
    await insertMany(
      conn,
      'users',
      [
        'id',
        'tenant_id',
        'email',
        'display_name',
        'role',
        'active',
        'totp_secret',
        'totp_enabled_at',
        'created_at',
        'updated_at',
      ],
      people.map(({ device, role }, i) => [
        device.userId,
        tenantId,
        `${role}.${i}.${tag}@load.example`,
        `${role === 'member' ? 'Member' : 'Dispatcher'} ${i}`,
        role,
        true,
        // A secret nobody uses: only "enabled" matters, so the session is a full one.
        role === 'dispatcher' ? 'JBSWY3DPEHPK3PXP' : null,
        role === 'dispatcher' ? now : null,
        now,
        now,
      ]),
    );
    await insertMany(
      conn,
      'user_units',
      ['tenant_id', 'user_id', 'unit_id'],
      people
        .filter((p) => p.role === 'member')
        .map(({ device }) => [tenantId, device.userId, unitId]),
    );
    await insertMany(
      conn,
      'devices',
      [
        'id',
        'tenant_id',
        'user_id',
        'name',
        'user_agent',
        'access_hash',
        'access_expires_at',
        'refresh_hash',
        'refresh_expires_at',
        'last_seen_at',
        'last_ip',
        'created_at',
      ],
      people.map(({ device }) => [
        device.deviceId,
        tenantId,
        device.userId,
        'Load test device',
        'trupp-load-tests',
        sha256(device.accessToken),
        expires,
        sha256(token()),
        expires,
        // Seen just now: authenticating does not write last_seen_at during the run.
        now,
        '127.0.0.1',
        now,
      ]),
    );
    return {
      tenantId,
      unitId,
      dispatcher: people[0]!.device,
      dispatchers: people.slice(0, dispatchers).map((p) => p.device),
      members: people.slice(dispatchers).map((p) => p.device),
    };
  } finally {
    await conn.end();
  }
}
