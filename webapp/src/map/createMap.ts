import { Map as MapLibreMap, NavigationControl, addProtocol, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// MapLibre looks for its worker next to its own module, which bundling moves; Vite emits
// the worker as a separate file on our origin and hands us its URL.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { Protocol } from 'pmtiles';
import { resolveOnOrigin, styleMaxZoom, styleUrl } from './basemap-style.ts';

let protocolRegistered = false;

/** Without street maps the world map allows no deeper zoom than this. */
const DEFAULT_MAX_ZOOM = 12;

/**
 * All MapLibre code lives in `src/map/`. Creates a map on `container` with the basemap
 * style of our server, read from our own origin by range requests (pmtiles protocol).
 * The style says where the map opens (Germany for the world map, the region of a
 * street-map extract) and how deep it may zoom.
 */
export function createMap(container: HTMLElement): MapLibreMap {
  if (!protocolRegistered) {
    setWorkerUrl(workerUrl);
    addProtocol('pmtiles', new Protocol().tile);
    protocolRegistered = true;
  }
  const map = new MapLibreMap({
    container,
    style: styleUrl(document.documentElement.lang || navigator.language),
    transformRequest: (url) => ({ url: resolveOnOrigin(url, window.location.origin) }),
    maxZoom: DEFAULT_MAX_ZOOM,
    attributionControl: { compact: true },
  });
  map.on('style.load', () => map.setMaxZoom(styleMaxZoom(map.getStyle(), DEFAULT_MAX_ZOOM)));
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  return map;
}
