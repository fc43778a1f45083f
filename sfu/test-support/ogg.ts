/**
 * An Ogg Opus reader for tests, written independently of src/ogg-opus.ts: a bitwise
 * CRC (no table), its own lacing and header parsing. It throws on anything RFC 3533 /
 * RFC 7845 forbid that a player would trip over, so a test that reads a recording
 * through it checks the file, not the writer's own idea of it.
 */

export interface OggPage {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  /** Packets completed on this page (no packet spans pages in our files). */
  packets: Buffer[];
}

export interface OpusHead {
  version: number;
  channels: number;
  preSkip: number;
  inputRate: number;
  gain: number;
  mapping: number;
}

export interface OggOpusFile {
  pages: OggPage[];
  head: OpusHead;
  vendor: string;
  tags: Record<string, string>;
  /** Audio packets in order. */
  audio: Buffer[];
  finalGranule: bigint;
  /** (final granule − pre-skip) / 48 kHz, in ms. */
  durationMs: number;
}

/** Ogg's CRC-32: polynomial 0x04c11db7, MSB first, initial value 0, no final XOR. */
export function crc32Bitwise(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
    }
  }
  return crc >>> 0;
}

/** @throws Error naming the first violation. */
export function readOggPages(file: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < file.length) {
    if (file.toString('ascii', offset, offset + 4) !== 'OggS') {
      throw new Error(`no capture pattern at byte ${offset}`);
    }
    if (file[offset + 4] !== 0) throw new Error(`page at ${offset}: version ${file[offset + 4]}`);
    const segments = file[offset + 26]!;
    const lacing = [...file.subarray(offset + 27, offset + 27 + segments)];
    const bodyLength = lacing.reduce((a, b) => a + b, 0);
    const end = offset + 27 + segments + bodyLength;
    if (end > file.length) throw new Error(`page at ${offset} is truncated`);
    const page = Buffer.from(file.subarray(offset, end));
    const stored = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    const computed = crc32Bitwise(page);
    if (stored !== computed) {
      throw new Error(
        `page ${pages.length}: CRC ${stored.toString(16)} ≠ ${computed.toString(16)}`,
      );
    }
    const packets: Buffer[] = [];
    let current: number[] = [];
    let body = offset + 27 + segments;
    let start = body;
    for (const value of lacing) {
      body += value;
      current.push(value);
      if (value < 255) {
        packets.push(Buffer.from(file.subarray(start, body)));
        start = body;
        current = [];
      }
    }
    if (current.length > 0)
      throw new Error(`page ${pages.length}: a packet continues (unexpected)`);
    if (file[offset + 5]! & 0x01) throw new Error(`page ${pages.length}: continuation flag set`);
    pages.push({
      flags: file[offset + 5]!,
      granule: file.readBigInt64LE(offset + 6),
      serial: file.readUInt32LE(offset + 14),
      sequence: file.readUInt32LE(offset + 18),
      packets,
    });
    offset = end;
  }
  return pages;
}

/** Reads and checks an Ogg Opus file (one logical stream, RFC 7845 header layout). */
export function readOggOpus(file: Buffer): OggOpusFile {
  const pages = readOggPages(file);
  if (pages.length < 3) throw new Error(`only ${pages.length} pages`);
  pages.forEach((page, index) => {
    if (page.sequence !== index) throw new Error(`page ${index} has sequence ${page.sequence}`);
    if (page.serial !== pages[0]!.serial) throw new Error(`page ${index}: another serial`);
    const bos = (page.flags & 0x02) !== 0;
    const eos = (page.flags & 0x04) !== 0;
    if (bos !== (index === 0)) throw new Error(`page ${index}: BOS flag ${bos}`);
    if (eos !== (index === pages.length - 1)) throw new Error(`page ${index}: EOS flag ${eos}`);
  });
  const [idPage, tagsPage] = pages;
  if (idPage!.packets.length !== 1 || idPage!.granule !== 0n) {
    throw new Error('page 0 must hold only OpusHead, granule 0');
  }
  const h = idPage!.packets[0]!;
  if (h.toString('ascii', 0, 8) !== 'OpusHead' || h.length < 19) throw new Error('no OpusHead');
  const head: OpusHead = {
    version: h[8]!,
    channels: h[9]!,
    preSkip: h.readUInt16LE(10),
    inputRate: h.readUInt32LE(12),
    gain: h.readInt16LE(16),
    mapping: h[18]!,
  };
  if (tagsPage!.packets.length !== 1 || tagsPage!.granule !== 0n) {
    throw new Error('page 1 must hold only OpusTags, granule 0');
  }
  const t = tagsPage!.packets[0]!;
  if (t.toString('ascii', 0, 8) !== 'OpusTags') throw new Error('no OpusTags');
  let o = 8;
  const vendorLength = t.readUInt32LE(o);
  const vendor = t.toString('utf8', o + 4, o + 4 + vendorLength);
  o += 4 + vendorLength;
  const count = t.readUInt32LE(o);
  o += 4;
  const tags: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) {
    const length = t.readUInt32LE(o);
    const comment = t.toString('utf8', o + 4, o + 4 + length);
    o += 4 + length;
    const eq = comment.indexOf('=');
    tags[comment.slice(0, eq)] = comment.slice(eq + 1);
  }
  const audioPages = pages.slice(2);
  let previous = 0n;
  for (const page of audioPages) {
    if (page.packets.length > 0 && page.granule < previous) {
      throw new Error(`granule goes back on page ${page.sequence}`);
    }
    if (page.packets.length > 0) previous = page.granule;
  }
  const finalGranule = audioPages.at(-1)!.granule;
  return {
    pages,
    head,
    vendor,
    tags,
    audio: audioPages.flatMap((page) => page.packets),
    finalGranule,
    durationMs: (Number(finalGranule - BigInt(head.preSkip)) * 1000) / 48_000,
  };
}
