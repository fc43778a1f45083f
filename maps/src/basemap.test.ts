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
/** The features of one label layer in the tile of zoom z around a place. */
async function labelsAt(
  layerName: 'places' | 'countries',
  lon: number,
  lat: number,
  z: number,
): Promise<Array<Record<string, unknown>>> {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  const tile = await reader.getZxy(z, x, y);
  if (!tile) return [];
  const layer = new VectorTile(new PbfReader(new Uint8Array(tile.data))).layers[layerName];
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < (layer?.length ?? 0); i += 1) out.push(layer!.feature(i).properties);
  return out;
}

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
    expect(metadata.vector_layers.map((l) => l.id)).toEqual([
      'land',
      'boundaries',
      'countries',
      'places',
    ]);
    const header = await reader.getHeader();
    expect(header.maxZoom).toBe(5);
    expect(header.numTileContents).toBeGreaterThan(100);
  });

  it('labels places by size: big cities from low zooms, towns only deep down, umlauts intact', async () => {
    const names = async (lon: number, lat: number, z: number) =>
      (await labelsAt('places', lon, lat, z)).map((p) => p.name);
    // Zoom 3: the big cities of Germany, no towns.
    const z3 = await names(13.4, 52.5, 3);
    expect(z3).toEqual(expect.arrayContaining(['Berlin', 'Hamburg', 'Munich']));
    expect(z3).not.toContain('Gießen');
    // The deepest zoom carries the towns, with their names as written locally.
    const z5 = await names(8.68, 50.59, 5);
    expect(z5).toEqual(expect.arrayContaining(['Gießen', 'Köln', 'Nürnberg', 'Kassel']));
    const kassel = (await labelsAt('places', 9.5, 51.32, 5)).find((p) => p.name === 'Kassel');
    expect(kassel).toMatchObject({ capital: 0, minzoom: 5 });
    expect(kassel!.population).toBeGreaterThan(150_000);
    // City districts (GeoNames PPLX, such as Berlin's) are not labelled as places of their own.
    const berlin = await names(13.4, 52.5, 5);
    expect(berlin).toContain('Potsdam');
    expect(berlin).not.toContain('Wedding');
    expect(berlin).not.toContain('Zehlendorf');
  });

  it('labels countries in German and English from zoom 1 or 2 on, inside the country', async () => {
    const at = async (lon: number, lat: number, z: number) =>
      (await labelsAt('countries', lon, lat, z)).map((p) => [p.name_de, p.name_en]);
    expect(await at(94.5, 63.6, 1)).toContainEqual(['Russland', 'Russia']);
    expect(await at(9.6, 51.0, 2)).toContainEqual(['Deutschland', 'Germany']);
    expect(await at(9.6, 51.0, 1)).not.toContainEqual(['Deutschland', 'Germany']);
    const chile = (await labelsAt('countries', -69, -23, 5)).length;
    expect(chile).toBeGreaterThan(0);
  });

  it('keeps label tiles small enough for a phone', async () => {
    const header = await reader.getHeader();
    const sizes: number[] = [];
    for (const [lon, lat] of [
      [9.5, 51.3],
      [77.2, 28.6],
      [-74, 40.7],
      [121.5, 31.2],
    ] as const) {
      for (let z = 0; z <= header.maxZoom; z += 1) {
        const n = 2 ** z;
        const x = Math.floor(((lon + 180) / 360) * n);
        const rad = (lat * Math.PI) / 180;
        const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
        const tile = await reader.getZxy(z, x, y);
        if (tile) sizes.push(tile.data.byteLength);
      }
    }
    // Uncompressed; a phone parses each in well under 100 ms.
    expect(Math.max(...sizes)).toBeLessThan(200_000);
  });
});
