import { and, eq, isNull } from 'drizzle-orm';
import { MFA_REQUIRED_ROLES } from '@trupp/shared';
import type { Config } from '../../config.ts';
import type { Db, Tx } from '../../db/client.ts';
import { devices, users, webauthnCredentials } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { deleteRecoveryCodes } from '../auth/totp.ts';
import { revokeAllDevicesOfUser } from '../devices/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import { INVITE_TTL_MS, deleteUnusedLinksOfUser, issueLink, linkUrl } from '../links/repository.ts';
import { assertQualificationsInTenant } from '../qualifications/repository.ts';
import { findTenant } from '../tenants/repository.ts';
import { assertUnitsInTenant } from '../units/repository.ts';
import {
  countOtherActiveAdmins,
  findUser,
  insertUser,
  loadUserDetail,
  membershipsOf,
  replaceUserQualifications,
  replaceUserUnits,
} from './repository.ts';
import type { UserCreateBody, UserDetail, UserPatchBody } from './schemas.ts';

export interface UserDeps {
  db: Db;
  bus: DomainBus;
  config: Pick<Config, 'publicUrl'>;
}

/** An admin acting on the directory. */
export type Actor = AuditActor & { userId: string };

/*
 * Lock order in every directory change: the tenant row first (the directory's mutex),
 * then user rows, then the audit head (recordAudit). One order everywhere means two
 * admins changing each other at the same moment wait for each other instead of
 * deadlocking, and rules such as "keep one admin" are checked against committed data.
 */

/**
 * An admin reads another account's private details (email, security state). Such reads
 * are audited as `user.read`.
 * @throws AppError USER_NOT_FOUND
 */
export async function readUserDetail(
  db: Db,
  tenantId: string,
  actor: Actor,
  userId: string,
): Promise<UserDetail> {
  const detail = await loadUserDetail(db, tenantId, userId);
  await recordAudit(db, tenantId, {
    action: 'user.read',
    actor,
    target: { type: 'user', id: userId },
  });
  return detail;
}

/**
 * Creates a user without a password, with units and qualifications, and an invitation
 * link valid for seven days through which they set one.
 * @throws AppError USER_EMAIL_TAKEN, UNIT_NOT_FOUND, QUALIFICATION_NOT_FOUND
 */
export async function createUser(
  deps: UserDeps,
  tenantId: string,
  actor: Actor,
  input: UserCreateBody,
): Promise<{ user: UserDetail; inviteUrl: string }> {
  const { userId, token } = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const unitIds = await assertUnitsInTenant(tx, tenantId, input.unitIds ?? []);
    const qualificationIds = await assertQualificationsInTenant(
      tx,
      tenantId,
      input.qualificationIds ?? [],
    );
    const userId = await insertUser(tx, tenantId, {
      email: input.email,
      displayName: input.displayName,
      role: input.role,
    });
    await replaceUserUnits(tx, tenantId, userId, [], unitIds);
    await replaceUserQualifications(tx, tenantId, userId, [], qualificationIds);
    const token = await issueLink(tx, {
      tenantId,
      userId,
      purpose: 'invite',
      ttlMs: INVITE_TTL_MS,
      createdBy: actor.userId,
    });
    await bumpDirectoryVersion(tx, tenantId);
    const target = { type: 'user', id: userId };
    await recordAudit(tx, tenantId, {
      action: 'user.created',
      actor,
      target,
      details: { role: input.role, unitIds, qualificationIds },
    });
    await recordAudit(tx, tenantId, { action: 'user.invited', actor, target });
    return { userId, token };
  });
  deps.bus.emit('user.changed', { tenantId, userId });
  deps.bus.emit('directory.changed', { tenantId });
  return {
    user: await loadUserDetail(deps.db, tenantId, userId),
    inviteUrl: linkUrl(deps.config.publicUrl, token),
  };
}

/**
 * Changes a user's name, role, units, qualifications or active state. Deactivating
 * signs out every device of the user with a wipe; promoting a user without TOTP to a
 * role that requires it makes their signed-in devices enrol it before anything else.
 * @throws AppError USER_NOT_FOUND, USER_SELF_CHANGE_FORBIDDEN (own role, own
 *   deactivation), USER_LAST_ADMIN, UNIT_NOT_FOUND, QUALIFICATION_NOT_FOUND
 */
export async function updateUser(
  deps: UserDeps,
  tenantId: string,
  actor: Actor,
  userId: string,
  patch: UserPatchBody,
): Promise<UserDetail> {
  const outcome = await deps.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    const user = await findUser(tx, tenantId, userId, { lock: true });
    const roleChange = patch.role !== undefined && patch.role !== user.role ? patch.role : null;
    const activeChange =
      patch.active !== undefined && patch.active !== user.active ? patch.active : null;
    if (userId === actor.userId && (roleChange !== null || activeChange === false)) {
      throw appError('USER_SELF_CHANGE_FORBIDDEN');
    }
    const unitIds =
      patch.unitIds === undefined ? null : await assertUnitsInTenant(tx, tenantId, patch.unitIds);
    const qualificationIds =
      patch.qualificationIds === undefined
        ? null
        : await assertQualificationsInTenant(tx, tenantId, patch.qualificationIds);

    const losesAdmin =
      user.role === 'admin' &&
      user.active &&
      ((roleChange !== null && roleChange !== 'admin') || activeChange === false);
    if (losesAdmin && (await countOtherActiveAdmins(tx, tenantId, userId)) === 0) {
      throw appError('USER_LAST_ADMIN');
    }

    const target = { type: 'user', id: userId };
    const columns: Partial<typeof users.$inferInsert> = {};
    let directoryChanged = false;
    let membershipChanged = false;

    const displayName = patch.displayName?.trim();
    if (displayName !== undefined && displayName !== user.displayName) {
      columns.displayName = displayName;
      await recordAudit(tx, tenantId, {
        action: 'user.display_name_changed',
        actor,
        target,
        details: { from: user.displayName, to: displayName },
      });
    }
    if (roleChange !== null) {
      columns.role = roleChange;
      await recordAudit(tx, tenantId, {
        action: 'user.role_changed',
        actor,
        target,
        details: { from: user.role, to: roleChange },
      });
      if (MFA_REQUIRED_ROLES.includes(roleChange) && user.totpEnabledAt === null) {
        await requireMfaEnrolment(tx, tenantId, userId);
      }
    }
    if (activeChange !== null) {
      columns.active = activeChange;
      if (!activeChange) await deleteUnusedLinksOfUser(tx, tenantId, userId);
      await recordAudit(tx, tenantId, {
        action: activeChange ? 'user.reactivated' : 'user.deactivated',
        actor,
        target,
      });
    }
    if (Object.keys(columns).length > 0) {
      await tx
        .update(users)
        .set({ ...columns, updatedAt: new Date() })
        .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
      directoryChanged = true;
    }

    const current = await membershipsOf(tx, tenantId, userId);
    if (unitIds !== null) {
      const change = await replaceUserUnits(tx, tenantId, userId, current.unitIds, unitIds);
      if (change.added.length + change.removed.length > 0) {
        membershipChanged = true;
        await recordAudit(tx, tenantId, {
          action: 'user.units_changed',
          actor,
          target,
          details: { ...change },
        });
      }
    }
    if (qualificationIds !== null) {
      const change = await replaceUserQualifications(
        tx,
        tenantId,
        userId,
        current.qualificationIds,
        qualificationIds,
      );
      if (change.added.length + change.removed.length > 0) {
        directoryChanged = true;
        await recordAudit(tx, tenantId, {
          action: 'user.qualifications_changed',
          actor,
          target,
          details: { ...change },
        });
      }
    }
    if (directoryChanged || membershipChanged) await bumpDirectoryVersion(tx, tenantId);
    return {
      directoryChanged: directoryChanged || membershipChanged,
      // Role, units and active state decide rooms and permissions of open sockets.
      userChanged: roleChange !== null || activeChange !== null || membershipChanged,
      deactivated: activeChange === false,
    };
  });

  if (outcome.deactivated) {
    await revokeAllDevicesOfUser(deps, tenantId, userId, {
      reason: 'deactivated',
      wipe: true,
      actor,
    });
  }
  if (outcome.userChanged) deps.bus.emit('user.changed', { tenantId, userId });
  if (outcome.directoryChanged) deps.bus.emit('directory.changed', { tenantId });
  return loadUserDetail(deps.db, tenantId, userId);
}

/**
 * Signed-in devices of a user who now needs TOTP (and has none) must enrol it before
 * they can do anything else, as at sign-in.
 */
async function requireMfaEnrolment(tx: Tx, tenantId: string, userId: string): Promise<void> {
  await tx
    .update(devices)
    .set({ mfaEnrolmentPending: true })
    .where(
      and(eq(devices.tenantId, tenantId), eq(devices.userId, userId), isNull(devices.revokedAt)),
    );
}

/**
 * A fresh invitation link (seven days); earlier unused invitations of the user die.
 * @throws AppError USER_NOT_FOUND, USER_INACTIVE
 */
export async function reinviteUser(
  deps: UserDeps,
  tenantId: string,
  actor: Actor,
  userId: string,
): Promise<string> {
  const token = await deps.db.transaction(async (tx) => {
    const user = await findUser(tx, tenantId, userId, { lock: true });
    if (!user.active) throw appError('USER_INACTIVE');
    const token = await issueLink(tx, {
      tenantId,
      userId,
      purpose: 'invite',
      ttlMs: INVITE_TTL_MS,
      createdBy: actor.userId,
    });
    await recordAudit(tx, tenantId, {
      action: 'user.invited',
      actor,
      target: { type: 'user', id: userId },
    });
    return token;
  });
  return linkUrl(deps.config.publicUrl, token);
}

/**
 * Removes a user's second factors (TOTP, recovery codes, passkeys) and signs out every
 * device with a wipe — for a lost phone or security key. Admins and dispatchers enrol
 * TOTP again at their next sign-in.
 * @throws AppError USER_NOT_FOUND
 */
export async function resetUserMfa(
  deps: UserDeps,
  tenantId: string,
  actor: Actor,
  userId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const user = await findUser(tx, tenantId, userId, { lock: true });
    await tx
      .update(users)
      .set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null, updatedAt: new Date() })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
    await deleteRecoveryCodes(tx, tenantId, userId);
    const [removed] = await tx
      .delete(webauthnCredentials)
      .where(
        and(eq(webauthnCredentials.tenantId, tenantId), eq(webauthnCredentials.userId, userId)),
      );
    await recordAudit(tx, tenantId, {
      action: 'user.mfa_reset',
      actor,
      target: { type: 'user', id: userId },
      details: { hadTotp: user.totpEnabledAt !== null, passkeysRemoved: removed.affectedRows },
    });
  });
  await revokeAllDevicesOfUser(deps, tenantId, userId, { reason: 'admin', wipe: true, actor });
  deps.bus.emit('user.changed', { tenantId, userId });
}
