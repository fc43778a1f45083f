import { describe, expect, it } from 'vitest';
import { crc32Bitwise, readOggOpus } from '../test-support/ogg.ts';
import { decodeAll, encodeTone, FRAME_SAMPLES } from '../test-support/opus.ts';
import { concealmentPackets, OggOpusWriter, oggCrc32, opusPacketSamples } from './ogg-opus.ts';

/** Runs packets with their RTP timestamps through a writer; returns the whole file. */
function write(packets: Array<{ payload: Buffer; ts: number }>, channels: 1 | 2 = 1) {
  const writer = new OggOpusWriter({ serial: 0x1234abcd, channels, tags: { TRUPP_CHANNEL: 'c1' } });
  const chunks = [writer.headers()];
  for (const { payload, ts } of packets) chunks.push(...writer.push(payload, ts));
  chunks.push(writer.end());
  return { file: Buffer.concat(chunks), writer };
}

const timed = (payloads: Buffer[], start = 1000) =>
  payloads.map((payload, i) => ({ payload, ts: (start + i * FRAME_SAMPLES) >>> 0 }));

describe('Ogg CRC-32', () => {
  it('matches the published check value of the unreflected 0x04c11db7 CRC with init 0', () => {
    // CRC-32/CKSUM's check value is 0x765e7680 after its final XOR; Ogg has none.
    const check = Buffer.from('123456789', 'ascii');
    expect(oggCrc32(check)).toBe(0x89a1897f);
    expect(crc32Bitwise(check)).toBe(0x89a1897f);
  });
});

describe('OggOpusWriter', () => {
  it('writes 3 s of real Opus as a valid Ogg Opus file whose final granule says 3 s', () => {
    const payloads = encodeTone(150);
    const { file, writer } = write(timed(payloads));
    const ogg = readOggOpus(file);
    expect(ogg.head).toEqual({
      version: 1,
      channels: 1,
      preSkip: 312,
      inputRate: 48_000,
      gain: 0,
      mapping: 0,
    });
    expect(ogg.tags.TRUPP_CHANNEL).toBe('c1');
    expect(ogg.audio).toHaveLength(150);
    expect(ogg.audio.map((p) => p.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
    expect(ogg.finalGranule).toBe(150n * 960n);
    expect(ogg.durationMs).toBeCloseTo(3000 - 312 / 48, 5);
    expect(writer.durationMs).toBeCloseTo(ogg.durationMs, 5);
    // Paging: header pages, then pages of at most 25 packets (0.5 s).
    expect(ogg.pages.length).toBe(2 + 6);
    expect(Math.max(...ogg.pages.map((p) => p.packets.length))).toBeLessThanOrEqual(25);
    // libopus decodes every packet: the samples add up to the granule, and it is the tone.
    const decoded = decodeAll(ogg.audio);
    expect(decoded.samples).toBe(150 * 960);
    expect(decoded.rms).toBeGreaterThan(3000);
  });

  it('conceals a gap in the RTP timestamps so the file keeps real time', () => {
    const payloads = encodeTone(100);
    const packets = timed(payloads);
    // 12 packets (240 ms) lost in the middle, and 7.5 ms more (an odd gap).
    const withGap = [
      ...packets.slice(0, 40),
      ...packets.slice(52).map(({ payload, ts }) => ({ payload, ts: (ts + 360) >>> 0 })),
    ];
    const { file, writer } = write(withGap);
    const ogg = readOggOpus(file);
    expect(writer.counters).toMatchObject({ packets: 88, concealedSamples: 12 * 960 + 360 });
    expect(ogg.finalGranule).toBe(BigInt(100 * 960 + 360));
    const decoded = decodeAll(ogg.audio);
    expect(decoded.samples).toBe(100 * 960 + 360);
  });

  it('drops late and repeated packets and crosses the RTP timestamp wrap-around', () => {
    const payloads = encodeTone(20);
    const packets = timed(payloads, 0xffffffff - 5 * FRAME_SAMPLES);
    const shuffled = [...packets.slice(0, 10), packets[9]!, packets[3]!, ...packets.slice(10)];
    const { file, writer } = write(shuffled);
    expect(writer.counters).toMatchObject({ packets: 20, dropped: 2, concealmentPackets: 0 });
    expect(readOggOpus(file).finalGranule).toBe(20n * 960n);
  });

  it('starts a new timeline after a jump longer than a minute instead of filling it', () => {
    const payloads = encodeTone(4);
    const packets = timed(payloads);
    packets[2]!.ts += 48_000 * 120;
    packets[3]!.ts += 48_000 * 120;
    const { file, writer } = write(packets);
    expect(writer.counters.concealmentPackets).toBe(0);
    expect(readOggOpus(file).finalGranule).toBe(4n * 960n);
  });

  it('laces packets longer than 255 bytes and rejects what is not Opus', () => {
    const big = Buffer.alloc(700, 0x55);
    big[0] = 0xfc; // CELT fullband 20 ms, one frame of 699 bytes
    const { file, writer } = write([
      { payload: big, ts: 0 },
      { payload: Buffer.alloc(0), ts: 960 },
      { payload: Buffer.from([0xff]), ts: 960 }, // code 3 without a frame count
      { payload: big, ts: 960 },
    ]);
    const ogg = readOggOpus(file);
    expect(ogg.audio.map((p) => p.length)).toEqual([700, 700]);
    expect(writer.counters.dropped).toBe(2);
  });
});

describe('Opus packet durations', () => {
  it('reads the TOC of SILK, hybrid and CELT packets', () => {
    expect(opusPacketSamples(Uint8Array.of(0x78))).toBe(960); // hybrid FB 20 ms
    expect(opusPacketSamples(Uint8Array.of(0x18 | 1))).toBe(2 * 2880); // SILK 60 ms ×2
    expect(opusPacketSamples(Uint8Array.of(0xe3, 0x04))).toBe(4 * 120); // CELT 2.5 ms ×4
    expect(opusPacketSamples(Uint8Array.of(0x1b, 0x03))).toBeNull(); // 180 ms > 120 ms
  });

  it('builds concealment packets of the previous configuration, ≤ 60 ms each', () => {
    const packets = concealmentPackets(0x78, 7 * 960 + 120);
    expect(packets.map((p) => p.samples)).toEqual([2880, 2880, 960, 120]);
    for (const { packet, samples } of packets) {
      expect(opusPacketSamples(packet)).toBe(samples);
    }
  });
});
