import type { FeatureCollection } from 'geojson';
import { Marker, type GeoJSONSource, type Map as MapLibreMap } from 'maplibre-gl';

/** A red incident marker that can be moved; returns a setter (null removes it). */
export function incidentMarker(
  map: MapLibreMap,
): (at: { lat: number; lon: number } | null) => void {
  let marker: Marker | null = null;
  return (at) => {
    if (!at) {
      marker?.remove();
      marker = null;
      return;
    }
    marker ??= new Marker({ color: '#c62828' }).setLngLat([at.lon, at.lat]).addTo(map);
    marker.setLngLat([at.lon, at.lat]);
  };
}

/** Calls `pick` with the clicked position. */
export function onMapClick(
  map: MapLibreMap,
  pick: (at: { lat: number; lon: number }) => void,
): void {
  map.on('click', (event) => pick({ lat: event.lngLat.lat, lon: event.lngLat.lng }));
}

/** Centres the map on the incident, as close as the basemap allows (or at `zoom`). */
export function centreOnIncident(
  map: MapLibreMap,
  at: { lat: number; lon: number },
  zoom: number = map.getMaxZoom(),
): void {
  map.jumpTo({ center: [at.lon, at.lat], zoom });
}

/**
 * A drawn alarm area (polygon of [lon, lat] vertices, closed for display) on the map;
 * returns a setter (null or fewer than two points clears it).
 */
export function areaOverlay(map: MapLibreMap): (ring: Array<[number, number]> | null) => void {
  const id = 'alarm-area';
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
  const install = () => {
    if (map.getSource(id)) return;
    map.addSource(id, { type: 'geojson', data: toGeoJson(latest) });
    map.addLayer({
      id: `${id}-fill`,
      type: 'fill',
      source: id,
      paint: { 'fill-color': '#c62828', 'fill-opacity': 0.2 },
    });
    map.addLayer({
      id: `${id}-line`,
      type: 'line',
      source: id,
      paint: { 'line-color': '#c62828', 'line-width': 2 },
    });
  };
  if (map.isStyleLoaded()) install();
  else map.once('load', install);
  return (ring) => {
    latest = ring;
    const source = map.getSource(id) as GeoJSONSource | undefined;
    source?.setData(toGeoJson(ring));
  };
}
