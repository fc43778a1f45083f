// Minimal declarations for the two tile-cutting packages, which ship no types.
declare module 'geojson-vt' {
  import type { FeatureCollection } from 'geojson';
  export interface TileFeature {
    type: 1 | 2 | 3;
    geometry: unknown;
    tags: Record<string, unknown> | null;
  }
  export interface Tile {
    features: TileFeature[];
  }
  export interface Index {
    getTile(z: number, x: number, y: number): Tile | null;
  }
  export default function geojsonvt(
    data: FeatureCollection,
    options: Record<string, unknown>,
  ): Index;
}
declare module 'vt-pbf' {
  import type { Tile } from 'geojson-vt';
  const vtpbf: {
    fromGeojsonVt(
      layers: Record<string, Tile>,
      options?: { version?: number; extent?: number },
    ): Uint8Array;
  };
  export default vtpbf;
}
declare module 'polylabel' {
  export default function polylabel(
    polygon: number[][][],
    precision?: number,
  ): [number, number] & { distance: number };
}
