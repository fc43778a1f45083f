import { beforeAll, describe, expect, it } from 'vitest';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { PMTiles } from 'pmtiles';
import type { Position } from 'geojson';
import { buildBasemap, landFeatures } from './basemap.ts';
import { crossesAntimeridian, signedArea } from './geometry.ts';
import { bufferSource } from './pmtiles-writer.test.ts';

let reader: PMTiles;
beforeAll(() => {
  reader = new PMTiles(bufferSource(buildBasemap({ maxZoom: 5 })));
});

function inRing(point: Position, ring: Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i] as [number, number];
    const [xj, yj] = ring[j] as [number, number];
    if (
      yi > point[1]! !== yj > point[1]! &&
      point[0]! < ((xj - xi) * (point[1]! - yi)) / (yj - yi) + xi
    ) {
      inside = !inside;
    }
  }
  return inside;
}

/**
 * Whether the basemap shows land at a place, decided the way a map renderer decides:
 * the tile's polygons are classified into exteriors and holes by their winding.
 */
async function isLand(lon: number, lat: number, z: number): Promise<boolean> {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  const tile = await reader.getZxy(z, x, y);
  if (!tile) return false;
  // The reader has already undone the tiles' gzip.
  const vt = new VectorTile(new PbfReader(new Uint8Array(tile.data)));
  const layer = vt.layers.land;
  if (!layer) return false;
  for (let i = 0; i < layer.length; i += 1) {
    const geometry = layer.feature(i).toGeoJSON(x, y, z).geometry;
    const polygons =
      geometry.type === 'Polygon'
        ? [geometry.coordinates]
        : geometry.type === 'MultiPolygon'
          ? geometry.coordinates
          : [];
    for (const [outer, ...holes] of polygons) {
      if (outer && inRing([lon, lat], outer) && !holes.some((h) => inRing([lon, lat], h)))
        return true;
    }
  }
  return false;
}

describe('embedded basemap', () => {
  it('has land where land is and sea where sea is, at every zoom', async () => {
    const places: Array<[string, number, number, boolean]> = [
      ['Kassel', 9.5, 51.3, true],
      ['North Atlantic', -30, 40, false],
      ['Central Pacific', -150, 0, false],
      ['Pacific at the date line', 179.9, -5, false],
      ['Chukotka west of 180°', 177, 65.5, true],
      ['Chukotka east of 180°', -175, 66.5, true],
      ['Antarctica', 30, -80, true],
      ['Indian Ocean', 80, -20, false],
      ['Mediterranean', 18, 34, false],
      ['Fiji (Vanua Levu, across 180°)', 179.3, -16.5, true],
    ];
    for (const z of [0, 2, 5]) {
      for (const [name, lon, lat, land] of places) {
        expect(await isLand(lon, lat, z), `${name} at z${z}`).toBe(land);
      }
    }
  });

  it('repairs the source geometry: nothing crosses the antimeridian, exteriors counter-clockwise', () => {
    for (const f of landFeatures()) {
      const [outer, ...holes] = f.geometry.coordinates;
      expect(crossesAntimeridian(outer!)).toBe(false);
      expect(signedArea(outer!)).toBeGreaterThan(0);
      for (const hole of holes) expect(signedArea(hole)).toBeLessThan(0);
    }
  });

  it('describes its layers in the metadata and stays small', async () => {
    const metadata = (await reader.getMetadata()) as { vector_layers: Array<{ id: string }> };
    expect(metadata.vector_layers.map((l) => l.id)).toEqual(['land', 'boundaries']);
    const header = await reader.getHeader();
    expect(header.maxZoom).toBe(5);
    expect(header.numTileContents).toBeGreaterThan(100);
  });
});
