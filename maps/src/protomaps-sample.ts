// The tiling packages have no types; ours are declared here, also for packages importing this file.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./vendor.d.ts" />
import { gzipSync } from 'node:zlib';
import type { Feature } from 'geojson';
import geojsonvt, { type Tile as VtTile } from 'geojson-vt';
import vtpbf from 'vt-pbf';
import { Compression, TileType, writePmtiles, type Tile } from './pmtiles-writer.ts';

/**
 * A tiny archive in the Protomaps basemap schema (layers `earth`, `water`, `roads`,
 * `places` with their `kind` and `name` properties) around Kassel, written with our own
 * writer. It stands in for a real OpenStreetMap extract in tests, where downloading one
 * is not possible; a real extract has the same layers, only far more of them.
 */

/** [west, south, east, north] of the sample's land. */
export const SAMPLE_BOUNDS: [number, number, number, number] = [9.0, 51.0, 10.0, 51.6];
/** A lake in the middle of the land, where the embedded basemap has only land. */
export const SAMPLE_LAKE: [number, number, number, number] = [9.4, 51.25, 9.6, 51.35];
export const SAMPLE_MAX_ZOOM = 12;

function box([w, s, e, n]: [number, number, number, number], properties: object): Feature {
  return {
    type: 'Feature',
    properties: { ...properties },
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [w, s],
          [e, s],
          [e, n],
          [w, n],
          [w, s],
        ],
      ],
    },
  };
}

function line(coordinates: [number, number][], properties: object): Feature {
  return {
    type: 'Feature',
    properties: { ...properties },
    geometry: { type: 'LineString', coordinates },
  };
}

export function sampleLayers(): Record<string, Feature[]> {
  return {
    earth: [box(SAMPLE_BOUNDS, { kind: 'earth' })],
    water: [box(SAMPLE_LAKE, { kind: 'lake', name: 'Probesee' })],
    roads: [
      line(
        [
          [9.05, 51.05],
          [9.95, 51.55],
        ],
        { kind: 'highway', name: 'A 7', ref: 'A 7', min_zoom: 3 },
      ),
      line(
        [
          [9.1, 51.45],
          [9.9, 51.2],
        ],
        { kind: 'major_road', name: 'Wilhelmshöher Allee', min_zoom: 6 },
      ),
    ],
    places: [
      {
        type: 'Feature',
        properties: { kind: 'locality', name: 'Kassel', min_zoom: 4, population_rank: 11 },
        geometry: { type: 'Point', coordinates: [9.5, 51.3166] },
      },
    ],
  };
}

export function buildProtomapsSample(): Buffer {
  const extent = 4096;
  const options = {
    maxZoom: SAMPLE_MAX_ZOOM,
    indexMaxZoom: SAMPLE_MAX_ZOOM,
    extent,
    buffer: 64,
    tolerance: 3,
  };
  const indexes = Object.entries(sampleLayers()).map(
    ([name, features]) =>
      [name, geojsonvt({ type: 'FeatureCollection', features }, options)] as const,
  );
  const [west, south, east, north] = SAMPLE_BOUNDS;
  const tiles: Tile[] = [];
  for (let z = 0; z <= SAMPLE_MAX_ZOOM; z += 1) {
    const n = 2 ** z;
    const tileX = (lon: number) => Math.floor(((lon + 180) / 360) * n);
    const tileY = (lat: number) => {
      const rad = (lat * Math.PI) / 180;
      return Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
    };
    for (let x = tileX(west); x <= tileX(east); x += 1) {
      for (let y = tileY(north); y <= tileY(south); y += 1) {
        const layers: Record<string, VtTile> = {};
        for (const [name, index] of indexes) {
          const tile = index.getTile(z, x, y);
          if (tile && tile.features.length > 0) layers[name] = tile;
        }
        if (Object.keys(layers).length === 0) continue;
        tiles.push({
          z,
          x,
          y,
          data: gzipSync(vtpbf.fromGeojsonVt(layers, { version: 2, extent })),
        });
      }
    }
  }
  return writePmtiles(tiles, {
    tileType: TileType.Mvt,
    tileCompression: Compression.Gzip,
    minZoom: 0,
    maxZoom: SAMPLE_MAX_ZOOM,
    bounds: SAMPLE_BOUNDS,
    center: [9.5, 51.3, 9],
    metadata: {
      name: 'Protomaps schema sample (Kassel)',
      attribution: 'Test data',
      vector_layers: ['earth', 'water', 'roads', 'places'].map((id) => ({ id, fields: {} })),
    },
  });
}
