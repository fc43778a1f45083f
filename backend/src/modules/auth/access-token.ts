import { eq } from 'drizzle-orm';
import type { Role } from '@trupp/shared';
import type { Db } from '../../db/client.ts';
import { devices, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { sha256Hex } from '../../lib/tokens.ts';

/** Who is calling: the signed-in user on one of their devices. */
export interface AuthContext {
  tenantId: string;
  userId: string;
  deviceId: string;
  role: Role;
  isSuperadmin: boolean;
  /** Signed in but must enrol TOTP first; only enrolment and own-account reads are allowed. */
  mfaEnrolmentPending: boolean;
  accessExpiresAt: Date;
}

/** How often a device's `lastSeenAt` is written at most (one write per minute, not per request). */
const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * Resolves an opaque access token to its device and user. The device row is read on
 * every call so that a revocation takes effect at once, on every node.
 * @throws AppError AUTH_TOKEN_INVALID, AUTH_TOKEN_EXPIRED, DEVICE_REVOKED (details: { wipe })
 */
export async function authenticateAccessToken(
  db: Db,
  token: string,
  ip: string | null = null,
): Promise<AuthContext> {
  if (token.length < 20 || token.length > 200) throw appError('AUTH_TOKEN_INVALID');
  const hash = sha256Hex(token);
  const [row] = await db
    .select({
      deviceId: devices.id,
      tenantId: devices.tenantId,
      userId: devices.userId,
      accessExpiresAt: devices.accessExpiresAt,
      revokedAt: devices.revokedAt,
      wipeRequested: devices.wipeRequested,
      mfaEnrolmentPending: devices.mfaEnrolmentPending,
      lastSeenAt: devices.lastSeenAt,
      role: users.role,
      isSuperadmin: users.isSuperadmin,
      active: users.active,
    })
    .from(devices)
    .innerJoin(users, eq(users.id, devices.userId))
    .where(eq(devices.accessHash, hash))
    .limit(1);
  if (!row) throw appError('AUTH_TOKEN_INVALID');
  if (row.revokedAt) {
    throw appError('DEVICE_REVOKED', undefined, { wipe: row.wipeRequested });
  }
  if (!row.active) throw appError('AUTH_TOKEN_INVALID');
  if (!row.accessExpiresAt || row.accessExpiresAt.getTime() <= Date.now()) {
    throw appError('AUTH_TOKEN_EXPIRED');
  }
  if (Date.now() - row.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await db
      .update(devices)
      .set({ lastSeenAt: new Date(), ...(ip ? { lastIp: ip } : {}) })
      .where(eq(devices.id, row.deviceId));
  }
  return {
    tenantId: row.tenantId,
    userId: row.userId,
    deviceId: row.deviceId,
    role: row.role,
    isSuperadmin: row.isSuperadmin,
    mfaEnrolmentPending: row.mfaEnrolmentPending,
    accessExpiresAt: row.accessExpiresAt,
  };
}

/** The token of a revoked device still identifies it, so the client can be told to wipe. */
export async function findDeviceByAccessToken(db: Db, token: string) {
  const [row] = await db
    .select({ id: devices.id, tenantId: devices.tenantId, userId: devices.userId })
    .from(devices)
    .where(eq(devices.accessHash, sha256Hex(token)))
    .limit(1);
  return row ?? null;
}
