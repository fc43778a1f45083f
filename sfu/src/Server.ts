import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { Channel } from './Channel.ts';
import type { SfuConfig } from './config.ts';
import { SFU_ERRORS, SfuError, sfuError } from './errors.ts';
import type { Participant } from './Participant.ts';
import { prepareRecordingDirectory } from './Recorder.ts';
import type {
  ConsumerInfo,
  RecordingOptions,
  SfuApi,
  SfuMethod,
  SfuNotification,
  SfuRequest,
  SfuResponse,
  SfuStats,
  TransportInfo,
  TransportKind,
} from './signaling.ts';

interface WorkerSlot {
  readonly index: number;
  worker: types.Worker | null;
  webRtcServer: types.WebRtcServer | null;
  udpPort: number | null;
  tcpPort: number | null;
  restarts: number;
}

export interface ServerOptions {
  readonly config: SfuConfig;
  readonly log: Logger;
  /** Receives every notification (channel.reset, worker.died, …); must not throw. */
  readonly onNotification?: (notification: SfuNotification) => void;
}

/**
 * The SFU: a pool of mediasoup workers (one WebRtcServer each, so one UDP and one TCP
 * port per worker), the registry of channels, and the control API the backend calls.
 *
 * A worker that dies is started again at once on the same ports; its channels are
 * re-created on the least loaded running worker and announced with `channel.reset` so
 * the backend can tell participants to reconnect.
 */
export class Server implements SfuApi {
  readonly #config: SfuConfig;
  readonly #log: Logger;
  readonly #notify: (notification: SfuNotification) => void;
  readonly #slots: WorkerSlot[] = [];
  readonly #channels = new Map<string, Channel>();
  /** Channel creation in flight, so two joins for a new channel cannot race. */
  readonly #creating = new Map<string, Promise<Channel>>();
  /** Channels being moved off a dead worker. */
  readonly #resetting = new Set<string>();
  /** Recordings still writing; `shutdown()` waits for them. */
  readonly #recordings = new Set<Promise<void>>();
  #closed = false;

  private constructor(options: ServerOptions) {
    this.#config = options.config;
    this.#log = options.log;
    this.#notify = options.onNotification ?? (() => undefined);
  }

  /**
   * Starts `config.workers` workers with their WebRtcServers.
   * @throws Error when a worker cannot start (missing binary, port in use).
   */
  static async start(options: ServerOptions): Promise<Server> {
    const server = new Server(options);
    try {
      for (let index = 0; index < options.config.workers; index += 1) {
        const slot: WorkerSlot = {
          index,
          worker: null,
          webRtcServer: null,
          udpPort: null,
          tcpPort: null,
          restarts: 0,
        };
        server.#slots.push(slot);
        await server.#startWorker(slot);
      }
    } catch (error) {
      server.close();
      throw error;
    }
    server.#log.info({ workers: server.#slots.length }, 'sfu started');
    return server;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Dispatches a control message; the network edge and in-process callers share it. */
  async request<M extends SfuMethod>(
    message: Extract<SfuRequest, { method: M }>,
  ): Promise<SfuResponse<M>> {
    const m = message as SfuRequest;
    const result: SfuResponse<SfuMethod> = await (() => {
      switch (m.method) {
        case 'createChannel':
          return this.createChannel(
            m.channelId,
            m.recording === undefined ? {} : { recording: m.recording },
          );
        case 'closeChannel':
          return { closed: this.closeChannel(m.channelId) };
        case 'join':
          return this.join(m.channelId, m.participantId);
        case 'leave':
          return { left: this.leave(m.channelId, m.participantId) };
        case 'createTransport':
          return this.createTransport(m.channelId, m.participantId, m.kind, m);
        case 'connectTransport':
          return this.connectTransport(m.channelId, m.participantId, m.transportId, m);
        case 'produce':
          return this.produce(m.channelId, m.participantId, m.transportId, m.rtpParameters);
        case 'consume':
          return this.consume(
            m.channelId,
            m.participantId,
            m.transportId,
            m.producerId,
            m.rtpCapabilities,
            m,
          );
        case 'pauseProducer':
          return this.pauseProducer(m.channelId, m.participantId);
        case 'resumeProducer':
          return this.resumeProducer(m.channelId, m.participantId);
        case 'pauseConsumer':
          return this.pauseConsumer(m.channelId, m.participantId, m.consumerId);
        case 'resumeConsumer':
          return this.resumeConsumer(m.channelId, m.participantId, m.consumerId);
        case 'grantFloor':
          return this.grantFloor(
            m.channelId,
            m.producerId,
            m.talker === undefined ? {} : { talker: m.talker },
          );
        case 'releaseFloor':
          return this.releaseFloor(m.channelId);
        case 'setRecording':
          return this.setRecording(m.channelId, m.recording);
        case 'stats':
          return this.stats();
      }
    })();
    return result as SfuResponse<M>;
  }

  /**
   * Creates the channel (one router) if it does not exist yet; concurrent calls share
   * one creation. `recording`, when given, is applied as by `setRecording()` (also to an
   * existing channel).
   * @throws SfuError SFU_CLOSED, SFU_NO_WORKER, SFU_BAD_RECORDING_DIRECTORY
   */
  async createChannel(
    channelId: string,
    options: { recording?: RecordingOptions | null } = {},
  ): Promise<SfuResponse<'createChannel'>> {
    if (options.recording) await prepareRecordingDirectory(options.recording.directory);
    const channel = await this.#getOrCreateChannel(channelId);
    if (options.recording !== undefined) await channel.setRecording(options.recording);
    return { channelId, rtpCapabilities: channel.router.rtpCapabilities };
  }

  /**
   * Records the channel's transmissions into `recording.directory` (created if missing):
   * each floor holder's turn becomes one Ogg Opus file, announced by `recording.finished`
   * when it ends. Applies at once to a turn in progress; `null` stops recording.
   * @throws SfuError SFU_BAD_RECORDING_DIRECTORY, SFU_CHANNEL_NOT_FOUND, SFU_CHANNEL_RESETTING
   */
  async setRecording(
    channelId: string,
    recording: RecordingOptions | null,
  ): Promise<SfuResponse<'setRecording'>> {
    const channel = this.#channel(channelId);
    if (recording) await prepareRecordingDirectory(recording.directory);
    await channel.setRecording(recording ? { directory: recording.directory } : null);
    return { recording: recording !== null };
  }

  /** Idempotent. */
  closeChannel(channelId: string): boolean {
    const channel = this.#channels.get(channelId);
    if (!channel) return false;
    channel.close();
    this.#channels.delete(channelId);
    return true;
  }

  /**
   * Adds a participant (creating the channel on first use). Returns the router's
   * capabilities for the client's device and the producers to consume (late entry: the
   * current talker's producer is among them and already flowing).
   */
  async join(channelId: string, participantId: string): Promise<SfuResponse<'join'>> {
    const channel = await this.#getOrCreateChannel(channelId);
    this.#ready(channel);
    channel.join(participantId);
    return { rtpCapabilities: channel.router.rtpCapabilities, producerIds: channel.producerIds() };
  }

  /** Idempotent; closes everything the participant had. */
  leave(channelId: string, participantId: string): boolean {
    return this.#channels.get(channelId)?.leave(participantId) ?? false;
  }

  /**
   * A WebRTC transport on the channel's worker's WebRtcServer (its one UDP and one TCP
   * port), or a plain RTP transport on `plainListenIp`.
   * @throws SfuError SFU_CHANNEL_NOT_FOUND, SFU_PARTICIPANT_NOT_FOUND, SFU_CHANNEL_RESETTING
   */
  async createTransport(
    channelId: string,
    participantId: string,
    kind: TransportKind,
    options: { comedia?: boolean } = {},
  ): Promise<TransportInfo> {
    const channel = this.#channel(channelId);
    const participant = channel.participant(participantId);
    const appData = { channelId, participantId };
    if (kind === 'webrtc') {
      const webRtcServer = this.#slots[channel.workerIndex]?.webRtcServer;
      if (!webRtcServer) throw sfuError('SFU_CHANNEL_RESETTING');
      const transport = await channel.router.createWebRtcTransport({
        webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        appData,
      });
      participant.addTransport({ kind: 'webrtc', transport });
      return {
        transportId: transport.id,
        kind,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
      };
    }
    const transport = await channel.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: this.#config.plainListenIp },
      rtcpMux: true,
      comedia: options.comedia ?? false,
      appData,
    });
    participant.addTransport({ kind: 'plain', transport });
    return {
      transportId: transport.id,
      kind,
      ip: transport.tuple.localAddress ?? transport.tuple.localIp,
      port: transport.tuple.localPort,
    };
  }

  /**
   * WebRTC: the client's DTLS parameters. Plain: where to send RTP (not needed with comedia).
   * @throws SfuError SFU_BAD_TRANSPORT_PARAMETERS and the lookups' errors
   */
  async connectTransport(
    channelId: string,
    participantId: string,
    transportId: string,
    parameters: { dtlsParameters?: types.DtlsParameters; ip?: string; port?: number },
  ): Promise<SfuResponse<'connectTransport'>> {
    const entry = this.#participant(channelId, participantId).transport(transportId);
    if (entry.kind === 'webrtc') {
      if (!parameters.dtlsParameters) throw sfuError('SFU_BAD_TRANSPORT_PARAMETERS');
      await badInputAs(
        'SFU_BAD_TRANSPORT_PARAMETERS',
        entry.transport.connect({ dtlsParameters: parameters.dtlsParameters }),
      );
    } else {
      if (parameters.ip === undefined || parameters.port === undefined) {
        throw sfuError('SFU_BAD_TRANSPORT_PARAMETERS');
      }
      await badInputAs(
        'SFU_BAD_TRANSPORT_PARAMETERS',
        entry.transport.connect({ ip: parameters.ip, port: parameters.port }),
      );
    }
    return { connected: true };
  }

  /**
   * The participant's microphone. It is created **paused** and stays silent for
   * everyone until `grantFloor()` names it: a client that ignores floor control cannot
   * talk over the holder.
   * @throws SfuError SFU_ALREADY_PRODUCING and the lookups' errors
   */
  async produce(
    channelId: string,
    participantId: string,
    transportId: string,
    rtpParameters: types.RtpParameters,
  ): Promise<SfuResponse<'produce'>> {
    const channel = this.#channel(channelId);
    const participant = channel.participant(participantId);
    if (participant.producer && !participant.producer.closed)
      throw sfuError('SFU_ALREADY_PRODUCING');
    const { transport } = participant.transport(transportId);
    const producer = await badInputAs(
      'SFU_BAD_RTP_PARAMETERS',
      transport.produce({
        kind: 'audio',
        rtpParameters,
        paused: true,
        appData: { channelId, participantId },
      }),
    );
    participant.producer = producer;
    producer.observer.once('close', () => {
      if (participant.producer === producer) participant.producer = null;
    });
    return { producerId: producer.id, paused: true };
  }

  /**
   * Forwards `producerId` to the participant over `transportId`. The consumer starts
   * paused by default: the client resumes it once its side is ready, so the first
   * packets it gets are ones it can play.
   * @throws SfuError SFU_CANNOT_CONSUME and the lookups' errors
   */
  async consume(
    channelId: string,
    participantId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: types.RtpCapabilities,
    options: { paused?: boolean } = {},
  ): Promise<ConsumerInfo> {
    const channel = this.#channel(channelId);
    const participant = channel.participant(participantId);
    channel.producer(producerId);
    let canConsume: boolean;
    try {
      canConsume = channel.router.canConsume({ producerId, rtpCapabilities });
    } catch {
      canConsume = false; // malformed capabilities
    }
    if (!canConsume) throw sfuError('SFU_CANNOT_CONSUME');
    const { transport } = participant.transport(transportId);
    const consumer = await transport.consume({
      producerId,
      rtpCapabilities,
      paused: options.paused ?? true,
      appData: { channelId, participantId },
    });
    participant.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => participant.consumers.delete(consumer.id));
    consumer.once('producerclose', () => {
      this.#emit({
        type: 'consumer.closed',
        channelId,
        participantId,
        consumerId: consumer.id,
        producerId,
      });
    });
    return {
      consumerId: consumer.id,
      producerId,
      kind: 'audio',
      rtpParameters: consumer.rtpParameters,
      paused: consumer.paused,
    };
  }

  /** The participant mutes their own producer; the floor (if held) stays theirs. */
  async pauseProducer(
    channelId: string,
    participantId: string,
  ): Promise<SfuResponse<'pauseProducer'>> {
    const participant = this.#participant(channelId, participantId);
    if (!participant.producer) throw sfuError('SFU_PRODUCER_NOT_FOUND');
    await participant.producer.pause();
    return { paused: true };
  }

  /**
   * Un-mutes the participant's producer, allowed only while they hold the floor.
   * @throws SfuError SFU_NOT_FLOOR_HOLDER
   */
  async resumeProducer(
    channelId: string,
    participantId: string,
  ): Promise<SfuResponse<'resumeProducer'>> {
    const channel = this.#channel(channelId);
    await channel.resumeOwnProducer(channel.participant(participantId));
    return { paused: false };
  }

  async pauseConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'pauseConsumer'>> {
    await this.#participant(channelId, participantId).consumer(consumerId).pause();
    return { paused: true };
  }

  async resumeConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'resumeConsumer'>> {
    await this.#participant(channelId, participantId).consumer(consumerId).resume();
    return { paused: false };
  }

  /**
   * Server-side floor enforcement: resumes `producerId` and pauses the previous holder,
   * so exactly this producer is forwarded to the channel. Who gets the floor is decided
   * by the caller (see floor.ts). In a recorded channel the turn's recording starts here;
   * `talker` labels it (default: the participant id).
   * @throws SfuError SFU_PRODUCER_NOT_FOUND, SFU_CHANNEL_NOT_FOUND, SFU_CHANNEL_RESETTING
   */
  async grantFloor(
    channelId: string,
    producerId: string,
    options: { talker?: string } = {},
  ): Promise<SfuResponse<'grantFloor'>> {
    const { previousProducerId } = await this.#channel(channelId).grantFloor(
      producerId,
      options.talker,
    );
    return { producerId, previousProducerId };
  }

  /** Pauses the floor holder: nobody is forwarded. */
  async releaseFloor(channelId: string): Promise<SfuResponse<'releaseFloor'>> {
    return this.#channel(channelId).releaseFloor();
  }

  stats(): SfuStats {
    const channels = [...this.#channels.values()];
    return {
      workers: this.#slots.map((slot) => ({
        index: slot.index,
        pid: slot.worker?.pid ?? null,
        udpPort: slot.udpPort,
        tcpPort: slot.tcpPort,
        channels: channels.filter((channel) => channel.workerIndex === slot.index).length,
        restarts: slot.restarts,
      })),
      channels: channels.map((channel) => channel.serialize()),
    };
  }

  /** Idempotent: closes every channel and worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
    for (const slot of this.#slots) {
      slot.worker?.close();
      slot.worker = null;
      slot.webRtcServer = null;
    }
    this.#log.info('sfu closed');
  }

  /** `close()`, then waits until every recording still being written is complete. */
  async shutdown(): Promise<void> {
    this.close();
    await Promise.allSettled([...this.#recordings]);
  }

  // -------------------------------------------------------------------------------------

  async #startWorker(slot: WorkerSlot): Promise<void> {
    const worker = await mediasoup.createWorker({
      logLevel: this.#config.workerLogLevel,
      appData: { index: slot.index },
    });
    try {
      const port = this.#config.rtcPort === 0 ? undefined : this.#config.rtcPort + slot.index;
      const listen = {
        ip: this.#config.listenIp,
        ...(this.#config.announcedAddress
          ? { announcedAddress: this.#config.announcedAddress }
          : {}),
        ...(port === undefined ? {} : { port }),
      };
      const webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ...listen },
          { protocol: 'tcp', ...listen },
        ],
      });
      const dump = await webRtcServer.dump();
      slot.worker = worker;
      slot.webRtcServer = webRtcServer;
      slot.udpPort = dump.udpSockets[0]?.port ?? null;
      slot.tcpPort = dump.tcpServers[0]?.port ?? null;
    } catch (error) {
      worker.close();
      throw error;
    }
    worker.once('died', (error) => this.#onWorkerDied(slot, worker, error));
    this.#log.info(
      { workerIndex: slot.index, pid: worker.pid, udpPort: slot.udpPort, tcpPort: slot.tcpPort },
      'worker started',
    );
  }

  #onWorkerDied(slot: WorkerSlot, worker: types.Worker, error: Error): void {
    if (this.#closed || slot.worker !== worker) return;
    this.#log.error({ workerIndex: slot.index, pid: worker.pid, err: error }, 'worker died');
    slot.worker = null;
    slot.webRtcServer = null;
    const affected = [...this.#channels.values()].filter(
      (channel) => channel.workerIndex === slot.index,
    );
    for (const channel of affected) this.#resetting.add(channel.id);
    this.#emit({
      type: 'worker.died',
      workerIndex: slot.index,
      pid: worker.pid,
      error: error.message,
    });
    void this.#recover(slot, affected);
  }

  /** Restarts the worker (retrying until it runs), then re-creates the lost channels. */
  async #recover(slot: WorkerSlot, channels: Channel[]): Promise<void> {
    while (!this.#closed && !slot.worker) {
      try {
        await this.#startWorker(slot);
        slot.restarts += 1;
        this.#emit({ type: 'worker.restarted', workerIndex: slot.index, pid: slot.worker!.pid });
      } catch (error) {
        this.#log.error({ workerIndex: slot.index, err: error }, 'worker restart failed');
        await new Promise((resolve) => setTimeout(resolve, this.#config.workerRestartDelayMs));
      }
    }
    await Promise.all(
      channels.map(async (channel) => {
        try {
          const target = this.#leastLoadedSlot();
          const participantIds = await channel.rebuild(target.worker!, target.index);
          this.#log.warn(
            {
              channelId: channel.id,
              workerIndex: target.index,
              participants: participantIds.length,
            },
            'channel re-created after worker death',
          );
          this.#resetting.delete(channel.id);
          this.#emit({
            type: 'channel.reset',
            channelId: channel.id,
            participantIds,
            reason: 'worker.died',
          });
        } catch (error) {
          if (this.#closed) return;
          this.#log.error({ channelId: channel.id, err: error }, 'channel re-creation failed');
          this.#resetting.delete(channel.id);
          this.closeChannel(channel.id);
        }
      }),
    );
  }

  #leastLoadedSlot(): WorkerSlot & { worker: types.Worker } {
    let best: WorkerSlot | null = null;
    let bestLoad = Infinity;
    for (const slot of this.#slots) {
      if (!slot.worker) continue;
      let load = 0;
      for (const channel of this.#channels.values())
        if (channel.workerIndex === slot.index) load += 1;
      if (load < bestLoad) [best, bestLoad] = [slot, load];
    }
    if (!best) throw sfuError('SFU_NO_WORKER');
    return best as WorkerSlot & { worker: types.Worker };
  }

  async #getOrCreateChannel(channelId: string): Promise<Channel> {
    if (this.#closed) throw sfuError('SFU_CLOSED');
    const existing = this.#channels.get(channelId);
    if (existing) return existing;
    let creating = this.#creating.get(channelId);
    if (!creating) {
      creating = (async () => {
        const slot = this.#leastLoadedSlot();
        const channel = await Channel.create(
          channelId,
          slot.worker,
          slot.index,
          this.#log.child({ channelId }),
          {
            notify: (notification) => this.#emit(notification),
            track: (done) => {
              this.#recordings.add(done);
              void done.finally(() => this.#recordings.delete(done));
            },
          },
        );
        if (this.#closed) {
          channel.close();
          throw sfuError('SFU_CLOSED');
        }
        this.#channels.set(channelId, channel);
        this.#log.info({ channelId, workerIndex: slot.index }, 'channel created');
        return channel;
      })().finally(() => this.#creating.delete(channelId));
      this.#creating.set(channelId, creating);
    }
    return creating;
  }

  /** @throws SfuError SFU_CHANNEL_NOT_FOUND, SFU_CHANNEL_RESETTING */
  #channel(channelId: string): Channel {
    const channel = this.#channels.get(channelId);
    if (!channel) throw sfuError('SFU_CHANNEL_NOT_FOUND');
    this.#ready(channel);
    return channel;
  }

  #ready(channel: Channel): void {
    if (this.#resetting.has(channel.id)) throw sfuError('SFU_CHANNEL_RESETTING');
  }

  #participant(channelId: string, participantId: string): Participant {
    return this.#channel(channelId).participant(participantId);
  }

  #emit(notification: SfuNotification): void {
    try {
      this.#notify(notification);
    } catch (error) {
      this.#log.error({ err: error, type: notification.type }, 'notification handler threw');
    }
  }
}

/**
 * mediasoup rejects malformed RTP or DTLS parameters with a TypeError (or its
 * UnsupportedError): that is the caller's bad input, a 400, not a failure of the SFU.
 */
async function badInputAs<T>(
  code: 'SFU_BAD_RTP_PARAMETERS' | 'SFU_BAD_TRANSPORT_PARAMETERS',
  operation: Promise<T>,
): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof SfuError) throw error;
    if (error instanceof TypeError || (error as Error)?.name === 'UnsupportedError') {
      throw sfuError(code, `${SFU_ERRORS[code].message} ${(error as Error).message}`);
    }
    throw error;
  }
}
