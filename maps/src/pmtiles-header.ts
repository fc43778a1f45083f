import { closeSync, openSync, readSync } from 'node:fs';

/** What the style needs to know of an archive: PMTiles v3 header fields (spec §3). */
export interface PmtilesHeader {
  /** 1 = Mapbox Vector Tiles; anything else cannot be styled as a vector basemap. */
  tileType: number;
  minZoom: number;
  maxZoom: number;
  /** [west, south, east, north] in degrees. */
  bounds: [number, number, number, number];
  /** [lon, lat, zoom]. */
  center: [number, number, number];
}

export const HEADER_BYTES = 127;

export class PmtilesHeaderError extends Error {}

/**
 * Parses the fixed 127-byte header.
 * @throws PmtilesHeaderError when the bytes are not a PMTiles version 3 header.
 */
export function parsePmtilesHeader(bytes: Uint8Array): PmtilesHeader {
  if (bytes.length < HEADER_BYTES) throw new PmtilesHeaderError('shorter than a PMTiles header');
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.toString('ascii', 0, 7) !== 'PMTiles') {
    throw new PmtilesHeaderError('not a PMTiles archive');
  }
  if (view.readUInt8(7) !== 3) {
    throw new PmtilesHeaderError(`PMTiles version ${view.readUInt8(7)}, only 3 is supported`);
  }
  const deg = (at: number) => view.readInt32LE(at) / 1e7;
  return {
    tileType: view.readUInt8(99),
    minZoom: view.readUInt8(100),
    maxZoom: view.readUInt8(101),
    bounds: [deg(102), deg(106), deg(110), deg(114)],
    center: [deg(119), deg(123), view.readUInt8(118)],
  };
}

/**
 * Reads the header of an archive on disk.
 * @throws PmtilesHeaderError as parsePmtilesHeader; the file system's error when unreadable.
 */
export function readPmtilesHeader(path: string): PmtilesHeader {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(HEADER_BYTES);
    const read = readSync(fd, bytes, 0, HEADER_BYTES, 0);
    return parsePmtilesHeader(bytes.subarray(0, read));
  } finally {
    closeSync(fd);
  }
}
