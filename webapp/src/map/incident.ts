import { Marker, type Map as MapLibreMap } from 'maplibre-gl';
import { drawnArea } from './draw.ts';

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
  return drawnArea(map, { id: 'alarm-area', colour: '#c62828' });
}
