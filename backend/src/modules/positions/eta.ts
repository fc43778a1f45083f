import { distance, point } from '@turf/turf';
import { and, eq, gt, inArray } from 'drizzle-orm';
import { MAX_ETA_MINUTES } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import { memberPositions } from '../../db/schema.ts';

/** A last position older than this says nothing about how far away a member is now. */
export const ETA_POSITION_MAX_AGE_MS = 30 * 60_000;

export interface DistanceEta {
  distanceKm: number;
  positionEtaMinutes: number;
}

/**
 * Straight-line (great-circle) distance to the incident and the minutes it takes at
 * `speedKmh` — an estimate until routing exists; roads make it longer, never shorter.
 */
export function distanceEta(
  from: { lat: number; lon: number },
  to: { lat: number; lon: number },
  speedKmh: number,
): DistanceEta {
  const km = distance(point([from.lon, from.lat]), point([to.lon, to.lat]), {
    units: 'kilometers',
  });
  return {
    distanceKm: Math.round(km * 10) / 10,
    positionEtaMinutes: Math.min(MAX_ETA_MINUTES, Math.ceil((km / speedKmh) * 60)),
  };
}

/**
 * Distance and ETA to the incident for each of `userIds` who has a recent last position
 * (members who do not share have none, so they get nothing).
 */
export async function distancesTo(
  db: DbOrTx,
  tenantId: string,
  incident: { lat: number; lon: number },
  userIds: string[],
  speedKmh: number,
  now = new Date(),
): Promise<Map<string, DistanceEta>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .select({ userId: memberPositions.userId, lat: memberPositions.lat, lon: memberPositions.lon })
    .from(memberPositions)
    .where(
      and(
        eq(memberPositions.tenantId, tenantId),
        inArray(memberPositions.userId, userIds),
        gt(memberPositions.recordedAt, new Date(now.getTime() - ETA_POSITION_MAX_AGE_MS)),
      ),
    );
  return new Map(rows.map((r) => [r.userId, distanceEta(r, incident, speedKmh)]));
}
