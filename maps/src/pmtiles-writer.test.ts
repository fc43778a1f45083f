import { describe, expect, it } from 'vitest';
import { PMTiles, zxyToTileId, type Source } from 'pmtiles';
import { Compression, TileType, tileId, writePmtiles, type Tile } from './pmtiles-writer.ts';

/** Serves an in-memory archive to the official reader, as HTTP range requests would. */
export function bufferSource(archive: Buffer): Source {
  return {
    getKey: () => 'memory',
    async getBytes(offset, length) {
      const slice = archive.subarray(offset, offset + length);
      return {
        data: slice.buffer.slice(
          slice.byteOffset,
          slice.byteOffset + slice.byteLength,
        ) as ArrayBuffer,
      };
    },
  };
}

const options = {
  tileType: TileType.Mvt,
  tileCompression: Compression.None,
  minZoom: 0,
  maxZoom: 6,
  bounds: [-180, -85, 180, 85] as [number, number, number, number],
  center: [10, 51, 3] as [number, number, number],
  metadata: { name: 'test', vector_layers: [] },
};

describe('PMTiles writer', () => {
  it('numbers tiles on the Hilbert curves exactly as the reference reader does', () => {
    for (let z = 0; z <= 8; z += 1) {
      const n = 2 ** z;
      for (let i = 0; i < 200; i += 1) {
        const x = (i * 7919) % n;
        const y = (i * 104_729) % n;
        expect(tileId(z, x, y), `${z}/${x}/${y}`).toBe(zxyToTileId(z, x, y));
      }
    }
  });

  it('writes an archive the reference reader reads back tile for tile', async () => {
    const tiles: Tile[] = [];
    const ocean = new Uint8Array([1, 2, 3, 4]);
    for (let z = 0; z <= 6; z += 1) {
      for (let x = 0; x < 2 ** z; x += 1) {
        for (let y = 0; y < 2 ** z; y += 1) {
          // Mostly identical "ocean" tiles plus distinct ones, like a real basemap.
          const distinct = (x + y + z) % 5 === 0;
          tiles.push({
            z,
            x,
            y,
            data: distinct ? new TextEncoder().encode(`${z}/${x}/${y}`) : ocean,
          });
        }
      }
    }
    const archive = writePmtiles(tiles, options);
    const reader = new PMTiles(bufferSource(archive));
    const header = await reader.getHeader();
    expect(header).toMatchObject({
      specVersion: 3,
      minZoom: 0,
      maxZoom: 6,
      numAddressedTiles: tiles.length,
    });
    expect(header.centerLon).toBeCloseTo(10);
    expect(await reader.getMetadata()).toEqual(options.metadata);
    for (const tile of tiles.filter((_, i) => i % 37 === 0)) {
      const got = await reader.getZxy(tile.z, tile.x, tile.y);
      expect(new Uint8Array(got!.data), `${tile.z}/${tile.x}/${tile.y}`).toEqual(tile.data);
    }
    // Identical tiles are stored once: far smaller than all tiles side by side.
    const raw = tiles.reduce((sum, t) => sum + t.data.length, 0);
    expect(Number(header.tileDataLength)).toBeLessThan(raw / 2);
    expect(await reader.getZxy(7, 0, 0)).toBeUndefined();
  });

  it('moves entries into leaf directories when the root would exceed 16 KiB', async () => {
    const tiles: Tile[] = [];
    for (let x = 0; x < 256; x += 1) {
      for (let y = 0; y < 256; y += 1) {
        // Random lengths make the directory incompressible enough to need leaves.
        const padding = '.'.repeat(Math.floor(Math.random() * 200));
        tiles.push({ z: 8, x, y, data: new TextEncoder().encode(`${x}-${y}|${padding}`) });
      }
    }
    const archive = writePmtiles(tiles, { ...options, minZoom: 8, maxZoom: 8 });
    const reader = new PMTiles(bufferSource(archive));
    const header = await reader.getHeader();
    expect(header.rootDirectoryOffset + header.rootDirectoryLength).toBeLessThanOrEqual(16_384);
    expect(header.leafDirectoryLength).toBeGreaterThan(0);
    for (const [x, y] of [
      [0, 0],
      [255, 255],
      [17, 200],
      [128, 3],
    ] as const) {
      const got = await reader.getZxy(8, x, y);
      expect(new TextDecoder().decode(got!.data).split('|')[0]).toBe(`${x}-${y}`);
    }
  });

  it('refuses tiles outside their zoom level', () => {
    expect(() => tileId(2, 4, 0)).toThrow(/out of range/);
  });
});
