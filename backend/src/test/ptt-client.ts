import type { Socket } from 'socket.io-client';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import {
  PTT_CLIENT_EVENTS,
  type PttConsumer,
  type PttFloorRequestResult,
  type PttJoined,
  type PttTransportOptions,
  type SocketAck,
} from '@trupp/shared';
import { connectSocket } from './realtime.ts';

/**
 * A push-to-talk client for tests: socket.io for signalling and werift (a WebRTC stack in
 * TypeScript) for real ICE + DTLS + SRTP sessions into the SFU's WebRtcServer, as a
 * browser with mediasoup-client would do. Its microphone sends a real Opus frame every
 * 20 ms from the moment it produces — whether or not it holds the floor, like a client
 * that ignores the rules — so tests can check that the server forwards only the holder.
 */

const OPUS = { mimeType: 'audio/opus', clockRate: 48000, channels: 2 } as const;

/** What mediasoup-client's Device would report for a browser that speaks Opus. */
export const CLIENT_RTP_CAPABILITIES = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      clockRate: 48000,
      channels: 2,
      preferredPayloadType: 111,
      parameters: {},
      rtcpFeedback: [],
    },
  ],
  headerExtensions: [],
};

export interface ReceivedEvent {
  event: string;
  payload: unknown;
  at: number;
}

interface ChannelMedia {
  joined: PttJoined;
  send: RTCPeerConnection | null;
  sendTimer: NodeJS.Timeout | null;
  recv: RTCPeerConnection | null;
  consumers: PttConsumer[];
  producerId: string | null;
  /** SSRC the microphone sends with. */
  ssrc: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

export class PttTestClient {
  readonly events: ReceivedEvent[] = [];
  readonly #channels = new Map<string, ChannelMedia>();
  /** Inbound RTP packets per SSRC, over every channel. */
  readonly #inbound = new Map<number, number>();
  #closed = false;

  private constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => {
      this.events.push({ event, payload, at: performance.now() });
      if (event === 'ptt.consumer') void this.#onConsumer(payload as PttConsumer);
    });
  }

  static async connect(url: string, token: string): Promise<PttTestClient> {
    return new PttTestClient(await connectSocket(url, token));
  }

  /** Emits a client event; resolves with the acknowledgement. */
  async call<T>(event: string, payload: unknown): Promise<SocketAck<T>> {
    return (await this.socket.timeout(10_000).emitWithAck(event, payload)) as SocketAck<T>;
  }

  /** Emits and expects success. @throws Error with the error code otherwise */
  async ok<T>(event: string, payload: unknown): Promise<T> {
    const ack = await this.call<T>(event, payload);
    if (!ack.ok) throw new Error(`${event}: ${ack.error.code} ${ack.error.message}`);
    return ack.data;
  }

  async join(channelId: string): Promise<PttJoined> {
    const joined = await this.ok<PttJoined>(PTT_CLIENT_EVENTS.join, { channelId });
    this.#channels.set(channelId, {
      joined,
      send: null,
      sendTimer: null,
      recv: null,
      consumers: [],
      producerId: null,
      ssrc: null,
    });
    return joined;
  }

  /**
   * Connects the send transport and produces the microphone; from then on it sends a
   * packet every 20 ms. Resolves when ICE and DTLS are up.
   */
  async produce(channelId: string): Promise<string> {
    const media = this.#media(channelId);
    const pc = new RTCPeerConnection({ codecs: { audio: [new RTCRtpCodecParameters(OPUS)] } });
    media.send = pc;
    const track = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription!.sdp;
    const fingerprint = /a=fingerprint:sha-256 (\S+)/.exec(offer)![1]!;
    const payloadType = Number(/a=rtpmap:(\d+) opus\/48000\/2/i.exec(offer)![1]);
    const ssrc = Number(/a=ssrc:(\d+)/.exec(offer)![1]);
    const mid = /a=mid:(\S+)/.exec(offer)![1]!;
    const transport = media.joined.sendTransport;
    await this.ok(PTT_CLIENT_EVENTS.connectTransport, {
      channelId,
      transportId: transport.id,
      dtlsParameters: {
        role: 'client',
        fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
      },
    });
    const { producerId } = await this.ok<{ producerId: string }>(PTT_CLIENT_EVENTS.produce, {
      channelId,
      transportId: transport.id,
      rtpParameters: {
        mid,
        codecs: [{ ...OPUS, payloadType, parameters: {} }],
        encodings: [{ ssrc }],
      },
    });
    media.producerId = producerId;
    media.ssrc = ssrc;
    await pc.setRemoteDescription({
      type: 'answer',
      sdp: serverSdp(transport, [
        {
          mid,
          direction: 'recvonly',
          payloadType,
          lines: [],
        },
      ]),
    });
    if (!(await waitUntil(() => pc.connectionState === 'connected', 10_000))) {
      throw new Error('send transport did not connect');
    }
    let seq = Math.floor(Math.random() * 0xffff);
    let timestamp = Math.floor(Math.random() * 0xffffffff);
    media.sendTimer = setInterval(() => {
      const packet = Buffer.alloc(15);
      packet[0] = 0x80;
      packet[1] = payloadType;
      packet.writeUInt16BE(seq, 2);
      packet.writeUInt32BE(timestamp >>> 0, 4);
      packet.writeUInt32BE(ssrc, 8);
      packet.set([0xf8, 0xff, 0xfe], 12); // Opus TOC: CELT fullband 20 ms, silence
      seq = (seq + 1) & 0xffff;
      timestamp = (timestamp + 960) >>> 0;
      track.writeRtp(packet);
    }, 20);
    return producerId;
  }

  /**
   * Produces with RTP parameters only (no ICE/DTLS, so no audio ever flows): enough to
   * ask for the floor, for tests about floor control alone.
   */
  async produceWithoutMedia(channelId: string): Promise<string> {
    const media = this.#media(channelId);
    const { producerId } = await this.ok<{ producerId: string }>(PTT_CLIENT_EVENTS.produce, {
      channelId,
      transportId: media.joined.sendTransport.id,
      rtpParameters: {
        codecs: [{ ...OPUS, payloadType: 100, parameters: {} }],
        encodings: [{ ssrc: Math.floor(Math.random() * 0xfffffff) + 1 }],
      },
    });
    media.producerId = producerId;
    return producerId;
  }

  /**
   * Starts receiving: `ptt.consume`, then one receive session with an m-section per
   * consumer (renegotiated when `ptt.consumer` brings more). Resolves once connected
   * (or at once when there is nothing to receive yet).
   */
  async consume(channelId: string): Promise<PttConsumer[]> {
    const media = this.#media(channelId);
    const { consumers } = await this.ok<{ consumers: PttConsumer[] }>(PTT_CLIENT_EVENTS.consume, {
      channelId,
      rtpCapabilities: CLIENT_RTP_CAPABILITIES,
    });
    for (const consumer of consumers) {
      if (!media.consumers.some((c) => c.id === consumer.id)) media.consumers.push(consumer);
    }
    if (media.consumers.length > 0) await this.#negotiateRecv(channelId);
    return consumers;
  }

  /** Inbound RTP packets from the given consumer (by its SSRC). */
  inbound(consumer: PttConsumer): number {
    return this.#inbound.get(ssrcOf(consumer)) ?? 0;
  }

  /** Inbound packets from whoever sends with this producer id, in this channel. */
  inboundFrom(channelId: string, producerId: string): number {
    const consumer = this.#channels
      .get(channelId)
      ?.consumers.find((c) => c.producerId === producerId);
    return consumer ? this.inbound(consumer) : 0;
  }

  consumers(channelId: string): PttConsumer[] {
    return this.#media(channelId).consumers;
  }

  producerId(channelId: string): string {
    return this.#media(channelId).producerId!;
  }

  request(channelId: string, extra: Record<string, unknown> = {}) {
    return this.ok<PttFloorRequestResult>(PTT_CLIENT_EVENTS.floorRequest, { channelId, ...extra });
  }

  release(channelId: string) {
    return this.ok(PTT_CLIENT_EVENTS.floorRelease, { channelId });
  }

  /** Events named `event` received so far. */
  received<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload as T);
  }

  /** Waits for an event matching `match` (also one already received after `since`). */
  async waitFor<T>(
    event: string,
    match: (payload: T) => boolean = () => true,
    timeoutMs = 5000,
    since = 0,
  ): Promise<{ payload: T; at: number }> {
    let found: ReceivedEvent | undefined;
    const ok = await waitUntil(() => {
      found = this.events.find((e) => e.at >= since && e.event === event && match(e.payload as T));
      return found !== undefined;
    }, timeoutMs);
    if (!ok || !found) throw new Error(`no ${event} within ${timeoutMs} ms`);
    return { payload: found.payload as T, at: found.at };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const media of this.#channels.values()) {
      if (media.sendTimer) clearInterval(media.sendTimer);
      await media.send?.close().catch(() => undefined);
      await media.recv?.close().catch(() => undefined);
    }
    this.socket.close();
  }

  /** Stops the microphone packets (the socket stays). */
  mute(channelId: string): void {
    const media = this.#media(channelId);
    if (media.sendTimer) clearInterval(media.sendTimer);
    media.sendTimer = null;
  }

  #media(channelId: string): ChannelMedia {
    const media = this.#channels.get(channelId);
    if (!media) throw new Error(`not joined to ${channelId}`);
    return media;
  }

  async #onConsumer(consumer: PttConsumer): Promise<void> {
    const media = this.#channels.get(consumer.channelId);
    if (!media || media.consumers.some((c) => c.id === consumer.id)) return;
    media.consumers.push(consumer);
    if (media.recv) await this.#negotiateRecv(consumer.channelId).catch(() => undefined);
  }

  #negotiating = Promise.resolve();

  #negotiateRecv(channelId: string): Promise<void> {
    const run = this.#negotiating.then(() => this.#negotiateRecvNow(channelId));
    this.#negotiating = run.catch(() => undefined);
    return run;
  }

  async #negotiateRecvNow(channelId: string): Promise<void> {
    const media = this.#media(channelId);
    const first = !media.recv;
    if (!media.recv) {
      media.recv = new RTCPeerConnection({
        codecs: { audio: [new RTCRtpCodecParameters({ ...OPUS, payloadType: 111 })] },
      });
      media.recv.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          const ssrc = rtp.header.ssrc;
          this.#inbound.set(ssrc, (this.#inbound.get(ssrc) ?? 0) + 1);
        });
      });
    }
    const pc = media.recv;
    const transport = media.joined.recvTransport;
    const sections = media.consumers.map((consumer, index) => {
      const rtp = consumer.rtpParameters as {
        mid?: string;
        codecs: Array<{ payloadType: number }>;
        encodings: Array<{ ssrc: number }>;
        rtcp?: { cname?: string };
      };
      return {
        mid: rtp.mid ?? String(index),
        direction: 'sendonly' as const,
        payloadType: rtp.codecs[0]!.payloadType,
        lines: [
          `a=ssrc:${rtp.encodings[0]!.ssrc} cname:${rtp.rtcp?.cname ?? 'trupp'}`,
          `a=msid:s${index} t${index}`,
        ],
      };
    });
    this.#offerVersion += 1;
    await pc.setRemoteDescription({
      type: 'offer',
      sdp: serverSdp(transport, sections, this.#offerVersion, 'actpass'),
    });
    await pc.setLocalDescription(await pc.createAnswer());
    if (first) {
      const answer = pc.localDescription!.sdp;
      const fingerprint = /a=fingerprint:sha-256 (\S+)/.exec(answer)![1]!;
      const setup = /a=setup:(\S+)/.exec(answer)![1]!;
      await this.ok(PTT_CLIENT_EVENTS.connectTransport, {
        channelId,
        transportId: transport.id,
        dtlsParameters: {
          role: setup === 'active' ? 'client' : 'server',
          fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
        },
      });
      if (!(await waitUntil(() => pc.connectionState === 'connected', 10_000))) {
        throw new Error('receive transport did not connect');
      }
    }
  }

  #offerVersion = 0;
}

function ssrcOf(consumer: PttConsumer): number {
  return (consumer.rtpParameters as { encodings: Array<{ ssrc: number }> }).encodings[0]!.ssrc;
}

/** The SFU's side of the SDP: ICE-lite, its DTLS fingerprint, its UDP candidate. */
function serverSdp(
  transport: PttTransportOptions,
  sections: Array<{
    mid: string;
    direction: 'sendonly' | 'recvonly';
    payloadType: number;
    lines: string[];
  }>,
  version = 1,
  setup: 'passive' | 'actpass' = 'passive',
): string {
  const fingerprints = (
    transport.dtlsParameters as {
      fingerprints: Array<{ algorithm: string; value: string }>;
    }
  ).fingerprints;
  const fingerprint = fingerprints.find((f) => f.algorithm === 'sha-256')!.value;
  const ice = transport.iceParameters as { usernameFragment: string; password: string };
  const candidates = transport.iceCandidates as unknown as Array<{
    foundation: string;
    priority: number;
    address: string;
    port: number;
    protocol: string;
  }>;
  const udp = candidates.find((c) => c.protocol === 'udp')!;
  const lines = [
    'v=0',
    `o=- 1 ${version} IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`,
    'a=ice-lite',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=msid-semantic: WMS *',
  ];
  for (const section of sections) {
    lines.push(
      `m=audio ${udp.port} UDP/TLS/RTP/SAVPF ${section.payloadType}`,
      'c=IN IP4 127.0.0.1',
      `a=mid:${section.mid}`,
      `a=${section.direction}`,
      `a=ice-ufrag:${ice.usernameFragment}`,
      `a=ice-pwd:${ice.password}`,
      `a=setup:${setup}`,
      'a=rtcp-mux',
      `a=rtpmap:${section.payloadType} opus/48000/2`,
      ...section.lines,
      `a=candidate:${udp.foundation} 1 udp ${udp.priority} ${udp.address} ${udp.port} typ host`,
      'a=end-of-candidates',
    );
  }
  return [...lines, ''].join('\r\n');
}
