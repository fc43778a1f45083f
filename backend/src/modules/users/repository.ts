import { and, asc, count, eq, inArray, isNull, like, or, type SQL } from 'drizzle-orm';
import type { Role } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  devices,
  userQualifications,
  userUnits,
  users,
  webauthnCredentials,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { normaliseEmail } from '../auth/service.ts';
import type { UserDetail, UserSummary } from './schemas.ts';

export type UserRow = typeof users.$inferSelect;

/** @throws AppError USER_NOT_FOUND (also for another tenant's user) */
export async function findUser(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  options: { lock?: boolean } = {},
): Promise<UserRow> {
  const query = db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('USER_NOT_FOUND');
  return row;
}

/**
 * Inserts a user. The email is stored trimmed and lowercased and must be unused across
 * the whole installation (sign-in needs no organisation picker).
 * @throws AppError USER_EMAIL_TAKEN
 */
export async function insertUser(
  tx: DbOrTx,
  tenantId: string,
  input: {
    email: string;
    displayName: string;
    role: Role;
    isSuperadmin?: boolean;
    passwordHash?: string | null;
  },
): Promise<string> {
  const email = normaliseEmail(input.email);
  const [taken] = await tx
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
  if (taken) throw appError('USER_EMAIL_TAKEN');
  const id = newId();
  const now = new Date();
  try {
    await tx.insert(users).values({
      id,
      tenantId,
      email,
      displayName: input.displayName.trim(),
      role: input.role,
      isSuperadmin: input.isSuperadmin ?? false,
      passwordHash: input.passwordHash ?? null,
      createdAt: now,
      updatedAt: now,
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw appError('USER_EMAIL_TAKEN');
    throw error;
  }
  return id;
}

/** The user's current units and qualifications. */
export async function membershipsOf(
  db: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<{ unitIds: string[]; qualificationIds: string[] }> {
  const [unitRows, qualificationRows] = await Promise.all([
    db
      .select({ id: userUnits.unitId })
      .from(userUnits)
      .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.userId, userId))),
    db
      .select({ id: userQualifications.qualificationId })
      .from(userQualifications)
      .where(and(eq(userQualifications.tenantId, tenantId), eq(userQualifications.userId, userId))),
  ]);
  return {
    unitIds: unitRows.map((r) => r.id).sort(),
    qualificationIds: qualificationRows.map((r) => r.id).sort(),
  };
}

export interface SetChange {
  added: string[];
  removed: string[];
}

function diff(current: readonly string[], wanted: readonly string[]): SetChange {
  return {
    added: wanted.filter((id) => !current.includes(id)),
    removed: current.filter((id) => !wanted.includes(id)),
  };
}

/** Replaces the user's units with `unitIds` (already checked to be the tenant's). */
export async function replaceUserUnits(
  tx: DbOrTx,
  tenantId: string,
  userId: string,
  current: readonly string[],
  unitIds: readonly string[],
): Promise<SetChange> {
  const change = diff(current, unitIds);
  if (change.removed.length > 0) {
    await tx
      .delete(userUnits)
      .where(
        and(
          eq(userUnits.tenantId, tenantId),
          eq(userUnits.userId, userId),
          inArray(userUnits.unitId, change.removed),
        ),
      );
  }
  if (change.added.length > 0) {
    await tx.insert(userUnits).values(change.added.map((unitId) => ({ tenantId, userId, unitId })));
  }
  return change;
}

/** Replaces the user's qualifications with `qualificationIds` (already checked). */
export async function replaceUserQualifications(
  tx: DbOrTx,
  tenantId: string,
  userId: string,
  current: readonly string[],
  qualificationIds: readonly string[],
): Promise<SetChange> {
  const change = diff(current, qualificationIds);
  if (change.removed.length > 0) {
    await tx
      .delete(userQualifications)
      .where(
        and(
          eq(userQualifications.tenantId, tenantId),
          eq(userQualifications.userId, userId),
          inArray(userQualifications.qualificationId, change.removed),
        ),
      );
  }
  if (change.added.length > 0) {
    await tx
      .insert(userQualifications)
      .values(change.added.map((qualificationId) => ({ tenantId, userId, qualificationId })));
  }
  return change;
}

/**
 * Active admins of the tenant other than `exceptUserId`, read with a locking read so
 * that two admins demoting each other at the same moment cannot both succeed.
 */
export async function countOtherActiveAdmins(
  tx: DbOrTx,
  tenantId: string,
  exceptUserId: string,
): Promise<number> {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.role, 'admin'), eq(users.active, true)))
    .for('update');
  return rows.filter((r) => r.id !== exceptUserId).length;
}

export interface UserFilter {
  unitId?: string | undefined;
  role?: Role | undefined;
  q?: string | undefined;
  includeInactive?: boolean | undefined;
  /** Let `q` match email addresses too (only for callers allowed to see them). */
  searchEmail: boolean;
}

/** `%`, `_` and `\` in a search term match themselves, not any character. */
function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The tenant's users matching the filter, by display name, with their units and qualifications. */
export async function listUserSummaries(
  db: DbOrTx,
  tenantId: string,
  filter: UserFilter,
): Promise<UserSummary[]> {
  const conditions: (SQL | undefined)[] = [eq(users.tenantId, tenantId)];
  if (!filter.includeInactive) conditions.push(eq(users.active, true));
  if (filter.role) conditions.push(eq(users.role, filter.role));
  const q = filter.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    conditions.push(
      filter.searchEmail
        ? or(like(users.displayName, pattern), like(users.email, pattern))
        : like(users.displayName, pattern),
    );
  }
  if (filter.unitId) {
    conditions.push(
      inArray(
        users.id,
        db
          .select({ id: userUnits.userId })
          .from(userUnits)
          .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.unitId, filter.unitId))),
      ),
    );
  }
  const rows = await db
    .select({
      id: users.id,
      displayName: users.displayName,
      role: users.role,
      active: users.active,
    })
    .from(users)
    .where(and(...conditions))
    .orderBy(asc(users.displayName), asc(users.id));
  if (rows.length === 0) return [];
  // Memberships of the whole tenant in two queries, rather than two per user.
  const [unitRows, qualificationRows] = await Promise.all([
    db
      .select({ userId: userUnits.userId, id: userUnits.unitId })
      .from(userUnits)
      .where(eq(userUnits.tenantId, tenantId)),
    db
      .select({ userId: userQualifications.userId, id: userQualifications.qualificationId })
      .from(userQualifications)
      .where(eq(userQualifications.tenantId, tenantId)),
  ]);
  const group = (list: { userId: string; id: string }[]) => {
    const map = new Map<string, string[]>();
    for (const { userId, id } of list) map.set(userId, [...(map.get(userId) ?? []), id]);
    return map;
  };
  const unitsByUser = group(unitRows);
  const qualificationsByUser = group(qualificationRows);
  return rows.map((row) => ({
    ...row,
    unitIds: (unitsByUser.get(row.id) ?? []).sort(),
    qualificationIds: (qualificationsByUser.get(row.id) ?? []).sort(),
  }));
}

/** @throws AppError USER_NOT_FOUND */
export async function loadUserDetail(
  db: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<UserDetail> {
  const user = await findUser(db, tenantId, userId);
  const [memberships, [passkeys], [activeDevices]] = await Promise.all([
    membershipsOf(db, tenantId, userId),
    db
      .select({ n: count() })
      .from(webauthnCredentials)
      .where(
        and(eq(webauthnCredentials.tenantId, tenantId), eq(webauthnCredentials.userId, userId)),
      ),
    db
      .select({ n: count() })
      .from(devices)
      .where(
        and(eq(devices.tenantId, tenantId), eq(devices.userId, userId), isNull(devices.revokedAt)),
      ),
  ]);
  const passkeyCount = Number(passkeys?.n ?? 0);
  return {
    id: user.id,
    displayName: user.displayName,
    role: user.role,
    active: user.active,
    ...memberships,
    email: user.email,
    totpEnabled: user.totpEnabledAt !== null,
    passkeyCount,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    activeDeviceCount: Number(activeDevices?.n ?? 0),
    invitePending: user.passwordHash === null && passkeyCount === 0,
  };
}
