import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import geojsonvt from 'geojson-vt';
import { feature, mesh } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import vtpbf from 'vt-pbf';
import { repairPolygon } from './geometry.ts';
import { Compression, TileType, writePmtiles, type Tile } from './pmtiles-writer.ts';

const require = createRequire(import.meta.url);

/** Vector-tile layers of the embedded basemap (documented in the PMTiles metadata). */
export const BASEMAP_LAYERS = {
  land: 'Land polygons (Natural Earth 1:50m via world-atlas)',
  boundaries: 'Borders between countries (lines)',
} as const;

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
  const tiles: Tile[] = [];
  for (let z = 0; z <= options.maxZoom; z += 1) {
    for (let x = 0; x < 2 ** z; x += 1) {
      for (let y = 0; y < 2 ** z; y += 1) {
        const layers: Record<
          string,
          NonNullable<ReturnType<(typeof indexes)['land']['getTile']>>
        > = {};
        for (const [name, index] of Object.entries(indexes)) {
          const tile = index.getTile(z, x, y);
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
      attribution: 'Natural Earth (public domain), via world-atlas',
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
