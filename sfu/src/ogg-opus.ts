/**
 * Ogg Opus (RFC 7845 over RFC 3533) written from RTP payloads, without ffmpeg or libogg:
 * the recorder feeds `OggOpusWriter.push(payload, rtpTimestamp)` and appends the pages it
 * returns to a file.
 *
 * - Page 0 holds only the ID header (`OpusHead`, beginning-of-stream flag), page 1 only
 *   the comment header (`OpusTags`); both have granule position 0.
 * - Audio pages hold up to `MAX_PACKETS_PER_PAGE` packets (≤ 0.5 s of 20 ms audio, well
 *   under RFC 7845's one second), never a partial packet; the granule position of a
 *   page is the number of 48 kHz samples of every packet completed so far (pre-skip
 *   included, RFC 7845 §4). The last page carries the end-of-stream flag.
 * - Time comes from the RTP timestamps (48 kHz for Opus): a gap — lost packets, DTX,
 *   the talker muting — is filled with packets of zero-length frames that ask the
 *   decoder for packet loss concealment (RFC 7845 §4.1, RFC 6716 §3.2.1), so the file
 *   keeps real time. Gaps longer than `MAX_GAP_SAMPLES` are treated as a new timeline
 *   (a sender that restarted its clock), late or repeated packets are dropped.
 * - Each page carries the Ogg CRC-32 (polynomial 0x04c11db7, no reflection, initial
 *   value 0, no final XOR) over the whole page with the CRC field zeroed.
 */

export const OPUS_SAMPLE_RATE = 48_000;
/** libopus's encoder look-ahead at 48 kHz (what browsers and opusenc use). */
export const DEFAULT_PRE_SKIP = 312;
const MAX_PACKETS_PER_PAGE = 25;
const MAX_SEGMENTS_PER_PAGE = 255;
/** Gaps up to this length (60 s) are concealed; longer ones restart the timeline. */
export const MAX_GAP_SAMPLES = 60 * OPUS_SAMPLE_RATE;
/** One Opus packet holds at most 120 ms (RFC 6716 R5). */
const MAX_PACKET_SAMPLES = 5_760;
/**
 * Concealment packets stay at 60 ms: some decoders (libopus called with a 60 ms buffer,
 * as opusscript and many players do) reject longer packets.
 */
const MAX_CONCEALMENT_SAMPLES = 2_880;
/** RTP payloads stay below the MTU; anything larger is not an Opus packet from RTP. */
const MAX_PAYLOAD_BYTES = 8_000;

const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i += 1) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit += 1) {
      r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    }
    table[i] = r >>> 0;
  }
  return table;
})();

/** The Ogg page checksum (not the zlib CRC-32: this one is unreflected). */
export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  }
  return crc >>> 0;
}

/** A Vorbis comment field name: printable ASCII 0x20–0x7d without '=', upper-cased. */
function fieldName(key: string): string {
  return [...key.toUpperCase()]
    .map((c) => (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7d && c !== '=' ? c : '_'))
    .join('');
}

/** Samples per frame at 48 kHz for each of the 32 TOC configurations (RFC 6716 §3.1). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT: 2.5, 5, 10, 20 ms
}

/**
 * Duration of an Opus packet in 48 kHz samples, or null when it is not a valid packet
 * (empty, truncated code 3 header, more than 120 ms).
 */
export function opusPacketSamples(packet: Uint8Array): number | null {
  if (packet.length < 1) return null;
  const toc = packet[0]!;
  const perFrame = frameSamples(toc >> 3);
  let frames: number;
  switch (toc & 0x03) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (packet.length < 2) return null;
      frames = packet[1]! & 0x3f;
      if (frames === 0) return null;
  }
  const samples = frames * perFrame;
  return samples > MAX_PACKET_SAMPLES ? null : samples;
}

export interface OggOpusOptions {
  /** Ogg logical stream serial number. */
  readonly serial: number;
  /** Output channel count in OpusHead (1 or 2); packets may be mono or stereo either way. */
  readonly channels: 1 | 2;
  readonly preSkip?: number;
  /** Vendor string of the comment header. */
  readonly vendor?: string;
  /** User comments, written as `KEY=value` (keys upper-cased, '=' not allowed in keys). */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface OggOpusCounters {
  /** Audio packets taken from RTP. */
  readonly packets: number;
  /** Packets inserted to conceal gaps. */
  readonly concealmentPackets: number;
  /** Samples concealed (lost, DTX or muted time). */
  readonly concealedSamples: number;
  /** Late, repeated or invalid payloads that were not written. */
  readonly dropped: number;
}

/** Turns Opus RTP payloads into Ogg pages. Pure: no I/O, every method returns bytes. */
export class OggOpusWriter {
  readonly serial: number;
  readonly preSkip: number;
  #sequence = 0;
  /** Samples of every packet written or pending (the running granule position). */
  #granule = 0;
  /** RTP timestamp the next packet should carry, once the first one has arrived. */
  #nextTimestamp: number | null = null;
  #lastToc = 0xfc; // CELT fullband 20 ms, mono: used only before any packet arrived
  #pending: Uint8Array[] = [];
  #pendingSegments = 0;
  #packets = 0;
  #concealmentPackets = 0;
  #concealedSamples = 0;
  #dropped = 0;
  #ended = false;
  readonly #headers: Buffer;

  constructor(options: OggOpusOptions) {
    this.serial = options.serial >>> 0;
    this.preSkip = options.preSkip ?? DEFAULT_PRE_SKIP;
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'ascii');
    head[8] = 1; // version
    head[9] = options.channels;
    head.writeUInt16LE(this.preSkip, 10);
    head.writeUInt32LE(OPUS_SAMPLE_RATE, 12); // input sample rate (informational)
    head.writeInt16LE(0, 16); // output gain
    head[18] = 0; // channel mapping family 0: mono or stereo, no mapping table
    const comments = Object.entries(options.tags ?? {}).map(([key, value]) =>
      Buffer.from(`${fieldName(key)}=${value}`, 'utf8'),
    );
    const vendor = Buffer.from(options.vendor ?? 'Trupp SFU recorder', 'utf8');
    const tags = Buffer.alloc(
      8 + 4 + vendor.length + 4 + comments.reduce((sum, c) => sum + 4 + c.length, 0),
    );
    let offset = tags.write('OpusTags', 0, 'ascii');
    offset = tags.writeUInt32LE(vendor.length, offset);
    offset += vendor.copy(tags, offset);
    offset = tags.writeUInt32LE(comments.length, offset);
    for (const comment of comments) {
      offset = tags.writeUInt32LE(comment.length, offset);
      offset += comment.copy(tags, offset);
    }
    if (tags.length > 255 * 250) throw new RangeError('OpusTags too large for one page');
    this.#headers = Buffer.concat([
      this.#page([head], 0, FLAG_BOS),
      // RFC 7845 §5.2: the comment header ends its page; audio starts on a fresh one.
      this.#page([tags], 0, 0),
    ]);
  }

  /** Page 0 (OpusHead) and page 1 (OpusTags): write them first. */
  headers(): Buffer {
    return this.#headers;
  }

  /** Samples decoded so far, without the pre-skip. */
  get durationSamples(): number {
    return Math.max(0, this.#granule - this.preSkip);
  }

  get durationMs(): number {
    return (this.durationSamples * 1000) / OPUS_SAMPLE_RATE;
  }

  get counters(): OggOpusCounters {
    return {
      packets: this.#packets,
      concealmentPackets: this.#concealmentPackets,
      concealedSamples: this.#concealedSamples,
      dropped: this.#dropped,
    };
  }

  /**
   * Adds one RTP payload with its RTP timestamp; returns the pages completed by it
   * (often none: pages are written every `MAX_PACKETS_PER_PAGE` packets).
   */
  push(payload: Uint8Array, rtpTimestamp: number): Buffer[] {
    if (this.#ended) throw new Error('OggOpusWriter already ended');
    const samples = payload.length <= MAX_PAYLOAD_BYTES ? opusPacketSamples(payload) : null;
    if (samples === null) {
      this.#dropped += 1;
      return [];
    }
    const pages: Buffer[] = [];
    const timestamp = rtpTimestamp >>> 0;
    if (this.#nextTimestamp !== null) {
      // Signed 32-bit distance, so the wrap-around of RTP timestamps is no gap.
      const gap = (timestamp - this.#nextTimestamp) | 0;
      if (gap < 0) {
        this.#dropped += 1; // late, reordered or repeated
        return [];
      }
      if (gap > 0 && gap <= MAX_GAP_SAMPLES) {
        for (const plc of concealmentPackets(this.#lastToc, gap)) {
          pages.push(...this.#add(plc.packet, plc.samples));
          this.#concealmentPackets += 1;
          this.#concealedSamples += plc.samples;
        }
      }
    }
    pages.push(...this.#add(payload, samples));
    this.#packets += 1;
    this.#lastToc = payload[0]!;
    this.#nextTimestamp = (timestamp + samples) >>> 0;
    return pages;
  }

  /** Flushes the pending packets on a last page with the end-of-stream flag. */
  end(): Buffer {
    if (this.#ended) return Buffer.alloc(0);
    this.#ended = true;
    if (this.#pending.length === 0) {
      // Nothing pending only when no audio arrived: an empty EOS page closes the stream.
      return this.#page([], this.#granule, FLAG_EOS, true);
    }
    const page = this.#page(this.#pending, this.#granule, FLAG_EOS);
    this.#pending = [];
    this.#pendingSegments = 0;
    return page;
  }

  /**
   * Queues a packet. The pending packets are written as a page *before* one that would
   * overflow it, so a packet is always pending and the final page can carry EOS.
   */
  #add(packet: Uint8Array, samples: number): Buffer[] {
    const segments = Math.floor(packet.length / 255) + 1;
    const out: Buffer[] = [];
    if (
      this.#pending.length >= MAX_PACKETS_PER_PAGE ||
      this.#pendingSegments + segments > MAX_SEGMENTS_PER_PAGE
    ) {
      out.push(this.#page(this.#pending, this.#granule, 0));
      this.#pending = [];
      this.#pendingSegments = 0;
    }
    this.#pending.push(packet);
    this.#pendingSegments += segments;
    this.#granule += samples;
    return out;
  }

  /** One Ogg page holding whole packets. `noPacket`: granule −1, nothing completes. */
  #page(packets: Uint8Array[], granule: number, flags: number, noPacket = false): Buffer {
    const lacing: number[] = [];
    for (const packet of packets) {
      let left = packet.length;
      while (left >= 255) {
        lacing.push(255);
        left -= 255;
      }
      lacing.push(left);
    }
    if (lacing.length > MAX_SEGMENTS_PER_PAGE) throw new RangeError('too many Ogg segments');
    const bodyLength = packets.reduce((sum, packet) => sum + packet.length, 0);
    const page = Buffer.alloc(27 + lacing.length + bodyLength);
    page.write('OggS', 0, 'ascii');
    page[4] = 0; // stream structure version
    page[5] = flags;
    page.writeBigInt64LE(noPacket ? -1n : BigInt(granule), 6);
    page.writeUInt32LE(this.serial, 14);
    page.writeUInt32LE(this.#sequence, 18);
    this.#sequence += 1;
    page.writeUInt32LE(0, 22); // CRC, filled in below
    page[26] = lacing.length;
    page.set(lacing, 27);
    let offset = 27 + lacing.length;
    for (const packet of packets) {
      page.set(packet, offset);
      offset += packet.length;
    }
    page.writeUInt32LE(oggCrc32(page), 22);
    return page;
  }
}

/**
 * Packets (≤ 60 ms each) of zero-length frames covering `gap` samples (RFC 7845 §4.1): the previous
 * packet's configuration where the gap is a multiple of its frame size, CELT fullband
 * frames of 20/10/5/2.5 ms for the rest; a remainder below 2.5 ms cannot be expressed
 * and is dropped (RTP gaps from loss or DTX are always multiples of 2.5 ms).
 */
export function concealmentPackets(
  lastToc: number,
  gap: number,
): Array<{ packet: Uint8Array; samples: number }> {
  const out: Array<{ packet: Uint8Array; samples: number }> = [];
  const stereo = lastToc & 0x04;
  const add = (config: number, frames: number) => {
    const perFrame = frameSamples(config);
    const maxFrames = Math.min(48, Math.floor(MAX_CONCEALMENT_SAMPLES / perFrame));
    while (frames > 0) {
      const n = Math.min(frames, maxFrames);
      // Code 3, CBR, no padding: N-2 = 0 bytes split into n frames of zero length.
      out.push({ packet: Uint8Array.of((config << 3) | stereo | 0x03, n), samples: n * perFrame });
      frames -= n;
    }
  };
  const config = lastToc >> 3;
  const perFrame = frameSamples(config);
  let left = gap;
  add(config, Math.floor(left / perFrame));
  left %= perFrame;
  for (const celt of [31, 30, 29, 28]) {
    const size = frameSamples(celt);
    add(celt, Math.floor(left / size));
    left %= size;
  }
  return out;
}
