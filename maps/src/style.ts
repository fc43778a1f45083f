import type {
  LayerSpecification,
  StyleSpecification,
  SymbolLayerSpecification,
} from '@maplibre/maplibre-gl-style-spec';
import { layers as protomapsLayers, namedFlavor } from '@protomaps/basemaps';
import type { PmtilesHeader } from './pmtiles-header.ts';

/**
 * The MapLibre styles of the basemap. Every URL in them is a path on our own origin
 * (`pmtiles:///tiles/…` for archives): the page resolves them against its own origin, so
 * nothing is fetched from anywhere else and a reverse proxy needs no configuration.
 */

export const EMBEDDED_ARCHIVE_PATH = '/tiles/basemap.pmtiles';
export const REGION_ARCHIVE_PATH = '/tiles/region.pmtiles';
export const GLYPHS_PATH = '/maps/fonts/{fontstack}/{range}.pbf';

/** Colours chosen for contrast on a bright station screen and on a phone outdoors. */
export const BASEMAP_COLOURS = {
  water: '#a9cde6',
  land: '#f1eee6',
  boundary: '#8a7f96',
  country: '#6b5f78',
  place: '#2f2f2f',
  halo: '#ffffff',
} as const;

export type StyleLanguage = 'de' | 'en';

/** Where the map opens without an extract: Germany, where our first users are. */
const EMBEDDED_VIEW = { center: [10.45, 51.16] as [number, number], zoom: 4.5 };

const ATTRIBUTION_EMBEDDED = 'Natural Earth · GeoNames (CC BY 4.0)';
const ATTRIBUTION_OSM =
  '<a href="https://github.com/protomaps/basemaps">Protomaps</a> © <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>';

/** The land and border layers of the embedded archive (source `basemap`), ids prefixed. */
function embeddedLayers(colours: { land: string }, prefix = ''): LayerSpecification[] {
  return [
    {
      id: `${prefix}land`,
      type: 'fill',
      source: 'basemap',
      'source-layer': 'land',
      paint: { 'fill-color': colours.land },
    },
    {
      id: `${prefix}boundaries`,
      type: 'line',
      source: 'basemap',
      'source-layer': 'boundaries',
      paint: {
        'line-color': BASEMAP_COLOURS.boundary,
        'line-width': 1,
        'line-dasharray': [3, 2],
      },
    },
  ];
}

function embeddedLabels(lang: StyleLanguage): SymbolLayerSpecification[] {
  return [
    {
      id: 'place-labels',
      type: 'symbol',
      source: 'basemap',
      'source-layer': 'places',
      filter: ['>=', ['zoom'], ['get', 'minzoom']],
      layout: {
        'text-field': ['get', 'name'],
        'text-font': [
          'case',
          ['==', ['get', 'capital'], 1],
          ['literal', ['Noto Sans Medium']],
          ['literal', ['Noto Sans Regular']],
        ],
        'text-size': [
          'interpolate',
          ['linear'],
          ['get', 'population'],
          5000,
          11,
          100000,
          13,
          1000000,
          15,
          5000000,
          17,
        ],
        'text-max-width': 8,
        'text-padding': 3,
        'symbol-sort-key': ['-', 0, ['get', 'population']],
      },
      paint: {
        'text-color': BASEMAP_COLOURS.place,
        'text-halo-color': BASEMAP_COLOURS.halo,
        'text-halo-width': 1.5,
      },
    },
    {
      id: 'country-labels',
      type: 'symbol',
      source: 'basemap',
      'source-layer': 'countries',
      filter: ['>=', ['zoom'], ['get', 'minzoom']],
      layout: {
        'text-field': ['coalesce', ['get', `name_${lang}`], ['get', 'name']],
        'text-font': ['Noto Sans Medium'],
        'text-size': ['interpolate', ['linear'], ['zoom'], 1, 11, 6, 17],
        'text-transform': 'uppercase',
        'text-letter-spacing': 0.08,
        'text-max-width': 7,
        'symbol-sort-key': ['get', 'minzoom'],
      },
      paint: {
        'text-color': BASEMAP_COLOURS.country,
        'text-halo-color': BASEMAP_COLOURS.halo,
        'text-halo-width': 1.5,
      },
    },
  ];
}

/** The embedded world basemap with place and country labels. */
export function embeddedStyle(lang: StyleLanguage): StyleSpecification {
  return {
    version: 8,
    name: 'Trupp basemap',
    metadata: { 'trupp:basemap': 'embedded', 'trupp:max-zoom': 12 },
    ...EMBEDDED_VIEW,
    glyphs: GLYPHS_PATH,
    sources: {
      basemap: {
        type: 'vector',
        url: `pmtiles://${EMBEDDED_ARCHIVE_PATH}`,
        attribution: ATTRIBUTION_EMBEDDED,
      },
    },
    layers: [
      { id: 'water', type: 'background', paint: { 'background-color': BASEMAP_COLOURS.water } },
      ...embeddedLayers(BASEMAP_COLOURS),
      ...embeddedLabels(lang),
    ],
  };
}

/** A zoom at which bounds of [west, south, east, north] about fill a screen. */
export function zoomToShow(bounds: [number, number, number, number]): number {
  const [west, south, east, north] = bounds;
  const span = Math.max(east - west, (north - south) * 1.5, 1e-6);
  return Math.min(14, Math.max(2, Math.floor(Math.log2(360 / span)) + 1));
}

/**
 * MapLibre shows a warning for every icon it has no sprite for; we ship no sprites (they
 * would come from outside), so icons are dropped: symbol layers keep their text, layers
 * that were icons only (one-way arrows) go.
 */
export function withoutIcons(layers: LayerSpecification[]): LayerSpecification[] {
  const out: LayerSpecification[] = [];
  for (const layer of layers) {
    if (layer.type !== 'symbol') {
      out.push(layer);
      continue;
    }
    const layout = Object.fromEntries(
      Object.entries(layer.layout ?? {}).filter(([key]) => !key.startsWith('icon-')),
    );
    if (!('text-field' in layout)) continue;
    const paint = Object.fromEntries(
      Object.entries(layer.paint ?? {}).filter(([key]) => !key.startsWith('icon-')),
    );
    out.push({ ...layer, layout, paint } as SymbolLayerSpecification);
  }
  return out;
}

/**
 * An OpenStreetMap extract in the Protomaps schema (source `protomaps`), styled with the
 * Protomaps basemap layers in their light flavour, over the embedded world land and
 * borders so the map does not end in grey where the extract ends.
 */
export function regionStyle(lang: StyleLanguage, header: PmtilesHeader): StyleSpecification {
  const flavor = { ...namedFlavor('light'), pois: undefined };
  const [background, ...rest] = withoutIcons(
    protomapsLayers('protomaps', flavor, { lang }) as LayerSpecification[],
  );
  return {
    version: 8,
    name: 'Trupp basemap (regional extract)',
    metadata: { 'trupp:basemap': 'region', 'trupp:max-zoom': 19 },
    center: [header.center[0], header.center[1]],
    zoom: zoomToShow(header.bounds),
    glyphs: GLYPHS_PATH,
    sources: {
      protomaps: {
        type: 'vector',
        url: `pmtiles://${REGION_ARCHIVE_PATH}`,
        attribution: ATTRIBUTION_OSM,
      },
      basemap: {
        type: 'vector',
        url: `pmtiles://${EMBEDDED_ARCHIVE_PATH}`,
        attribution: ATTRIBUTION_EMBEDDED,
      },
    },
    layers: [
      // Protomaps has layers named water, boundaries …: ours get a prefix.
      { id: 'world-water', type: 'background', paint: { 'background-color': flavor.water } },
      ...embeddedLayers({ land: flavor.earth }, 'world-'),
      ...(background && background.type !== 'background' ? [background] : []),
      ...rest,
    ],
  };
}

/** The language of labels for a `lang` query value (German for any German locale). */
export function styleLanguage(value: string | undefined): StyleLanguage {
  return value?.toLowerCase().startsWith('de') ? 'de' : 'en';
}
