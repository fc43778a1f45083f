import type { Map as MapLibreMap } from 'maplibre-gl';

/**
 * Runs `install` as soon as the map's style can take sources and layers, and again after
 * every later style change (`setStyle` drops all added sources and layers). `install`
 * must be idempotent (check `map.getSource(...)` first).
 */
export function onStyleReady(map: MapLibreMap, install: () => void): void {
  map.on('style.load', install);
  try {
    install();
  } catch {
    // The style is still loading ("Style is not done loading"); `style.load` will call again.
  }
}
