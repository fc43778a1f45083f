import type { FeatureCollection } from 'geojson';
import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';
import { onStyleReady } from './style-ready.ts';

/** Metres per degree of latitude. */
const M_PER_DEG = 111_320;
const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres (haversine), for a circle's radius picked by a click. */
export function distanceM(
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * A circle as a closed polygon ring of [lon, lat] (`steps` corners), for drawing: MapLibre
 * has no geographic circles, and a circle layer's radius is in pixels.
 */
export function circleRing(
  centre: { lat: number; lon: number },
  radiusM: number,
  steps = 64,
): Array<[number, number]> {
  const ring: Array<[number, number]> = [];
  const cosLat = Math.max(0.01, Math.cos((centre.lat * Math.PI) / 180));
  for (let i = 0; i < steps; i += 1) {
    const angle = (i / steps) * 2 * Math.PI;
    ring.push([
      centre.lon + (radiusM * Math.sin(angle)) / (M_PER_DEG * cosLat),
      centre.lat + (radiusM * Math.cos(angle)) / M_PER_DEG,
    ]);
  }
  ring.push(ring[0]!);
  return ring;
}

/**
 * An area being drawn: the corners clicked so far (a line for two, a filled polygon from
 * three; the ring is closed for display) in one colour. Used for alarm areas in the
 * dispatch console and for geofences on the map. Returns a setter (null clears it).
 */
export function drawnArea(
  map: MapLibreMap,
  options: { id: string; colour: string },
): (ring: Array<[number, number]> | null) => void {
  const { id, colour } = options;
  const toGeoJson = (ring: Array<[number, number]> | null): FeatureCollection => ({
    type: 'FeatureCollection',
    features:
      ring && ring.length >= 2
        ? [
            {
              type: 'Feature',
              properties: {},
              geometry:
                ring.length >= 3
                  ? { type: 'Polygon', coordinates: [[...ring, ring[0]!]] }
                  : { type: 'LineString', coordinates: ring },
            },
          ]
        : [],
  });
  let latest: Array<[number, number]> | null = null;
  onStyleReady(map, () => {
    if (map.getSource(id)) return;
    map.addSource(id, { type: 'geojson', data: toGeoJson(latest) });
    map.addLayer({
      id: `${id}-fill`,
      type: 'fill',
      source: id,
      paint: { 'fill-color': colour, 'fill-opacity': 0.2 },
    });
    map.addLayer({
      id: `${id}-line`,
      type: 'line',
      source: id,
      paint: { 'line-color': colour, 'line-width': 2 },
    });
  });
  return (ring) => {
    latest = ring;
    const source = map.getSource(id) as GeoJSONSource | undefined;
    source?.setData(toGeoJson(ring));
  };
}

/**
 * The id of the first layer drawn from the app's own data (not the basemap), so areas and
 * overlays go underneath members and incidents whatever order they are added in.
 */
export function firstAppLayer(
  map: MapLibreMap,
  except: (id: string) => boolean,
): string | undefined {
  const style = map.getStyle();
  for (const layer of style.layers) {
    if (!('source' in layer) || typeof layer.source !== 'string') continue;
    if (except(layer.id)) continue;
    if (style.sources[layer.source]?.type === 'geojson') return layer.id;
  }
  return undefined;
}
