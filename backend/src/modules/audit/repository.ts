import { and, desc, eq, gte, like, lt, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { auditLog } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { PAGE_DEFAULT, type AuditPage, type AuditQuery } from './schemas.ts';

type AuditRow = typeof auditLog.$inferSelect;

export function toAuditRecord(row: AuditRow): AuditPage['items'][number] {
  return {
    seq: row.seq,
    at: row.at.toISOString(),
    actorUserId: row.actorUserId,
    actorDeviceId: row.actorDeviceId,
    actorIp: row.actorIp,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    details: row.details,
  };
}

/**
 * Parses an optional from/to pair of ISO times.
 * @throws AppError AUDIT_RANGE_INVALID when `from` is after `to`
 */
export function timeRange(
  from: string | undefined,
  to: string | undefined,
): { from: Date | null; to: Date | null } {
  const range = { from: from ? new Date(from) : null, to: to ? new Date(to) : null };
  if (range.from && range.to && range.from.getTime() > range.to.getTime()) {
    throw appError('AUDIT_RANGE_INVALID');
  }
  return range;
}

/**
 * One page of the tenant's audit records, newest first. Paged by `seq` (keyset), so
 * records appended while an auditor pages through never shift or repeat a page.
 * @throws AppError AUDIT_RANGE_INVALID
 */
export async function listAuditRecords(
  db: Db,
  tenantId: string,
  query: AuditQuery,
): Promise<AuditPage> {
  const limit = query.limit ?? PAGE_DEFAULT;
  const range = timeRange(query.from, query.to);
  const conditions: (SQL | undefined)[] = [eq(auditLog.tenantId, tenantId)];
  if (range.from) conditions.push(gte(auditLog.at, range.from));
  if (range.to) conditions.push(lte(auditLog.at, range.to));
  if (query.action) {
    conditions.push(
      query.action.endsWith('.*')
        ? like(auditLog.action, `${query.action.slice(0, -1)}%`)
        : eq(auditLog.action, query.action),
    );
  }
  if (query.actorUserId) conditions.push(eq(auditLog.actorUserId, query.actorUserId));
  if (query.targetId) conditions.push(eq(auditLog.targetId, query.targetId));
  if (query.before) conditions.push(lt(auditLog.seq, query.before));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map(toAuditRecord),
    nextBefore: rows.length > limit ? (page[page.length - 1]?.seq ?? null) : null,
  };
}
