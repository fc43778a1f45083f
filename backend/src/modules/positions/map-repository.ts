import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lte, sql } from 'drizzle-orm';
import {
  POSITION_MAX_AGE_MS,
  effectiveAvailability,
  localWeekTime,
  type AlarmResponse,
  type AvailabilityState,
  type MapPosition,
} from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  alarmRecipients,
  alarms,
  memberAvailability,
  memberPositions,
  positionPoints,
  units,
  userUnits,
  users,
} from '../../db/schema.ts';
import { findTenant } from '../tenants/repository.ts';

/** A member's last known position with what the dispatch map colours and filters by. */
export interface MapMember {
  userId: string;
  displayName: string;
  lat: number;
  lon: number;
  accuracyM: number;
  /** Degrees clockwise from north, or null when the device did not say. */
  heading: number | null;
  speedKmh: number | null;
  recordedAt: string;
  units: Array<{ id: string; name: string }>;
  availability: AvailabilityState;
  /** The member's answer to the newest open alarm they were alerted for; null: none open. */
  alarm: { alarmId: string; response: AlarmResponse | null; etaMinutes: number | null } | null;
}

/** A current position; heading and speed when the caller knows them for this fix. */
export type CurrentPosition = MapPosition & { heading?: number | null; speedKmh?: number | null };

/**
 * The map's members: `positions` (the current ones, live from the position service)
 * completed with each member's units, current availability, answer to the newest open
 * alarm, and — where the caller did not give them — heading/speed from the stored row
 * when it is that same fix. Five tenant-scoped reads, joined in memory, so the cost does
 * not grow per member.
 */
export async function listMapMembers(
  db: DbOrTx,
  tenantId: string,
  positions: readonly CurrentPosition[],
  now = new Date(),
): Promise<MapMember[]> {
  if (positions.length === 0) return [];

  // The live position may be newer than the stored row; heading and speed are only taken
  // from a row of the same fix (live updates bring them to the map anyway).
  const stored = await db
    .select({
      userId: memberPositions.userId,
      heading: memberPositions.heading,
      speedKmh: memberPositions.speedKmh,
      recordedAt: memberPositions.recordedAt,
    })
    .from(memberPositions)
    .where(
      and(
        eq(memberPositions.tenantId, tenantId),
        gt(memberPositions.recordedAt, new Date(now.getTime() - POSITION_MAX_AGE_MS)),
      ),
    );
  const motionOf = new Map(
    stored.map((r) => [r.userId, { ...r, recordedAt: r.recordedAt.toISOString() }]),
  );

  const memberships = await db
    .select({ userId: userUnits.userId, id: units.id, name: units.name })
    .from(userUnits)
    .innerJoin(units, and(eq(units.id, userUnits.unitId), eq(units.tenantId, tenantId)))
    .where(eq(userUnits.tenantId, tenantId))
    .orderBy(asc(units.name));
  const unitsOf = new Map<string, Array<{ id: string; name: string }>>();
  for (const m of memberships) {
    const list = unitsOf.get(m.userId) ?? [];
    list.push({ id: m.id, name: m.name });
    unitsOf.set(m.userId, list);
  }

  const availabilityRows = await db
    .select()
    .from(memberAvailability)
    .where(eq(memberAvailability.tenantId, tenantId));
  const availabilityOf = new Map(availabilityRows.map((r) => [r.userId, r]));
  const local = localWeekTime(now, (await findTenant(db, tenantId)).timezone);

  // Newest open alarm first, so the first row seen per member is the one that counts.
  const answers = await db
    .select({
      userId: alarmRecipients.userId,
      alarmId: alarmRecipients.alarmId,
      response: alarmRecipients.response,
      etaMinutes: alarmRecipients.etaMinutes,
    })
    .from(alarmRecipients)
    .innerJoin(alarms, eq(alarms.id, alarmRecipients.alarmId))
    .where(
      and(
        eq(alarmRecipients.tenantId, tenantId),
        eq(alarms.tenantId, tenantId),
        isNull(alarms.closedAt),
      ),
    )
    .orderBy(desc(alarms.createdAt));
  const answerOf = new Map<string, MapMember['alarm']>();
  for (const a of answers) {
    if (!answerOf.has(a.userId)) {
      answerOf.set(a.userId, {
        alarmId: a.alarmId,
        response: a.response,
        etaMinutes: a.etaMinutes,
      });
    }
  }

  return positions.map((p) => {
    const motion = motionOf.get(p.userId);
    const sameFix = motion !== undefined && motion.recordedAt === p.recordedAt;
    return {
      userId: p.userId,
      displayName: p.displayName,
      lat: p.lat,
      lon: p.lon,
      accuracyM: p.accuracyM,
      heading: p.heading !== undefined ? p.heading : sameFix ? motion.heading : null,
      speedKmh: p.speedKmh !== undefined ? p.speedKmh : sameFix ? motion.speedKmh : null,
      recordedAt: p.recordedAt,
      units: unitsOf.get(p.userId) ?? [],
      availability: effectiveAvailability(availabilityOf.get(p.userId) ?? null, now, local),
      alarm: answerOf.get(p.userId) ?? null,
    };
  });
}

export interface TrackPoint {
  lat: number;
  lon: number;
  accuracyM: number;
  recordedAt: string;
}

/** Most points one replay request returns over all its members. */
export const REPLAY_MAX_POINTS = 100_000;

/**
 * The stored tracks of `userIds` (members of this tenant only; other ids are ignored)
 * between `from` and `to`, oldest first. When there are more than `maxPoints`, only every
 * n-th stored point is returned, so a long window still plays (and `thinned` says so).
 */
export async function loadTracks(
  db: DbOrTx,
  tenantId: string,
  userIds: string[],
  from: Date,
  to: Date,
  maxPoints = REPLAY_MAX_POINTS,
): Promise<{
  tracks: Array<{ userId: string; displayName: string; points: TrackPoint[] }>;
  thinned: boolean;
}> {
  if (userIds.length === 0) return { tracks: [], thinned: false };
  const members = await db
    .select({ userId: users.id, displayName: users.displayName })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), inArray(users.id, userIds)))
    .orderBy(asc(users.displayName));
  if (members.length === 0) return { tracks: [], thinned: false };
  const inWindow = and(
    eq(positionPoints.tenantId, tenantId),
    inArray(
      positionPoints.userId,
      members.map((m) => m.userId),
    ),
    gte(positionPoints.recordedAt, from),
    lte(positionPoints.recordedAt, to),
  );
  const [counted] = await db.select({ n: count() }).from(positionPoints).where(inWindow);
  const total = Number(counted?.n ?? 0);
  // Points of all members interleave in id order, so every n-th id thins each track evenly.
  const stride = total > maxPoints ? Math.ceil(total / maxPoints) : 1;
  const rows = await db
    .select({
      userId: positionPoints.userId,
      lat: positionPoints.lat,
      lon: positionPoints.lon,
      accuracyM: positionPoints.accuracyM,
      recordedAt: positionPoints.recordedAt,
    })
    .from(positionPoints)
    .where(stride === 1 ? inWindow : and(inWindow, sql`${positionPoints.id} % ${stride} = 0`))
    .orderBy(asc(positionPoints.recordedAt), asc(positionPoints.id))
    .limit(maxPoints);
  const byUser = new Map<string, TrackPoint[]>(members.map((m) => [m.userId, []]));
  for (const r of rows) {
    byUser.get(r.userId)?.push({
      lat: r.lat,
      lon: r.lon,
      accuracyM: r.accuracyM,
      recordedAt: r.recordedAt.toISOString(),
    });
  }
  return {
    thinned: stride > 1,
    tracks: members.map((m) => ({
      userId: m.userId,
      displayName: m.displayName,
      points: byUser.get(m.userId) ?? [],
    })),
  };
}
