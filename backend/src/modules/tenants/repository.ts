import { asc, count, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { tenants, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import type { Tenant, TenantWithCount } from './schemas.ts';

export type TenantRow = typeof tenants.$inferSelect;

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    timezone: row.timezone,
    retentionConnectionDays: row.retentionConnectionDays,
    retentionAuditDays: row.retentionAuditDays,
    retentionInactiveDeviceDays: row.retentionInactiveDeviceDays,
    retentionTrackHours: row.retentionTrackHours,
    retentionAlarmDays: row.retentionAlarmDays,
    retentionRecordingDays: row.retentionRecordingDays,
    retentionChatDays: row.retentionChatDays,
    chatUploadMb: row.chatUploadMb,
    positionShareOnDuty: row.positionShareOnDuty,
  };
}

/** True when the runtime knows `zone` as an IANA time zone (e.g. Europe/Berlin, UTC). */
export function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** @throws AppError TENANT_NOT_FOUND */
export async function findTenant(
  db: DbOrTx,
  tenantId: string,
  options: { lock?: boolean } = {},
): Promise<TenantRow> {
  const query = db.select().from(tenants).where(eq(tenants.id, tenantId)).limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('TENANT_NOT_FOUND');
  return row;
}

/**
 * Inserts a tenant with default retention settings.
 * @throws AppError TENANT_SLUG_TAKEN, TENANT_TIMEZONE_INVALID
 */
export async function insertTenant(
  tx: DbOrTx,
  input: { name: string; slug: string; timezone?: string },
): Promise<TenantRow> {
  const timezone = input.timezone ?? 'Europe/Berlin';
  if (!isValidTimezone(timezone)) throw appError('TENANT_TIMEZONE_INVALID');
  const [taken] = await tx
    .select({ id: tenants.id })
    .from(tenants)
    .where(eq(tenants.slug, input.slug))
    .limit(1);
  if (taken) throw appError('TENANT_SLUG_TAKEN');
  const now = new Date();
  const id = newId();
  try {
    await tx.insert(tenants).values({
      id,
      name: input.name.trim(),
      slug: input.slug,
      timezone,
      createdAt: now,
      updatedAt: now,
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw appError('TENANT_SLUG_TAKEN');
    throw error;
  }
  return findTenant(tx, id);
}

/** Every tenant of the installation with its number of users (platform operators only). */
export async function listTenantsWithUserCount(db: DbOrTx): Promise<TenantWithCount[]> {
  const [rows, counts] = await Promise.all([
    db.select().from(tenants).orderBy(asc(tenants.name)),
    db.select({ tenantId: users.tenantId, n: count() }).from(users).groupBy(users.tenantId),
  ]);
  const byTenant = new Map(counts.map((c) => [c.tenantId, Number(c.n)]));
  return rows.map((row) => ({ ...toTenant(row), userCount: byTenant.get(row.id) ?? 0 }));
}
