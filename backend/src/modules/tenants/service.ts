import { eq } from 'drizzle-orm';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { tenants } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainBus } from '../../lib/bus.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { bumpDirectoryVersion } from '../directory/version.ts';
import { INVITE_TTL_MS, issueLink, linkUrl } from '../links/repository.ts';
import { insertUser } from '../users/repository.ts';
import { findTenant, insertTenant, isValidTimezone, toTenant } from './repository.ts';
import type { Tenant, TenantCreateBody, TenantPatchBody } from './schemas.ts';

export interface TenantDeps {
  db: Db;
  bus: DomainBus;
  config: Pick<Config, 'publicUrl'>;
}

/**
 * A platform operator creates an organisation with its first admin, who gets an
 * invitation link (seven days) to set a password. All or nothing.
 * @throws AppError TENANT_SLUG_TAKEN, USER_EMAIL_TAKEN
 */
export async function createTenantWithAdmin(
  deps: TenantDeps,
  actor: AuditActor & { userId: string },
  input: TenantCreateBody,
): Promise<{ tenant: Tenant; inviteUrl: string }> {
  const { tenant, token } = await deps.db.transaction(async (tx) => {
    const tenant = await insertTenant(tx, { name: input.name, slug: input.slug });
    const adminId = await insertUser(tx, tenant.id, {
      email: input.adminEmail,
      displayName: input.adminDisplayName,
      role: 'admin',
    });
    const token = await issueLink(tx, {
      tenantId: tenant.id,
      userId: adminId,
      purpose: 'invite',
      ttlMs: INVITE_TTL_MS,
      createdBy: actor.userId,
    });
    await bumpDirectoryVersion(tx, tenant.id);
    // The new tenant's chain starts with its own creation, so its auditors see who made it.
    await recordAudit(tx, tenant.id, {
      action: 'tenant.created',
      actor,
      target: { type: 'tenant', id: tenant.id },
      details: { name: tenant.name, slug: tenant.slug },
    });
    const target = { type: 'user', id: adminId };
    await recordAudit(tx, tenant.id, {
      action: 'user.created',
      actor,
      target,
      details: { role: 'admin', unitIds: [], qualificationIds: [] },
    });
    await recordAudit(tx, tenant.id, { action: 'user.invited', actor, target });
    return { tenant, token };
  });
  deps.bus.emit('directory.changed', { tenantId: tenant.id });
  return { tenant: toTenant(tenant), inviteUrl: linkUrl(deps.config.publicUrl, token) };
}

const SETTINGS = [
  'name',
  'timezone',
  'retentionConnectionDays',
  'retentionAuditDays',
  'retentionInactiveDeviceDays',
  'retentionTrackHours',
  'retentionAlarmDays',
  'retentionRecordingDays',
  'retentionChatDays',
  'chatUploadMb',
  'positionShareOnDuty',
] as const;

/**
 * Changes the tenant's name, time zone, retention periods or chat upload limit; audited
 * with the old and new value of each changed setting.
 * @throws AppError TENANT_TIMEZONE_INVALID, TENANT_NOT_FOUND
 */
export async function updateTenantSettings(
  deps: TenantDeps,
  tenantId: string,
  actor: AuditActor,
  patch: TenantPatchBody,
): Promise<Tenant> {
  if (patch.timezone !== undefined && !isValidTimezone(patch.timezone)) {
    throw appError('TENANT_TIMEZONE_INVALID');
  }
  const wanted = { ...patch, ...(patch.name === undefined ? {} : { name: patch.name.trim() }) };
  let changed = false;
  const tenant = await deps.db.transaction(async (tx) => {
    const current = await findTenant(tx, tenantId, { lock: true });
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const columns: Partial<typeof tenants.$inferInsert> = {};
    for (const key of SETTINGS) {
      const value = wanted[key];
      if (value === undefined || value === current[key]) continue;
      changes[key] = { from: current[key], to: value };
      Object.assign(columns, { [key]: value });
    }
    if (Object.keys(changes).length === 0) return toTenant(current);
    await tx
      .update(tenants)
      .set({ ...columns, updatedAt: new Date() })
      .where(eq(tenants.id, tenantId));
    await recordAudit(tx, tenantId, {
      action: 'tenant.settings_changed',
      actor,
      target: { type: 'tenant', id: tenantId },
      details: { changes },
    });
    changed = true;
    return toTenant(await findTenant(tx, tenantId));
  });
  if (changed) deps.bus.emit('tenant.changed', { tenantId });
  return tenant;
}
