import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * A writer for PMTiles version 3 archives (https://github.com/protomaps/PMTiles, spec v3):
 * 127-byte header, gzip-compressed root directory (≤ 16 KiB together with the header, as
 * latency-optimised readers fetch only that), JSON metadata, leaf directories when the
 * root would be too large, then tile data. Identical tiles (open ocean) are stored once
 * and addressed by run-length entries. The `pmtiles` npm package only reads; this writes.
 */

export interface Tile {
  z: number;
  x: number;
  y: number;
  /** The tile as stored (already compressed if `tileCompression` says so). */
  data: Uint8Array;
}

export const TileType = { Mvt: 1 } as const;
export const Compression = { None: 1, Gzip: 2 } as const;

export interface ArchiveOptions {
  tileType: number;
  tileCompression: number;
  minZoom: number;
  maxZoom: number;
  /** [west, south, east, north] in degrees. */
  bounds: [number, number, number, number];
  center: [number, number, number];
  metadata: Record<string, unknown>;
}

interface Entry {
  tileId: number;
  offset: number;
  length: number;
  runLength: number;
}

const HEADER_BYTES = 127;
const ROOT_LIMIT_BYTES = 16_384 - HEADER_BYTES;

/**
 * Position of a tile on the sequence of Hilbert curves over all zoom levels: all tiles
 * of lower zooms first, then the Hilbert index of (x, y) at zoom z.
 */
export function tileId(z: number, x: number, y: number): number {
  if (z > 26) throw new Error(`zoom ${z} is beyond what fits in a double`);
  const n = 2 ** z;
  if (x < 0 || y < 0 || x >= n || y >= n) throw new Error(`tile ${z}/${x}/${y} out of range`);
  const base = (4 ** z - 1) / 3;
  let d = 0;
  let tx = x;
  let ty = y;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (tx & s) > 0 ? 1 : 0;
    const ry = (ty & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        tx = n - 1 - tx;
        ty = n - 1 - ty;
      }
      [tx, ty] = [ty, tx];
    }
  }
  return base + d;
}

/** Unsigned LEB128 varint for integers up to 2^53 (plain arithmetic: bit operators stop at 2^31). */
function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Directory encoding of spec §4: count, then columns of tile-id deltas, run lengths, lengths, offsets. */
export function serializeDirectory(entries: Entry[]): Buffer {
  const out: number[] = [];
  pushVarint(out, entries.length);
  let lastId = 0;
  for (const e of entries) {
    pushVarint(out, e.tileId - lastId);
    lastId = e.tileId;
  }
  for (const e of entries) pushVarint(out, e.runLength);
  for (const e of entries) pushVarint(out, e.length);
  entries.forEach((e, i) => {
    const prev = entries[i - 1];
    // 0 means "right after the previous entry's data", saving most offsets.
    if (prev && e.offset === prev.offset + prev.length) pushVarint(out, 0);
    else pushVarint(out, e.offset + 1);
  });
  return gzipSync(Buffer.from(out));
}

/** Root (and leaves when needed) such that header + root stay within 16 KiB. */
function buildDirectories(entries: Entry[]): { root: Buffer; leaves: Buffer } {
  const whole = serializeDirectory(entries);
  if (whole.length <= ROOT_LIMIT_BYTES) return { root: whole, leaves: Buffer.alloc(0) };
  for (let leafSize = 4096; ; leafSize *= 2) {
    const rootEntries: Entry[] = [];
    const leafBuffers: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < entries.length; i += leafSize) {
      const leaf = serializeDirectory(entries.slice(i, i + leafSize));
      rootEntries.push({ tileId: entries[i]!.tileId, offset, length: leaf.length, runLength: 0 });
      leafBuffers.push(leaf);
      offset += leaf.length;
    }
    const root = serializeDirectory(rootEntries);
    if (root.length <= ROOT_LIMIT_BYTES) return { root, leaves: Buffer.concat(leafBuffers) };
  }
}

/** Builds the archive in memory. Tiles may come in any order; duplicates by content are stored once. */
export function writePmtiles(tiles: Tile[], options: ArchiveOptions): Buffer {
  const sorted = tiles
    .map((tile) => ({ ...tile, id: tileId(tile.z, tile.x, tile.y) }))
    .sort((a, b) => a.id - b.id);
  const chunks: Buffer[] = [];
  const offsetByHash = new Map<string, { offset: number; length: number }>();
  let dataLength = 0;
  const entries: Entry[] = [];
  for (const tile of sorted) {
    if (tile.data.length === 0) throw new Error(`tile ${tile.z}/${tile.x}/${tile.y} is empty`);
    const hash = createHash('sha256').update(tile.data).digest('hex');
    let stored = offsetByHash.get(hash);
    if (!stored) {
      stored = { offset: dataLength, length: tile.data.length };
      offsetByHash.set(hash, stored);
      chunks.push(Buffer.from(tile.data));
      dataLength += tile.data.length;
    }
    const last = entries[entries.length - 1];
    if (last && last.offset === stored.offset && last.tileId + last.runLength === tile.id) {
      last.runLength += 1;
    } else {
      entries.push({ tileId: tile.id, offset: stored.offset, length: stored.length, runLength: 1 });
    }
  }
  if (entries.length === 0) throw new Error('an archive needs at least one tile');

  const { root, leaves } = buildDirectories(entries);
  const metadata = gzipSync(Buffer.from(JSON.stringify(options.metadata)));
  const rootOffset = HEADER_BYTES;
  const metadataOffset = rootOffset + root.length;
  const leavesOffset = metadataOffset + metadata.length;
  const dataOffset = leavesOffset + leaves.length;

  const header = Buffer.alloc(HEADER_BYTES);
  header.write('PMTiles', 0, 'ascii');
  header.writeUInt8(3, 7);
  const u64 = (value: number, at: number) => header.writeBigUInt64LE(BigInt(value), at);
  u64(rootOffset, 8);
  u64(root.length, 16);
  u64(metadataOffset, 24);
  u64(metadata.length, 32);
  u64(leavesOffset, 40);
  u64(leaves.length, 48);
  u64(dataOffset, 56);
  u64(dataLength, 64);
  u64(sorted.length, 72);
  u64(entries.length, 80);
  u64(offsetByHash.size, 88);
  header.writeUInt8(1, 96); // clustered: tile data in tile-id order
  header.writeUInt8(Compression.Gzip, 97); // directories and metadata
  header.writeUInt8(options.tileCompression, 98);
  header.writeUInt8(options.tileType, 99);
  header.writeUInt8(options.minZoom, 100);
  header.writeUInt8(options.maxZoom, 101);
  const e7 = (deg: number) => Math.round(deg * 1e7);
  header.writeInt32LE(e7(options.bounds[0]), 102);
  header.writeInt32LE(e7(options.bounds[1]), 106);
  header.writeInt32LE(e7(options.bounds[2]), 110);
  header.writeInt32LE(e7(options.bounds[3]), 114);
  header.writeUInt8(options.center[2], 118);
  header.writeInt32LE(e7(options.center[0]), 119);
  header.writeInt32LE(e7(options.center[1]), 123);
  return Buffer.concat([header, root, metadata, leaves, ...chunks]);
}
