import type { StyleSpecification } from 'maplibre-gl';

/** Colours chosen for contrast on a bright station screen and on a phone outdoors. */
export const BASEMAP_COLOURS = {
  water: '#a9cde6',
  land: '#f1eee6',
  boundary: '#8a7f96',
} as const;

/**
 * The style of the embedded basemap (layers `land`, `boundaries` from maps/). Everything
 * is fetched from our own origin through the `pmtiles://` protocol; no glyphs or sprites
 * are referenced yet, so the map needs nothing else.
 */
export function basemapStyle(origin: string): StyleSpecification {
  return {
    version: 8,
    sources: {
      basemap: {
        type: 'vector',
        url: `pmtiles://${origin}/tiles/basemap.pmtiles`,
        attribution: 'Natural Earth',
      },
    },
    layers: [
      { id: 'water', type: 'background', paint: { 'background-color': BASEMAP_COLOURS.water } },
      {
        id: 'land',
        type: 'fill',
        source: 'basemap',
        'source-layer': 'land',
        paint: { 'fill-color': BASEMAP_COLOURS.land },
      },
      {
        id: 'boundaries',
        type: 'line',
        source: 'basemap',
        'source-layer': 'boundaries',
        paint: {
          'line-color': BASEMAP_COLOURS.boundary,
          'line-width': 1,
          'line-dasharray': [3, 2],
        },
      },
    ],
  };
}
