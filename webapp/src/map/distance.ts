import distance from '@turf/distance';

/**
 * Straight-line distance and travel time, until routing exists. The speed is an average
 * over the whole trip (roads wind, lights stop), configurable on the map.
 */

export const DEFAULT_ETA_SPEED_KMH = 40;
export const MIN_ETA_SPEED_KMH = 5;
export const MAX_ETA_SPEED_KMH = 150;

export interface LatLon {
  lat: number;
  lon: number;
}

/** Great-circle distance in kilometres. */
export function distanceKm(a: LatLon, b: LatLon): number {
  return distance([a.lon, a.lat], [b.lon, b.lat], { units: 'kilometers' });
}

/**
 * Minutes to cover `km` at `speedKmh`, rounded up to whole minutes (an ETA that is a
 * minute late is worse than one a minute early).
 * @throws RangeError for a speed that is not positive
 */
export function straightLineEtaMinutes(km: number, speedKmh: number): number {
  if (!(speedKmh > 0)) throw new RangeError('speed must be positive');
  return Math.ceil((km / speedKmh) * 60);
}

/** A speed typed by the user, held within sensible bounds (invalid: the default). */
export function clampSpeed(value: number): number {
  if (!Number.isFinite(value)) return DEFAULT_ETA_SPEED_KMH;
  return Math.min(MAX_ETA_SPEED_KMH, Math.max(MIN_ETA_SPEED_KMH, Math.round(value)));
}
