import { and, asc, count, eq, gt, inArray } from 'drizzle-orm';
import { POSITION_MAX_AGE_MS, type Geofence, type GeofencePresence } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import { geofencePresence, geofences, memberPositions, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';

export type GeofenceRow = typeof geofences.$inferSelect;

export function toGeofence(row: GeofenceRow): Geofence {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    geometry: row.geometry,
    statusText: row.statusText,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listGeofences(db: DbOrTx, tenantId: string): Promise<GeofenceRow[]> {
  return db
    .select()
    .from(geofences)
    .where(eq(geofences.tenantId, tenantId))
    .orderBy(asc(geofences.name));
}

export async function countGeofences(db: DbOrTx, tenantId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(geofences)
    .where(eq(geofences.tenantId, tenantId));
  return Number(row?.n ?? 0);
}

/** @throws AppError GEOFENCE_NOT_FOUND (also for another tenant's geofence) */
export async function findGeofence(
  db: DbOrTx,
  tenantId: string,
  geofenceId: string,
  options: { lock?: boolean } = {},
): Promise<GeofenceRow> {
  const query = db
    .select()
    .from(geofences)
    .where(and(eq(geofences.tenantId, tenantId), eq(geofences.id, geofenceId)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('GEOFENCE_NOT_FOUND');
  return row;
}

/** The tenant's geofences among `ids`; unknown ids are left out. */
export async function geofencesByIds(
  db: DbOrTx,
  tenantId: string,
  ids: readonly string[],
): Promise<GeofenceRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(geofences)
    .where(and(eq(geofences.tenantId, tenantId), inArray(geofences.id, [...new Set(ids)])));
}

/** @throws AppError GEOFENCE_NOT_FOUND unless every id is a geofence of the tenant */
export async function assertGeofencesInTenant(
  db: DbOrTx,
  tenantId: string,
  ids: readonly string[],
): Promise<void> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return;
  const found = await geofencesByIds(db, tenantId, wanted);
  if (found.length !== wanted.length) throw appError('GEOFENCE_NOT_FOUND');
}

/**
 * Who is inside which geofence now, with the geofence's status text: members whose
 * presence says inside and whose position is still live (shared, not older than
 * POSITION_MAX_AGE_MS). A member who stopped sharing has no live position, so no status.
 */
export async function listPresence(
  db: DbOrTx,
  tenantId: string,
  now: Date,
): Promise<GeofencePresence[]> {
  const rows = await db
    .select({
      geofenceId: geofencePresence.geofenceId,
      userId: geofencePresence.userId,
      displayName: users.displayName,
      since: geofencePresence.since,
      statusText: geofences.statusText,
    })
    .from(geofencePresence)
    .innerJoin(geofences, eq(geofences.id, geofencePresence.geofenceId))
    .innerJoin(users, eq(users.id, geofencePresence.userId))
    .innerJoin(memberPositions, eq(memberPositions.userId, geofencePresence.userId))
    .where(
      and(
        eq(geofencePresence.tenantId, tenantId),
        eq(geofences.tenantId, tenantId),
        eq(geofencePresence.inside, true),
        eq(memberPositions.tenantId, tenantId),
        gt(memberPositions.recordedAt, new Date(now.getTime() - POSITION_MAX_AGE_MS)),
      ),
    )
    .orderBy(asc(users.displayName));
  return rows.map((r) => ({ ...r, since: r.since.toISOString() }));
}
