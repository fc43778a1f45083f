import { and, asc, count, eq } from 'drizzle-orm';
import { MFA_REQUIRED_ROLES, PERMISSIONS, roleHas } from '@trupp/shared';
import type { Config } from '../../config.ts';
import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import {
  devices,
  qualifications,
  tenants,
  units,
  userQualifications,
  userUnits,
  users,
  webauthnCredentials,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { assertPasswordStrength, hashPassword, verifyPassword } from '../auth/passwords.ts';
import { assertNotLocked, recordLoginFailure } from '../auth/throttle.ts';
import {
  consumeTotpCode,
  deleteRecoveryCodes,
  matchTotpCode,
  newTotpSecret,
  replaceRecoveryCodes,
  totpProvisioning,
} from '../auth/totp.ts';
import { recordAudit } from '../audit/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import type { Me } from './schemas.ts';

export interface MeDeps {
  db: Db;
  bus: DomainBus;
  config: Config;
}

/** The signed-in caller as an audit actor. */
function actorOf(auth: AuthContext, ip: string) {
  return { userId: auth.userId, deviceId: auth.deviceId, ip };
}

/**
 * The signed-in user's own account with everything the webapp needs at start: tenant
 * name, units, qualifications, second-factor state and the permissions of the role.
 * @throws AppError USER_NOT_FOUND
 */
export async function loadMe(db: DbOrTx, tenantId: string, userId: string): Promise<Me> {
  const [row] = await db
    .select({ user: users, tenantName: tenants.name })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)))
    .limit(1);
  if (!row) throw appError('USER_NOT_FOUND');
  const [unitRows, qualificationRows, [passkeys]] = await Promise.all([
    db
      .select({ id: units.id, name: units.name })
      .from(userUnits)
      .innerJoin(units, and(eq(units.id, userUnits.unitId), eq(units.tenantId, tenantId)))
      .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.userId, userId)))
      .orderBy(asc(units.name)),
    db
      .select({ id: qualifications.id, name: qualifications.name })
      .from(userQualifications)
      .innerJoin(
        qualifications,
        and(
          eq(qualifications.id, userQualifications.qualificationId),
          eq(qualifications.tenantId, tenantId),
        ),
      )
      .where(and(eq(userQualifications.tenantId, tenantId), eq(userQualifications.userId, userId)))
      .orderBy(asc(qualifications.name)),
    db
      .select({ n: count() })
      .from(webauthnCredentials)
      .where(
        and(eq(webauthnCredentials.tenantId, tenantId), eq(webauthnCredentials.userId, userId)),
      ),
  ]);
  const { user } = row;
  return {
    id: user.id,
    tenantId: user.tenantId,
    tenantName: row.tenantName,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    isSuperadmin: user.isSuperadmin,
    locale: user.locale,
    totpEnabled: user.totpEnabledAt !== null,
    passkeyCount: Number(passkeys?.n ?? 0),
    units: unitRows,
    qualifications: qualificationRows,
    permissions: PERMISSIONS.filter((permission) => roleHas(user.role, permission)),
  };
}

/** Locks and returns the caller's user row for an account change. */
async function lockUser(tx: Tx, auth: AuthContext) {
  const [user] = await tx
    .select()
    .from(users)
    .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, auth.userId)))
    .for('update');
  if (!user) throw appError('USER_NOT_FOUND');
  return user;
}

/**
 * Changes the caller's display name and/or language. The display name is directory
 * data, so the directory version is bumped and clients are told to sync.
 */
export async function updateMe(
  deps: MeDeps,
  auth: AuthContext,
  patch: { displayName?: string | undefined; locale?: string | null | undefined },
): Promise<Me> {
  const changes: Partial<typeof users.$inferInsert> = {};
  if (patch.displayName !== undefined) {
    const displayName = patch.displayName.trim();
    if (displayName === '') throw appError('VALIDATION_FAILED', 'The name must not be empty.');
    changes.displayName = displayName;
  }
  if (patch.locale !== undefined) changes.locale = patch.locale;
  if (Object.keys(changes).length > 0) {
    await deps.db.transaction(async (tx) => {
      // Tenant row first, then user row: the same lock order as the directory services,
      // so an admin editing this user at the same moment cannot deadlock with us.
      await bumpDirectoryVersion(tx, auth.tenantId);
      await lockUser(tx, auth);
      await tx
        .update(users)
        .set({ ...changes, updatedAt: new Date() })
        .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, auth.userId)));
    });
    deps.bus.emit('user.changed', { tenantId: auth.tenantId, userId: auth.userId });
    deps.bus.emit('directory.changed', { tenantId: auth.tenantId });
  }
  return loadMe(deps.db, auth.tenantId, auth.userId);
}

/**
 * Changes the caller's password after checking the current one. Wrong current passwords
 * count towards the sign-in lockout, so a stolen session cannot guess it.
 * @throws AppError AUTH_LOCKED, AUTH_WEAK_PASSWORD, AUTH_INVALID_CREDENTIALS
 */
export async function changePassword(
  deps: MeDeps,
  auth: AuthContext,
  input: { currentPassword: string; newPassword: string },
  ip: string,
): Promise<void> {
  const [user] = await deps.db
    .select({ email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, auth.userId)));
  if (!user) throw appError('USER_NOT_FOUND');
  const subject = { email: user.email, ip };
  await assertNotLocked(deps.db, deps.config, subject);
  assertPasswordStrength(input.newPassword);
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
    await recordLoginFailure(deps.db, deps.config, subject);
    throw appError('AUTH_INVALID_CREDENTIALS');
  }
  const passwordHash = await hashPassword(input.newPassword);
  await deps.db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, auth.userId)));
    await recordAudit(tx, auth.tenantId, {
      action: 'auth.password_changed',
      actor: actorOf(auth, ip),
      target: { type: 'user', id: auth.userId },
    });
  });
}

/**
 * Starts TOTP enrolment: a new secret (replacing an unconfirmed one) that becomes active
 * only when a code from it is confirmed.
 * @throws AppError AUTH_MFA_ALREADY_ENROLLED
 */
export async function enrolTotp(
  deps: MeDeps,
  auth: AuthContext,
): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }> {
  const secret = newTotpSecret();
  const email = await deps.db.transaction(async (tx) => {
    const user = await lockUser(tx, auth);
    if (user.totpEnabledAt) throw appError('AUTH_MFA_ALREADY_ENROLLED');
    await tx
      .update(users)
      .set({ totpSecret: secret, totpLastStep: null })
      .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, user.id)));
    return user.email;
  });
  return { secret, ...(await totpProvisioning(email, secret)) };
}

/**
 * Activates TOTP with a first code, issues fresh recovery codes and lifts the
 * enrolment requirement from all of the user's devices.
 * @throws AppError AUTH_MFA_ALREADY_ENROLLED, AUTH_MFA_NOT_ENROLLED, AUTH_MFA_INVALID
 */
export async function confirmTotp(
  deps: MeDeps,
  auth: AuthContext,
  code: string,
  ip: string,
): Promise<string[]> {
  const codes = await deps.db.transaction(async (tx) => {
    const user = await lockUser(tx, auth);
    if (user.totpEnabledAt) throw appError('AUTH_MFA_ALREADY_ENROLLED');
    if (!user.totpSecret) throw appError('AUTH_MFA_NOT_ENROLLED');
    const step = await matchTotpCode(user.totpSecret, user.totpLastStep, code);
    if (step === null) throw appError('AUTH_MFA_INVALID');
    await tx
      .update(users)
      .set({ totpEnabledAt: new Date(), totpLastStep: step })
      .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, user.id)));
    const recovery = await replaceRecoveryCodes(tx, auth.tenantId, auth.userId);
    await tx
      .update(devices)
      .set({ mfaEnrolmentPending: false })
      .where(and(eq(devices.tenantId, auth.tenantId), eq(devices.userId, auth.userId)));
    await recordAudit(tx, auth.tenantId, {
      action: 'auth.totp_enabled',
      actor: actorOf(auth, ip),
      target: { type: 'user', id: auth.userId },
    });
    return recovery;
  });
  deps.bus.emit('user.changed', { tenantId: auth.tenantId, userId: auth.userId });
  return codes;
}

/**
 * Switches TOTP off (secret and recovery codes are deleted), confirmed by a current code.
 * @throws AppError AUTH_MFA_ROLE_REQUIRES (admin, dispatcher), AUTH_MFA_NOT_ENROLLED, AUTH_MFA_INVALID
 */
export async function disableTotp(
  deps: MeDeps,
  auth: AuthContext,
  code: string,
  ip: string,
): Promise<void> {
  if (MFA_REQUIRED_ROLES.includes(auth.role)) throw appError('AUTH_MFA_ROLE_REQUIRES');
  await deps.db.transaction(async (tx) => {
    const user = await lockUser(tx, auth);
    if (!user.totpEnabledAt) throw appError('AUTH_MFA_NOT_ENROLLED');
    if (!(await consumeTotpCode(tx, user, code))) throw appError('AUTH_MFA_INVALID');
    await tx
      .update(users)
      .set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null })
      .where(and(eq(users.tenantId, auth.tenantId), eq(users.id, user.id)));
    await deleteRecoveryCodes(tx, auth.tenantId, auth.userId);
    await recordAudit(tx, auth.tenantId, {
      action: 'auth.totp_disabled',
      actor: actorOf(auth, ip),
      target: { type: 'user', id: auth.userId },
    });
  });
  deps.bus.emit('user.changed', { tenantId: auth.tenantId, userId: auth.userId });
}

/**
 * New recovery codes for the caller, confirmed by a current TOTP code; the old ones die.
 * @throws AppError AUTH_MFA_NOT_ENROLLED, AUTH_MFA_INVALID
 */
export async function regenerateRecoveryCodes(
  deps: MeDeps,
  auth: AuthContext,
  code: string,
  ip: string,
): Promise<string[]> {
  return deps.db.transaction(async (tx) => {
    const user = await lockUser(tx, auth);
    if (!user.totpEnabledAt) throw appError('AUTH_MFA_NOT_ENROLLED');
    if (!(await consumeTotpCode(tx, user, code))) throw appError('AUTH_MFA_INVALID');
    const codes = await replaceRecoveryCodes(tx, auth.tenantId, auth.userId);
    await recordAudit(tx, auth.tenantId, {
      action: 'auth.recovery_codes_regenerated',
      actor: actorOf(auth, ip),
      target: { type: 'user', id: auth.userId },
    });
    return codes;
  });
}
