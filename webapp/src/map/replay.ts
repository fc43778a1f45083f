import type { Feature, FeatureCollection, LineString, Point } from 'geojson';
import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';
import type { TrackPoint } from '../api/positions.ts';
import type { LatLon } from './distance.ts';
import { installLabelImages, labelImageId, labelsInUse } from './label-images.ts';
import { onStyleReady } from './style-ready.ts';

/**
 * Track replay: where a member was at any moment of a stored track (linear between two
 * fixes), the path travelled so far, and the layers that draw both while the time slider
 * moves. Live member layers are hidden meanwhile.
 */

export interface TimedPoint extends LatLon {
  /** Milliseconds since the epoch. */
  t: number;
}

/** Track points with numeric times, oldest first. */
export function timed(points: readonly TrackPoint[]): TimedPoint[] {
  return points
    .map((p) => ({ lat: p.lat, lon: p.lon, t: Date.parse(p.recordedAt) }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
}

/** Index of the last point at or before `t` (-1 when `t` is before the first). */
function indexAt(track: readonly TimedPoint[], t: number): number {
  let lo = 0;
  let hi = track.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (track[mid]!.t <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Where the member was at `t`: between two fixes on the straight line between them in
 * proportion to the time, after the last fix at the last fix; null before the first fix
 * (nothing is known yet) or for an empty track.
 */
export function positionAt(track: readonly TimedPoint[], t: number): LatLon | null {
  const i = indexAt(track, t);
  if (i < 0) return null;
  const a = track[i]!;
  const b = track[i + 1];
  if (!b || b.t === a.t) return { lat: a.lat, lon: a.lon };
  const f = (t - a.t) / (b.t - a.t);
  return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
}

/** The path travelled until `t` as [lon, lat] pairs, ending at the position at `t`. */
export function pathUntil(track: readonly TimedPoint[], t: number): Array<[number, number]> {
  const i = indexAt(track, t);
  if (i < 0) return [];
  const path = track.slice(0, i + 1).map((p) => [p.lon, p.lat] as [number, number]);
  const at = positionAt(track, t);
  const last = track[i]!;
  if (at && (at.lat !== last.lat || at.lon !== last.lon)) path.push([at.lon, at.lat]);
  return path;
}

/** First and last time over all tracks; null when there is no point at all. */
export function timeRange(
  tracks: ReadonlyArray<readonly TimedPoint[]>,
): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const track of tracks) {
    if (track.length === 0) continue;
    start = Math.min(start, track[0]!.t);
    end = Math.max(end, track[track.length - 1]!.t);
  }
  return Number.isFinite(start) ? { start, end } : null;
}

/** Distinct, high-contrast path colours, cycled per member. */
export const REPLAY_COLOURS = [
  '#1565c0',
  '#c2185b',
  '#2e7d32',
  '#ef6c00',
  '#6a1b9a',
  '#00838f',
  '#5d4037',
  '#283593',
] as const;

export interface ReplayMember {
  userId: string;
  colour: string;
  path: Array<[number, number]>;
  at: LatLon | null;
  label: string[];
}

export const REPLAY_LAYERS = {
  path: 'replay-path',
  head: 'replay-head',
  label: 'replay-label',
} as const;

/** Draws one replay frame; `show(null)` clears it. */
export function replayLayer(map: MapLibreMap): { show(frame: ReplayMember[] | null): void } {
  installLabelImages(map);
  const PATHS = 'replay-paths';
  const HEADS = 'replay-heads';
  const empty: FeatureCollection = { type: 'FeatureCollection', features: [] };
  let paths: FeatureCollection = empty;
  let heads: FeatureCollection = empty;
  onStyleReady(map, () => {
    if (map.getSource(PATHS)) return;
    map.addSource(PATHS, { type: 'geojson', data: paths });
    map.addSource(HEADS, { type: 'geojson', data: heads });
    map.addLayer({
      id: REPLAY_LAYERS.path,
      type: 'line',
      source: PATHS,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': ['get', 'colour'], 'line-width': 4, 'line-opacity': 0.85 },
    });
    map.addLayer({
      id: REPLAY_LAYERS.head,
      type: 'circle',
      source: HEADS,
      paint: {
        'circle-radius': 10,
        'circle-color': ['get', 'colour'],
        'circle-stroke-color': '#fff',
        'circle-stroke-width': 3,
      },
    });
    map.addLayer({
      id: REPLAY_LAYERS.label,
      type: 'symbol',
      source: HEADS,
      layout: {
        'icon-image': ['get', 'labelImage'],
        'icon-anchor': 'left',
        'icon-offset': [14, 0],
        'icon-allow-overlap': true,
      },
    });
  });
  return {
    show(frame) {
      const list = frame ?? [];
      paths = {
        type: 'FeatureCollection',
        features: list
          .filter((m) => m.path.length >= 2)
          .map((m): Feature<LineString> => ({
            type: 'Feature',
            properties: { userId: m.userId, colour: m.colour },
            geometry: { type: 'LineString', coordinates: m.path },
          })),
      };
      heads = {
        type: 'FeatureCollection',
        features: list
          .filter((m) => m.at !== null)
          .map((m): Feature<Point> => ({
            type: 'Feature',
            properties: {
              userId: m.userId,
              colour: m.colour,
              labelImage: labelImageId('replay', m.label),
            },
            geometry: { type: 'Point', coordinates: [m.at!.lon, m.at!.lat] },
          })),
      };
      (map.getSource(PATHS) as GeoJSONSource | undefined)?.setData(paths);
      (map.getSource(HEADS) as GeoJSONSource | undefined)?.setData(heads);
      labelsInUse(
        map,
        HEADS,
        heads.features.map((f) => String(f.properties?.labelImage)),
      );
    },
  };
}
