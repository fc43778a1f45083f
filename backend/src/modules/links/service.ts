import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { recordAudit } from '../audit/service.ts';
import { assertPasswordStrength, hashPassword } from '../auth/passwords.ts';
import { revokeAllDevicesOfUser } from '../devices/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import { findTenant, insertTenant } from '../tenants/repository.ts';
import { insertUser } from '../users/repository.ts';
import { findUsableLink, markLinkUsed } from './repository.ts';
import type { LinkAcceptBody, LinkInfo } from './schemas.ts';

export interface LinkDeps {
  db: Db;
  bus: DomainBus;
}

/** True once any account exists: the installation has been set up. */
export async function hasAnyUser(db: DbOrTx): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).limit(1);
  return row !== undefined;
}

/**
 * The link and, for invitations and resets, its active user. Anything that makes the
 * link unusable — unknown, used, expired, user gone or deactivated — looks the same.
 * With `lock` (inside a transaction) the user row and then the link row are locked and
 * the link checked again: of two requests with the same link only one gets through. The
 * order — user, then link — is the one deactivation uses, so the two never deadlock.
 * @throws AppError INVITE_INVALID
 */
async function usableLink(db: DbOrTx, token: string, options: { lock?: boolean } = {}) {
  const link = await findUsableLink(db, token);
  if (!link) throw appError('INVITE_INVALID');
  let user: typeof users.$inferSelect | null = null;
  if (link.purpose !== 'setup') {
    if (!link.tenantId || !link.userId) throw appError('INVITE_INVALID');
    const query = db
      .select()
      .from(users)
      .where(and(eq(users.tenantId, link.tenantId), eq(users.id, link.userId)))
      .limit(1);
    const [row] = options.lock ? await query.for('update') : await query;
    if (!row || !row.active) throw appError('INVITE_INVALID');
    user = row;
  }
  if (options.lock && !(await findUsableLink(db, token, { lock: true }))) {
    throw appError('INVITE_INVALID');
  }
  return { link, user };
}

/**
 * What a one-time link is for, so the page can greet the user by name.
 * @throws AppError INVITE_INVALID, SETUP_ALREADY_DONE
 */
export async function describeLink(db: Db, token: string): Promise<LinkInfo> {
  const { link, user } = await usableLink(db, token);
  if (!user) {
    if (await hasAnyUser(db)) throw appError('SETUP_ALREADY_DONE');
    return { purpose: 'setup', email: null, displayName: null, tenantName: null };
  }
  const tenant = await findTenant(db, user.tenantId);
  return {
    purpose: link.purpose,
    email: user.email,
    displayName: user.displayName,
    tenantName: tenant.name,
  };
}

/**
 * Uses a one-time link: an invitation or reset sets the user's password; the setup link
 * creates the first organisation and its admin (a platform operator). A link works once.
 * @throws AppError INVITE_INVALID, AUTH_WEAK_PASSWORD, SETUP_ALREADY_DONE, VALIDATION_FAILED
 *   (setup without organisation or admin details), TENANT_SLUG_TAKEN
 */
export async function acceptLink(
  deps: LinkDeps,
  token: string,
  body: LinkAcceptBody,
  ip: string,
): Promise<void> {
  // Check the link before the password, so a dead link is reported as such; hash
  // outside the transaction, argon2 is slow on purpose and must not hold row locks.
  const { link } = await usableLink(deps.db, token);
  assertPasswordStrength(body.password);
  if (link.purpose === 'setup') return completeSetup(deps, token, body, ip);
  const passwordHash = await hashPassword(body.password);
  const user = await deps.db.transaction(async (tx) => {
    // Locked and checked again: of two requests with the same link, only one gets here.
    const { link: locked, user } = await usableLink(tx, token, { lock: true });
    if (!user) throw appError('INVITE_INVALID');
    await tx
      .update(users)
      .set({ passwordHash, updatedAt: new Date() })
      .where(and(eq(users.tenantId, user.tenantId), eq(users.id, user.id)));
    await markLinkUsed(tx, locked.id);
    await recordAudit(tx, user.tenantId, {
      action: locked.purpose === 'invite' ? 'user.invite_accepted' : 'auth.password_reset',
      actor: { userId: user.id, ip },
      target: { type: 'user', id: user.id },
    });
    return user;
  });
  if (link.purpose === 'password_reset') {
    // Whoever knew the old password is signed out everywhere.
    await revokeAllDevicesOfUser(deps, user.tenantId, user.id, {
      reason: 'user',
      wipe: false,
      actor: { userId: user.id, ip },
    });
  }
}

type SetupBody = LinkAcceptBody & Required<Omit<LinkAcceptBody, 'password'>>;

function isCompleteSetup(body: LinkAcceptBody): body is SetupBody {
  return (
    body.tenantName !== undefined &&
    body.tenantSlug !== undefined &&
    body.email !== undefined &&
    body.displayName !== undefined
  );
}

/**
 * First start of a production installation: creates the organisation and its admin,
 * who is also a platform operator, in one transaction — only while no user exists.
 */
async function completeSetup(
  deps: LinkDeps,
  token: string,
  body: LinkAcceptBody,
  ip: string,
): Promise<void> {
  if (!isCompleteSetup(body)) {
    throw appError(
      'VALIDATION_FAILED',
      'Setting up needs tenantName, tenantSlug, email and displayName.',
    );
  }
  const passwordHash = await hashPassword(body.password);
  const tenantId = await deps.db.transaction(async (tx) => {
    const { link } = await usableLink(tx, token, { lock: true });
    if (link.purpose !== 'setup') throw appError('INVITE_INVALID');
    if (await hasAnyUser(tx)) throw appError('SETUP_ALREADY_DONE');
    const tenant = await insertTenant(tx, { name: body.tenantName, slug: body.tenantSlug });
    const adminId = await insertUser(tx, tenant.id, {
      email: body.email,
      displayName: body.displayName,
      role: 'admin',
      isSuperadmin: true,
      passwordHash,
    });
    await markLinkUsed(tx, link.id);
    await bumpDirectoryVersion(tx, tenant.id);
    const actor = { userId: adminId, ip };
    await recordAudit(tx, tenant.id, {
      action: 'tenant.created',
      actor,
      target: { type: 'tenant', id: tenant.id },
      details: { name: tenant.name, slug: tenant.slug, setup: true },
    });
    await recordAudit(tx, tenant.id, {
      action: 'user.created',
      actor,
      target: { type: 'user', id: adminId },
      details: { role: 'admin', isSuperadmin: true, unitIds: [], qualificationIds: [] },
    });
    return tenant.id;
  });
  deps.bus.emit('directory.changed', { tenantId });
}
