/**
 * The media of one joined push-to-talk channel, with mediasoup-client: a Device loaded
 * with the channel router's RTP capabilities, a send transport with one producer from the
 * microphone, a receive transport with one consumer per other member, and an <audio>
 * element per consumer that plays it.
 *
 * The local producer is paused except while the button is held (`setTransmitting`): the
 * microphone is not sent anywhere otherwise, and resuming it on the press — before the
 * grant comes back — saves a round trip of access time. The server forwards a producer
 * only while its participant holds the floor, so a press that is not granted is heard by
 * nobody.
 */
import { Device, type types } from 'mediasoup-client';
import type { PttConsumer, PttJoined } from '@trupp/shared';

/** The socket calls this class needs (the store sends them with `emitWithAck`). */
export interface ChannelSignal {
  connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void>;
  produce(transportId: string, rtpParameters: types.RtpParameters): Promise<string>;
}

interface Playing {
  consumer: types.Consumer;
  userId: string;
  element: HTMLAudioElement;
}

export interface InboundAudio {
  /** inbound-rtp bytes summed over every consumer. */
  bytesReceived: number;
  /** The highest inbound-rtp `audioLevel` (0…1) of the consumers, if the browser reports it. */
  audioLevel: number | null;
  packetsLost: number;
}

export class ChannelMedia {
  readonly channelId: string;
  readonly device: Device;
  readonly #send: types.Transport;
  readonly #recv: types.Transport;
  #producer: types.Producer | null = null;
  readonly #consumers = new Map<string, Playing>();
  #closed = false;
  /** Consumers being set up, so one announced twice (answer and event) is set up once. */
  readonly #adding = new Set<string>();
  /** Called when a transport fails for good (ICE lost); the store rejoins the channel. */
  onFailed: (() => void) | null = null;

  private constructor(
    channelId: string,
    device: Device,
    send: types.Transport,
    recv: types.Transport,
  ) {
    this.channelId = channelId;
    this.device = device;
    this.#send = send;
    this.#recv = recv;
  }

  /**
   * Sets up both transports from a `ptt.join` answer. The microphone comes afterwards
   * (`startMicrophone`), so a late joiner's consumers do not wait for it.
   * @throws when the browser cannot load the router's capabilities.
   */
  static async open(joined: PttJoined, signal: ChannelSignal): Promise<ChannelMedia> {
    const device = new Device();
    await device.load({
      routerRtpCapabilities: joined.rtpCapabilities as unknown as types.RtpCapabilities,
    });
    const options = (t: PttJoined['sendTransport']): types.TransportOptions => ({
      id: t.id,
      iceParameters: t.iceParameters as unknown as types.IceParameters,
      iceCandidates: t.iceCandidates as unknown as types.IceCandidate[],
      dtlsParameters: t.dtlsParameters as unknown as types.DtlsParameters,
    });
    const send = device.createSendTransport(options(joined.sendTransport));
    const recv = device.createRecvTransport(options(joined.recvTransport));
    const media = new ChannelMedia(joined.channel.id, device, send, recv);
    for (const transport of [send, recv]) {
      transport.on('connect', ({ dtlsParameters }, callback, errback) => {
        signal.connectTransport(transport.id, dtlsParameters).then(callback, errback);
      });
      transport.on('connectionstatechange', (state) => {
        if (state === 'failed' && !media.#closed) media.onFailed?.();
      });
    }
    send.on('produce', ({ rtpParameters }, callback, errback) => {
      signal.produce(send.id, rtpParameters).then((id) => callback({ id }), errback);
    });
    return media;
  }

  /**
   * The (paused) producer from the microphone. The track is cloned, so every channel
   * stops its own copy.
   * @throws when the produce call fails.
   */
  async startMicrophone(microphone: MediaStreamTrack): Promise<void> {
    if (this.#closed || this.#producer) return;
    const producer = await this.#send.produce({
      track: microphone.clone(),
      // Speech at radio quality: in-band FEC for lossy mobile links, no DTX so the meter
      // and the far end see a steady stream while talking.
      codecOptions: { opusFec: true, opusDtx: false, opusStereo: false },
      stopTracks: true,
      // Paused means nothing at all is sent, not RTP with silence.
      zeroRtpOnPause: true,
      disableTrackOnPause: true,
    });
    producer.pause();
    if (this.#closed) producer.close();
    else this.#producer = producer;
  }

  get hasMicrophone(): boolean {
    return this.#producer !== null;
  }

  /** The microphone track being sent (for the level meter), while transmitting. */
  get microphoneTrack(): MediaStreamTrack | null {
    return this.#producer && !this.#producer.paused ? this.#producer.track : null;
  }

  /** Starts or stops sending the microphone (the button is held or let go). */
  setTransmitting(on: boolean): void {
    const producer = this.#producer;
    if (!producer || producer.closed) return;
    if (on && producer.paused) producer.resume();
    else if (!on && !producer.paused) producer.pause();
  }

  /** Plays another member's audio. A consumer announced twice is set up once. */
  async addConsumer(info: PttConsumer): Promise<void> {
    if (this.#closed || this.#consumers.has(info.id) || this.#adding.has(info.id)) return;
    this.#adding.add(info.id);
    let consumer: types.Consumer;
    try {
      consumer = await this.#recv.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters as unknown as types.RtpParameters,
      });
    } finally {
      this.#adding.delete(info.id);
    }
    if (this.#closed) {
      consumer.close();
      return;
    }
    const element = new Audio();
    element.autoplay = true;
    element.srcObject = new MediaStream([consumer.track]);
    // Refused only without any user gesture on the page so far; joining is one.
    void element.play().catch(() => undefined);
    this.#consumers.set(info.id, { consumer, userId: info.userId, element });
  }

  removeConsumer(consumerId: string): void {
    const playing = this.#consumers.get(consumerId);
    if (!playing) return;
    this.#consumers.delete(consumerId);
    playing.element.srcObject = null;
    playing.consumer.close();
  }

  /** The received track of a member (for the level meter while they talk). */
  trackOf(userId: string): MediaStreamTrack | null {
    for (const playing of this.#consumers.values()) {
      if (playing.userId === userId) return playing.consumer.track;
    }
    return null;
  }

  hasConsumerOf(userId: string): boolean {
    return this.trackOf(userId) !== null;
  }

  /** inbound-rtp stats of the consumers of `userId` (every consumer when null). */
  async inbound(userId: string | null = null): Promise<InboundAudio | null> {
    const wanted = [...this.#consumers.values()].filter(
      (p) => userId === null || p.userId === userId,
    );
    if (wanted.length === 0) return null;
    let bytesReceived = 0;
    let packetsLost = 0;
    let audioLevel: number | null = null;
    for (const playing of wanted) {
      const report = await playing.consumer.getStats().catch(() => null);
      report?.forEach((stat: Record<string, unknown>) => {
        if (stat.type !== 'inbound-rtp') return;
        bytesReceived += Number(stat.bytesReceived ?? 0);
        packetsLost += Number(stat.packetsLost ?? 0);
        if (typeof stat.audioLevel === 'number') {
          audioLevel = Math.max(audioLevel ?? 0, stat.audioLevel);
        }
      });
    }
    return { bytesReceived, audioLevel, packetsLost };
  }

  /** outbound-rtp bytes of the producer (0 without a microphone). */
  async outboundBytes(): Promise<number> {
    const producer = this.#producer;
    if (!producer || producer.closed) return 0;
    let bytes = 0;
    const report = await producer.getStats().catch(() => null);
    report?.forEach((stat: Record<string, unknown>) => {
      if (stat.type === 'outbound-rtp') bytes += Number(stat.bytesSent ?? 0);
    });
    return bytes;
  }

  /** Idempotent: stops the microphone copy, every player and both transports. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#consumers.keys()]) this.removeConsumer(id);
    this.#producer?.close();
    this.#send.close();
    this.#recv.close();
  }
}
