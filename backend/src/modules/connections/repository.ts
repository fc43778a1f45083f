import { and, desc, eq, gte, isNull, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { connections, devices, users } from '../../db/schema.ts';
import { timeRange } from '../audit/repository.ts';
import { PAGE_DEFAULT } from '../audit/schemas.ts';
import type { ConnectionPage, ConnectionQuery, ConnectionRecord } from './schemas.ts';

type ConnectionRow = typeof connections.$inferSelect;

export function toConnectionRecord(
  row: ConnectionRow,
  userDisplayName: string | null,
  deviceName: string | null,
): ConnectionRecord {
  return {
    id: row.id,
    userId: row.userId,
    userDisplayName,
    deviceId: row.deviceId,
    deviceName,
    ip: row.ip,
    userAgent: row.userAgent,
    connectedAt: row.connectedAt.toISOString(),
    disconnectedAt: row.disconnectedAt?.toISOString() ?? null,
    disconnectReason: row.disconnectReason,
  };
}

/**
 * One page of the tenant's connection records, newest first, paged by id. The time
 * filter keeps connections that overlap [from, to], so someone connected since before
 * `from` still shows.
 * @throws AppError AUDIT_RANGE_INVALID
 */
export async function listConnections(
  db: Db,
  tenantId: string,
  query: ConnectionQuery,
): Promise<ConnectionPage> {
  const limit = query.limit ?? PAGE_DEFAULT;
  const range = timeRange(query.from, query.to);
  const conditions: (SQL | undefined)[] = [eq(connections.tenantId, tenantId)];
  if (range.to) conditions.push(lte(connections.connectedAt, range.to));
  if (range.from) {
    conditions.push(
      or(isNull(connections.disconnectedAt), gte(connections.disconnectedAt, range.from)),
    );
  }
  if (query.userId) conditions.push(eq(connections.userId, query.userId));
  if (query.deviceId) conditions.push(eq(connections.deviceId, query.deviceId));
  if (query.before) conditions.push(lt(connections.id, query.before));
  const rows = await db
    .select({
      connection: connections,
      userDisplayName: users.displayName,
      deviceName: devices.name,
    })
    .from(connections)
    .leftJoin(users, and(eq(users.id, connections.userId), eq(users.tenantId, tenantId)))
    .leftJoin(devices, and(eq(devices.id, connections.deviceId), eq(devices.tenantId, tenantId)))
    .where(and(...conditions))
    .orderBy(desc(connections.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => toConnectionRecord(r.connection, r.userDisplayName, r.deviceName)),
    nextBefore: rows.length > limit ? (page[page.length - 1]?.connection.id ?? null) : null,
  };
}

/** Every connection record of one user (for their data export), oldest first. */
export async function connectionsOfUser(
  db: Db,
  tenantId: string,
  userId: string,
): Promise<ConnectionRow[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.tenantId, tenantId), eq(connections.userId, userId)))
    .orderBy(connections.id);
}
