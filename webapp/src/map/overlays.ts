import type { FeatureCollection } from 'geojson';
import { Popup, type MapLayerMouseEvent, type Map as MapLibreMap } from 'maplibre-gl';
import { firstAppLayer } from './draw.ts';
import { onStyleReady } from './style-ready.ts';

export const DEFAULT_OVERLAY_COLOUR = '#1565c0';

/** The layer ids of one overlay: polygons filled and outlined, lines, points as dots. */
export function overlayLayerIds(overlayId: string) {
  const base = `overlay-${overlayId}`;
  return { source: base, fill: `${base}-fill`, line: `${base}-line`, point: `${base}-point` };
}

/** The text a click on an overlay feature shows: its name or title, else every property. */
export function featureText(properties: Record<string, unknown>): string {
  for (const key of ['name', 'title', 'label', 'Name', 'NAME', 'description']) {
    const value = properties[key];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return Object.entries(properties)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join('\n');
}

interface Shown {
  data: FeatureCollection;
  colour: string;
  visible: boolean;
}

export interface OverlayLayers {
  /** Draws (or redraws) one overlay's data in a colour. */
  show(overlayId: string, data: FeatureCollection, colour: string | null): void;
  setVisible(overlayId: string, visible: boolean): void;
  has(overlayId: string): boolean;
  remove(overlayId: string): void;
}

/**
 * GeoJSON overlay layers (hydrants, assembly points …) under the app's own markers; a
 * click on a feature shows its name in a small popup (text only, never HTML from the file).
 */
export function overlayLayers(map: MapLibreMap): OverlayLayers {
  const shown = new Map<string, Shown>();
  /** Overlays whose click handlers are on (they outlive a style change; layers do not). */
  const listening = new Set<string>();
  const popup = new Popup({ closeButton: true, maxWidth: '260px' });

  const onClick = (event: MapLayerMouseEvent) => {
    const feature = event.features?.[0];
    if (!feature) return;
    const text = featureText(feature.properties ?? {});
    if (!text) return;
    const body = document.createElement('div');
    body.style.whiteSpace = 'pre-line';
    body.dataset.testid = 'overlay-popup';
    body.textContent = text;
    popup.setLngLat(event.lngLat).setDOMContent(body).addTo(map);
  };

  function install(overlayId: string): void {
    const entry = shown.get(overlayId);
    const ids = overlayLayerIds(overlayId);
    if (!entry || map.getSource(ids.source)) return;
    map.addSource(ids.source, { type: 'geojson', data: entry.data });
    const before = firstAppLayer(map, (id) => id.startsWith('overlay-'));
    const visibility = entry.visible ? 'visible' : 'none';
    map.addLayer(
      {
        id: ids.fill,
        type: 'fill',
        source: ids.source,
        filter: ['==', ['geometry-type'], 'Polygon'],
        layout: { visibility },
        paint: { 'fill-color': entry.colour, 'fill-opacity': 0.2 },
      },
      before,
    );
    map.addLayer(
      {
        id: ids.line,
        type: 'line',
        source: ids.source,
        filter: ['in', ['geometry-type'], ['literal', ['LineString', 'Polygon']]],
        layout: { visibility },
        paint: { 'line-color': entry.colour, 'line-width': 2 },
      },
      before,
    );
    map.addLayer(
      {
        id: ids.point,
        type: 'circle',
        source: ids.source,
        filter: ['==', ['geometry-type'], 'Point'],
        layout: { visibility },
        paint: {
          'circle-radius': 6,
          'circle-color': entry.colour,
          'circle-stroke-color': '#fff',
          'circle-stroke-width': 2,
        },
      },
      before,
    );
    if (!listening.has(overlayId)) {
      listening.add(overlayId);
      for (const layer of [ids.fill, ids.line, ids.point]) map.on('click', layer, onClick);
    }
  }

  function uninstall(overlayId: string): void {
    const ids = overlayLayerIds(overlayId);
    for (const layer of [ids.point, ids.line, ids.fill]) {
      if (listening.has(overlayId)) map.off('click', layer, onClick);
      if (map.getLayer(layer)) map.removeLayer(layer);
    }
    listening.delete(overlayId);
    if (map.getSource(ids.source)) map.removeSource(ids.source);
  }

  // After a style change every overlay is added again.
  onStyleReady(map, () => {
    for (const id of shown.keys()) install(id);
  });

  return {
    show(overlayId, data, colour) {
      uninstall(overlayId);
      const visible = shown.get(overlayId)?.visible ?? true;
      shown.set(overlayId, { data, colour: colour ?? DEFAULT_OVERLAY_COLOUR, visible });
      try {
        install(overlayId);
      } catch {
        // The style is still loading; `style.load` installs it.
      }
    },
    setVisible(overlayId, visible) {
      const entry = shown.get(overlayId);
      if (entry) entry.visible = visible;
      const ids = overlayLayerIds(overlayId);
      for (const layer of [ids.fill, ids.line, ids.point]) {
        if (map.getLayer(layer))
          map.setLayoutProperty(layer, 'visibility', visible ? 'visible' : 'none');
      }
    },
    has: (overlayId) => shown.has(overlayId),
    remove(overlayId) {
      uninstall(overlayId);
      shown.delete(overlayId);
    },
  };
}
