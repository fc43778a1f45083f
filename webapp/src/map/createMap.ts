import { Map as MapLibreMap, NavigationControl, addProtocol, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// MapLibre looks for its worker next to its own module, which bundling moves; Vite emits
// the worker as a separate file on our origin and hands us its URL.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { Protocol } from 'pmtiles';
import { basemapStyle } from './basemap-style.ts';

let protocolRegistered = false;

/** Germany, where our first users are; a later change centres on the tenant's area. */
const DEFAULT_VIEW = { center: [10.45, 51.16] as [number, number], zoom: 4.5 };

/**
 * All MapLibre code lives in `src/map/`. Creates a map on `container` with the embedded
 * basemap read from our own origin by range requests (pmtiles protocol).
 */
export function createMap(container: HTMLElement): MapLibreMap {
  if (!protocolRegistered) {
    setWorkerUrl(workerUrl);
    addProtocol('pmtiles', new Protocol().tile);
    protocolRegistered = true;
  }
  const map = new MapLibreMap({
    container,
    style: basemapStyle(window.location.origin),
    ...DEFAULT_VIEW,
    maxZoom: 12,
    attributionControl: { compact: true },
  });
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  return map;
}
