import { area, bbox, distance, kinks, point, pointToPolygonDistance, polygon } from '@turf/turf';
import type { Feature, Polygon } from 'geojson';
import {
  GEOFENCE_MAX_RADIUS_M,
  GEOFENCE_MAX_VERTICES,
  GEOFENCE_MIN_RADIUS_M,
  type GeofenceGeometry,
} from '@trupp/shared';
import { appError } from '../../errors.ts';

/** Metres per degree of latitude (and of longitude at the equator). */
const M_PER_DEG = 111_320;

/**
 * Checks a geofence shape and returns it normalised (rounded to 7 decimals, about 1 cm).
 * A polygon ring must be closed, have 3 to GEOFENCE_MAX_VERTICES - 1 distinct corners,
 * enclose an area, not cross itself (turf kinks) and not span the antimeridian.
 * @throws AppError GEOFENCE_GEOMETRY_INVALID saying what is wrong
 */
export function validateGeometry(geometry: GeofenceGeometry): GeofenceGeometry {
  const invalid = (why: string) => appError('GEOFENCE_GEOMETRY_INVALID', why);
  const round = (n: number) => Math.round(n * 1e7) / 1e7;
  if (geometry.kind === 'circle') {
    if (
      !Number.isFinite(geometry.radiusM) ||
      geometry.radiusM < GEOFENCE_MIN_RADIUS_M ||
      geometry.radiusM > GEOFENCE_MAX_RADIUS_M
    ) {
      throw invalid(
        `The radius must be between ${GEOFENCE_MIN_RADIUS_M} m and ${GEOFENCE_MAX_RADIUS_M} m.`,
      );
    }
    return {
      kind: 'circle',
      lat: round(geometry.lat),
      lon: round(geometry.lon),
      radiusM: Math.round(geometry.radiusM),
    };
  }
  const ring = geometry.ring.map(([lon, lat]) => [round(lon), round(lat)] as [number, number]);
  if (ring.length > GEOFENCE_MAX_VERTICES) {
    throw invalid(`A polygon may have at most ${GEOFENCE_MAX_VERTICES - 1} corners.`);
  }
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last || first[0] !== last[0] || first[1] !== last[1]) {
    throw invalid('The polygon ring must end where it starts.');
  }
  for (let i = 1; i < ring.length; i += 1) {
    if (ring[i]![0] === ring[i - 1]![0] && ring[i]![1] === ring[i - 1]![1]) {
      throw invalid(`Corner ${i + 1} repeats the corner before it.`);
    }
  }
  const distinct = new Set(ring.slice(0, -1).map(([lon, lat]) => `${lon},${lat}`));
  if (distinct.size < 3) throw invalid('A polygon needs at least 3 different corners.');
  const lons = ring.map(([lon]) => lon);
  if (Math.max(...lons) - Math.min(...lons) > 180) {
    throw invalid('A polygon must not span the 180° meridian.');
  }
  const shape = polygon([ring]);
  if (kinks(shape).features.length > 0) throw invalid('The polygon crosses itself.');
  if (area(shape) < 1) throw invalid('The polygon encloses no area.');
  return { kind: 'polygon', ring };
}

/** A geofence prepared for fast repeated tests: signed distance of a point to its border. */
export interface CompiledShape {
  /**
   * Metres from the border: negative inside, positive outside. Beyond `cutoffM` outside
   * the bounding box it answers `Infinity` without exact geometry (cheap for far fixes).
   */
  signedDistanceM(lat: number, lon: number, cutoffM: number): number;
}

export function compileShape(geometry: GeofenceGeometry): CompiledShape {
  if (geometry.kind === 'circle') {
    const centre = point([geometry.lon, geometry.lat]);
    return {
      signedDistanceM: (lat, lon) =>
        distance(centre, point([lon, lat]), { units: 'meters' }) - geometry.radiusM,
    };
  }
  const shape: Feature<Polygon> = polygon([geometry.ring]);
  const [minLon, minLat, maxLon, maxLat] = bbox(shape) as [number, number, number, number];
  return {
    signedDistanceM(lat, lon, cutoffM) {
      const dLat = cutoffM / M_PER_DEG;
      const dLon = cutoffM / (M_PER_DEG * Math.max(0.01, Math.cos((lat * Math.PI) / 180)));
      if (
        lat < minLat - dLat ||
        lat > maxLat + dLat ||
        lon < minLon - dLon ||
        lon > maxLon + dLon
      ) {
        return Infinity;
      }
      return pointToPolygonDistance(point([lon, lat]), shape, { units: 'meters' });
    },
  };
}
