import { OVERLAY_MAX_BYTES, OVERLAY_MAX_FEATURES } from '@trupp/shared';
import { appError } from '../../errors.ts';

type Position = [number, number] | [number, number, number];

export interface OverlayFeature {
  type: 'Feature';
  id?: string | number;
  properties: Record<string, string | number | boolean | null>;
  geometry: { type: string; coordinates: unknown };
}

export interface OverlayCollection {
  type: 'FeatureCollection';
  features: OverlayFeature[];
}

const GEOMETRY_DEPTH: Record<string, number> = {
  Point: 0,
  MultiPoint: 1,
  LineString: 1,
  MultiLineString: 2,
  Polygon: 2,
  MultiPolygon: 3,
};

/** Longest text kept in a property; longer values are cut. */
const MAX_PROPERTY_LENGTH = 500;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses and checks an uploaded GeoJSON file: a FeatureCollection (RFC 7946) of at most
 * OVERLAY_MAX_FEATURES features with Point, LineString, Polygon geometries (or their Multi
 * forms), WGS 84 coordinates in range, lines of two or more positions and closed polygon
 * rings of four or more. Returns it normalised: only `type`, `id`, `properties` (flat
 * values, texts cut at MAX_PROPERTY_LENGTH) and `geometry` of each feature survive.
 * @throws AppError OVERLAY_TOO_LARGE (bytes or feature count), OVERLAY_INVALID (with the
 *   first problem and the feature's index)
 */
export function parseOverlay(text: string): OverlayCollection {
  if (Buffer.byteLength(text, 'utf8') > OVERLAY_MAX_BYTES) {
    throw appError('OVERLAY_TOO_LARGE', 'The file is larger than 2 MB.');
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw appError('OVERLAY_INVALID', `The file is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(root) || root.type !== 'FeatureCollection') {
    const type = isObject(root) && typeof root.type === 'string' ? root.type : typeof root;
    throw appError('OVERLAY_INVALID', `Expected a GeoJSON FeatureCollection, got ${type}.`);
  }
  if (!Array.isArray(root.features)) {
    throw appError('OVERLAY_INVALID', 'The FeatureCollection has no "features" list.');
  }
  if (root.features.length === 0) {
    throw appError('OVERLAY_INVALID', 'The FeatureCollection has no features.');
  }
  if (root.features.length > OVERLAY_MAX_FEATURES) {
    throw appError(
      'OVERLAY_TOO_LARGE',
      `The file has ${root.features.length} features; at most ${OVERLAY_MAX_FEATURES} are allowed.`,
    );
  }
  return {
    type: 'FeatureCollection',
    features: root.features.map((feature, index) => checkFeature(feature, index)),
  };
}

function checkFeature(feature: unknown, index: number): OverlayFeature {
  const fail = (why: string) => appError('OVERLAY_INVALID', `Feature ${index + 1}: ${why}`);
  if (!isObject(feature) || feature.type !== 'Feature') throw fail('not a GeoJSON Feature.');
  const geometry = feature.geometry;
  if (!isObject(geometry) || typeof geometry.type !== 'string') {
    throw fail('has no geometry.');
  }
  const depth = GEOMETRY_DEPTH[geometry.type];
  if (depth === undefined) {
    throw fail(`geometry type ${geometry.type} is not supported (points, lines, polygons).`);
  }
  const problem = checkCoordinates(geometry.type, geometry.coordinates, depth);
  if (problem) throw fail(problem);
  const properties: OverlayFeature['properties'] = {};
  if (feature.properties !== undefined && feature.properties !== null) {
    if (!isObject(feature.properties)) throw fail('"properties" must be an object.');
    for (const [key, value] of Object.entries(feature.properties)) {
      if (typeof value === 'string') properties[key] = value.slice(0, MAX_PROPERTY_LENGTH);
      else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
        properties[key] = value;
      }
    }
  }
  const out: OverlayFeature = {
    type: 'Feature',
    properties,
    geometry: { type: geometry.type, coordinates: geometry.coordinates },
  };
  if (typeof feature.id === 'string' || typeof feature.id === 'number') out.id = feature.id;
  return out;
}

function isPosition(value: unknown): value is Position {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return false;
  if (!value.every((n) => typeof n === 'number' && Number.isFinite(n))) return false;
  const [lon, lat] = value as number[];
  return lon! >= -180 && lon! <= 180 && lat! >= -90 && lat! <= 90;
}

/** Null when `coordinates` fit the geometry type; else what is wrong. */
function checkCoordinates(type: string, coordinates: unknown, depth: number): string | null {
  if (depth === 0) {
    return isPosition(coordinates)
      ? null
      : 'a position must be [longitude, latitude] with longitude −180…180 and latitude −90…90.';
  }
  if (!Array.isArray(coordinates) || coordinates.length === 0) {
    return `the ${type} has no coordinates.`;
  }
  if (type === 'LineString' && coordinates.length < 2) {
    return 'a line needs at least 2 positions.';
  }
  if (type === 'Polygon') {
    for (const ring of coordinates) {
      if (!Array.isArray(ring) || ring.length < 4)
        return 'a polygon ring needs at least 4 positions.';
      const problem = checkCoordinates('ring', ring, 1);
      if (problem) return problem;
      const first = ring[0] as number[];
      const last = ring[ring.length - 1] as number[];
      if (first[0] !== last[0] || first[1] !== last[1]) {
        return 'a polygon ring must end where it starts.';
      }
    }
    return null;
  }
  const inner =
    type === 'MultiLineString' ? 'LineString' : type === 'MultiPolygon' ? 'Polygon' : '';
  for (const part of coordinates) {
    const problem = checkCoordinates(inner, part, depth - 1);
    if (problem) return problem;
  }
  return null;
}
