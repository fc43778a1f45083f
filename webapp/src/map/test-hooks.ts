import type { Map as MapLibreMap } from 'maplibre-gl';

/**
 * What browser tests may ask the map, because WebGL output is pixels, not DOM: which of
 * our features are drawn where. Only present when the page was opened with the storage
 * flag `trupp.mapTestHooks` = '1' (tests set it before the app loads); nothing in the app
 * reads it, and it exposes only what the signed-in user's map already shows.
 */
export const TEST_HOOKS_FLAG = 'trupp.mapTestHooks';

export interface RenderedFeature {
  layer: string;
  properties: Record<string, unknown>;
  /** Screen position (CSS pixels in the map container) of a point feature. */
  point: { x: number; y: number } | null;
}

export interface MapTestHooks {
  rendered(layers: string[]): RenderedFeature[];
  jumpTo(center: [number, number], zoom: number): Promise<void>;
  zoom(): number;
}

declare global {
  interface Window {
    __truppMap?: MapTestHooks;
  }
}

/** Installs `window.__truppMap` when the flag is set; returns the uninstaller. */
export function exposeMapForTests(map: MapLibreMap): () => void {
  let enabled = false;
  try {
    enabled = window.localStorage.getItem(TEST_HOOKS_FLAG) === '1';
  } catch {
    enabled = false;
  }
  if (!enabled) return () => undefined;
  window.__truppMap = {
    rendered(layers) {
      const present = layers.filter((id) => map.getLayer(id));
      if (present.length === 0) return [];
      return map.queryRenderedFeatures({ layers: present }).map((f) => {
        const at =
          f.geometry.type === 'Point'
            ? map.project(f.geometry.coordinates as [number, number])
            : null;
        return {
          layer: f.layer.id,
          properties: { ...f.properties },
          point: at ? { x: at.x, y: at.y } : null,
        };
      });
    },
    jumpTo(center, zoom) {
      return new Promise((resolve) => {
        map.once('idle', () => resolve());
        map.jumpTo({ center, zoom });
        map.triggerRepaint();
      });
    },
    zoom: () => map.getZoom(),
  };
  return () => {
    delete window.__truppMap;
  };
}
