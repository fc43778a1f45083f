import { createSocket, type Socket } from 'node:dgram';
import type { types } from 'mediasoup';

/** Payload type the test talkers use; any dynamic type works with a plain transport. */
export const OPUS_PT = 100;

/** RTP parameters of a mono-or-stereo Opus sender with one SSRC, as a gateway would send. */
export function opusRtpParameters(ssrc: number): types.RtpParameters {
  return {
    codecs: [
      {
        mimeType: 'audio/opus',
        payloadType: OPUS_PT,
        clockRate: 48000,
        channels: 2,
        parameters: { useinbandfec: 1 },
      },
    ],
    encodings: [{ ssrc }],
  };
}

/** A real Opus frame: TOC 0xf8 (CELT, fullband, 20 ms, one frame) with a silence body. */
const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/**
 * Sends a 20 ms Opus RTP packet every 20 ms to a target that may change (a new
 * transport after a reconnect). The payload is a real Opus frame: by default silence,
 * or the given encoded packets in turn (see opus.ts).
 */
export class RtpTalker {
  readonly #socket: Socket = createSocket('udp4');
  readonly #timer: NodeJS.Timeout;
  readonly #payloads: Buffer[];
  #target: { ip: string; port: number } | null = null;
  #seq = Math.floor(Math.random() * 0xffff);
  #timestamp = Math.floor(Math.random() * 0xffffffff);
  #toDrop = 0;
  /** Packets sent, and packets dropped as if lost on the way. */
  sent = 0;
  dropped = 0;

  constructor(
    readonly ssrc: number,
    options: { payloads?: Buffer[] } = {},
  ) {
    this.#payloads = options.payloads?.length ? options.payloads : [SILENCE];
    this.#timer = setInterval(() => this.#send(), 20);
  }

  /** The next `count` packets are lost: sequence numbers and timestamps move on. */
  drop(count: number): void {
    this.#toDrop += count;
  }

  to(target: { ip: string; port: number }): void {
    this.#target = target;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#socket.close();
  }

  #send(): void {
    if (!this.#target) return;
    const payload = this.#payloads[(this.sent + this.dropped) % this.#payloads.length]!;
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80; // V=2, no padding, no extension, no CSRC
    packet[1] = OPUS_PT & 0x7f;
    packet.writeUInt16BE(this.#seq, 2);
    packet.writeUInt32BE(this.#timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    payload.copy(packet, 12);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + 960) >>> 0; // 20 ms at 48 kHz
    if (this.#toDrop > 0) {
      this.#toDrop -= 1;
      this.dropped += 1;
      return;
    }
    this.#socket.send(packet, this.#target.port, this.#target.ip);
    this.sent += 1;
  }
}

/** Receives RTP on a local UDP port and counts packets (RTCP ignored) per SSRC. */
export class RtpSink {
  readonly #counts = new Map<number, number>();
  readonly #firstAt = new Map<number, number>();

  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (message) => {
      if (message.length < 12 || (message[0]! & 0xc0) !== 0x80) return;
      const payloadType = message[1]! & 0x7f;
      if (payloadType >= 72 && payloadType <= 79) return; // RTCP multiplexed on this port
      const ssrc = message.readUInt32BE(8);
      this.#counts.set(ssrc, (this.#counts.get(ssrc) ?? 0) + 1);
      if (!this.#firstAt.has(ssrc)) this.#firstAt.set(ssrc, performance.now());
    });
  }

  static open(): Promise<RtpSink> {
    const socket = createSocket('udp4');
    return new Promise((resolve) => {
      socket.bind(0, '127.0.0.1', () => resolve(new RtpSink(socket, socket.address().port)));
    });
  }

  count(ssrc: number): number {
    return this.#counts.get(ssrc) ?? 0;
  }

  /** `performance.now()` of the first packet with this SSRC, or undefined. */
  firstAt(ssrc: number): number | undefined {
    return this.#firstAt.get(ssrc);
  }

  /** Packets with this SSRC received during the next `ms` milliseconds. */
  async countDuring(ssrc: number, ms: number): Promise<number> {
    const before = this.count(ssrc);
    await sleep(ms);
    return this.count(ssrc) - before;
  }

  close(): void {
    this.socket.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}
