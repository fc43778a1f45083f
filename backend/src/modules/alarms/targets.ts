import { and, eq, gt, inArray } from 'drizzle-orm';
import { booleanPointInPolygon, distance, point, polygon } from '@turf/turf';
import {
  PERMISSION_MATRIX,
  effectiveAvailability,
  localWeekTime,
  POSITION_MAX_AGE_MS,
  type AlarmArea,
  type AlarmTargets,
  type Role,
} from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  memberAvailability,
  memberPositions,
  tenants,
  userQualifications,
  userUnits,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { assertGeofencesInTenant, geofencesByIds } from '../geofences/repository.ts';
import { assertQualificationsInTenant } from '../qualifications/repository.ts';
import { assertUnitsInTenant, listUnits } from '../units/repository.ts';

export const NO_TARGETS: AlarmTargets = {
  unitIds: [],
  roles: [],
  userIds: [],
  qualificationIds: [],
  area: null,
  geofenceIds: [],
};

const RECEIVING_ROLES = PERMISSION_MATRIX['alarms.receive'] as readonly Role[];

export function hasTargets(targets: AlarmTargets): boolean {
  return (
    targets.unitIds.length +
      targets.roles.length +
      targets.userIds.length +
      targets.qualificationIds.length +
      (targets.geofenceIds?.length ?? 0) >
      0 || Boolean(targets.area)
  );
}

export function mergeTargets(a: AlarmTargets, b: AlarmTargets): AlarmTargets {
  const union = <T>(x: T[], y: T[]): T[] => [...new Set([...x, ...y])];
  return {
    unitIds: union(a.unitIds, b.unitIds),
    roles: union(a.roles, b.roles),
    userIds: union(a.userIds, b.userIds),
    qualificationIds: union(a.qualificationIds, b.qualificationIds),
    area: b.area ?? a.area ?? null,
    geofenceIds: union(a.geofenceIds ?? [], b.geofenceIds ?? []),
  };
}

/**
 * Checks that every id in `targets` belongs to the tenant.
 * @throws AppError UNIT_NOT_FOUND, USER_NOT_FOUND, QUALIFICATION_NOT_FOUND, GEOFENCE_NOT_FOUND
 */
export async function assertTargetsInTenant(
  db: DbOrTx,
  tenantId: string,
  targets: AlarmTargets,
): Promise<void> {
  if (targets.area?.kind === 'polygon') {
    const ring = targets.area.ring;
    const [first, last] = [ring[0]!, ring[ring.length - 1]!];
    if (first[0] !== last[0] || first[1] !== last[1]) {
      throw appError('VALIDATION_FAILED', 'The area polygon must end where it starts.');
    }
  }
  await assertUnitsInTenant(db, tenantId, targets.unitIds);
  await assertQualificationsInTenant(db, tenantId, targets.qualificationIds);
  await assertGeofencesInTenant(db, tenantId, targets.geofenceIds ?? []);
  const wanted = [...new Set(targets.userIds)];
  if (wanted.length > 0) {
    const found = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), inArray(users.id, wanted)));
    if (found.length !== wanted.length) throw appError('USER_NOT_FOUND');
  }
}

/** The unit ids and every unit below them. */
export async function withSubUnits(
  db: DbOrTx,
  tenantId: string,
  unitIds: string[],
): Promise<string[]> {
  if (unitIds.length === 0) return [];
  const all = await listUnits(db, tenantId);
  const children = new Map<string, string[]>();
  for (const unit of all) {
    if (unit.parentId === null) continue;
    children.set(unit.parentId, [...(children.get(unit.parentId) ?? []), unit.id]);
  }
  const out = new Set<string>();
  const queue = [...unitIds];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (out.has(next)) continue;
    out.add(next);
    queue.push(...(children.get(next) ?? []));
  }
  return [...out];
}

/** Members whose last known position (not older than POSITION_MAX_AGE_MS) is in the area. */
async function membersInArea(
  db: DbOrTx,
  tenantId: string,
  area: AlarmArea,
  now: Date,
): Promise<string[]> {
  const rows = await db
    .select({ userId: memberPositions.userId, lat: memberPositions.lat, lon: memberPositions.lon })
    .from(memberPositions)
    .where(
      and(
        eq(memberPositions.tenantId, tenantId),
        gt(memberPositions.recordedAt, new Date(now.getTime() - POSITION_MAX_AGE_MS)),
      ),
    );
  if (area.kind === 'circle') {
    const centre = point([area.lon, area.lat]);
    return rows
      .filter(
        (r) => distance(centre, point([r.lon, r.lat]), { units: 'kilometers' }) <= area.radiusKm,
      )
      .map((r) => r.userId);
  }
  const shape = polygon([area.ring]);
  return rows
    .filter((r) => booleanPointInPolygon(point([r.lon, r.lat]), shape))
    .map((r) => r.userId);
}

export interface ResolvedRecipients {
  userIds: string[];
  /** Matched the targets but were skipped because they marked themselves unavailable. */
  skippedUnavailable: string[];
}

/**
 * The active members of the tenant the targets name: units (with every sub-unit), roles,
 * individual members and qualifications, united. Roles that do not receive alarms
 * (auditor) are left out; unavailable members too unless `allHands`.
 */
export async function resolveRecipients(
  db: DbOrTx,
  tenantId: string,
  targets: AlarmTargets,
  options: { allHands: boolean; now: Date },
): Promise<ResolvedRecipients> {
  const matched = new Set<string>();
  const unitIds = await withSubUnits(db, tenantId, targets.unitIds);
  if (unitIds.length > 0) {
    const rows = await db
      .select({ userId: userUnits.userId })
      .from(userUnits)
      .where(and(eq(userUnits.tenantId, tenantId), inArray(userUnits.unitId, unitIds)));
    for (const row of rows) matched.add(row.userId);
  }
  if (targets.qualificationIds.length > 0) {
    const rows = await db
      .select({ userId: userQualifications.userId })
      .from(userQualifications)
      .where(
        and(
          eq(userQualifications.tenantId, tenantId),
          inArray(userQualifications.qualificationId, targets.qualificationIds),
        ),
      );
    for (const row of rows) matched.add(row.userId);
  }
  for (const id of targets.userIds) matched.add(id);
  if (targets.area) {
    for (const id of await membersInArea(db, tenantId, targets.area, options.now)) matched.add(id);
  }
  // Geofences deleted since a template named them are skipped, not an error.
  for (const fence of await geofencesByIds(db, tenantId, targets.geofenceIds ?? [])) {
    const g = fence.geometry;
    const area: AlarmArea =
      g.kind === 'circle'
        ? { kind: 'circle', lat: g.lat, lon: g.lon, radiusKm: g.radiusM / 1000 }
        : { kind: 'polygon', ring: g.ring };
    for (const id of await membersInArea(db, tenantId, area, options.now)) matched.add(id);
  }

  const roles = targets.roles.filter((r): r is Role => RECEIVING_ROLES.includes(r as Role));
  const people = await db
    .select({ id: users.id, role: users.role })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.active, true)));
  const candidates = people
    .filter((p) => RECEIVING_ROLES.includes(p.role))
    .filter((p) => matched.has(p.id) || roles.includes(p.role))
    .map((p) => p.id);
  if (options.allHands || candidates.length === 0) {
    return { userIds: candidates, skippedUnavailable: [] };
  }
  const [tenant] = await db
    .select({ timezone: tenants.timezone })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  const local = localWeekTime(options.now, tenant?.timezone ?? 'Europe/Berlin');
  const rows = await db
    .select()
    .from(memberAvailability)
    .where(eq(memberAvailability.tenantId, tenantId));
  const away = rows.filter(
    (row) => effectiveAvailability(row, options.now, local) === 'unavailable',
  );
  const awaySet = new Set(away.map((a) => a.userId));
  return {
    userIds: candidates.filter((id) => !awaySet.has(id)),
    skippedUnavailable: candidates.filter((id) => awaySet.has(id)),
  };
}
