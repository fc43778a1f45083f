import type { types } from 'mediasoup';

/**
 * The SFU control API as data: every request, its response and every notification, as
 * discriminated unions, and `SfuApi`, the typed interface over them. `Server` implements
 * it in-process; `connectSfu()` (client.ts) implements it over the network against
 * `npm run start:sfu` (service.ts), which validates every message at its edge
 * (validate.ts) before it reaches `Server.request()`.
 */

/** `webrtc`: a client (browser, app) through the worker's WebRtcServer port.
 *  `plain`: unencrypted RTP on `plainListenIp` for gateways, the recorder and tests. */
export type TransportKind = 'webrtc' | 'plain';

/**
 * Recording of a channel: while set, every floor holder's transmission is written to its
 * own Ogg Opus file in `directory` (an absolute path on the SFU's host, created if
 * missing), from the grant to the end of the turn, announced by `recording.finished`.
 */
export interface RecordingOptions {
  directory: string;
}

/** Why a recording ended. */
export type RecordingEndReason =
  /** `releaseFloor()`: the talker let go, their time ran out, or the backend ended the turn. */
  | 'released'
  /** `grantFloor()` gave the floor to another producer (pre-emption, queue). */
  | 'floor.changed'
  /** The talker's producer closed: they left, changed producer, or the worker died. */
  | 'producer.closed'
  /** `setRecording(channelId, null)` during the turn. */
  | 'recording.off'
  /** `closeChannel()` or the SFU shutting down. */
  | 'channel.closed';

export type SfuRequest =
  | { method: 'createChannel'; channelId: string; recording?: RecordingOptions | null }
  | { method: 'closeChannel'; channelId: string }
  | { method: 'join'; channelId: string; participantId: string }
  | { method: 'leave'; channelId: string; participantId: string }
  | {
      method: 'createTransport';
      channelId: string;
      participantId: string;
      kind: TransportKind;
      /** plain only: learn the remote address from the first packet received. */
      comedia?: boolean;
    }
  | {
      method: 'connectTransport';
      channelId: string;
      participantId: string;
      transportId: string;
      /** webrtc */
      dtlsParameters?: types.DtlsParameters;
      /** plain, unless created with comedia */
      ip?: string;
      port?: number;
    }
  | {
      method: 'produce';
      channelId: string;
      participantId: string;
      transportId: string;
      rtpParameters: types.RtpParameters;
    }
  | {
      method: 'consume';
      channelId: string;
      participantId: string;
      transportId: string;
      producerId: string;
      rtpCapabilities: types.RtpCapabilities;
      /** Default true: resume once the client has set up its side (see Participant). */
      paused?: boolean;
    }
  | { method: 'pauseProducer'; channelId: string; participantId: string }
  | { method: 'resumeProducer'; channelId: string; participantId: string }
  | { method: 'pauseConsumer'; channelId: string; participantId: string; consumerId: string }
  | { method: 'resumeConsumer'; channelId: string; participantId: string; consumerId: string }
  | {
      method: 'grantFloor';
      channelId: string;
      producerId: string;
      /** Label of the talker for a recording's tags and notification (default: participant id). */
      talker?: string;
    }
  | { method: 'releaseFloor'; channelId: string }
  | { method: 'setRecording'; channelId: string; recording: RecordingOptions | null }
  | { method: 'stats' };

export type SfuMethod = SfuRequest['method'];

export interface TransportInfo {
  transportId: string;
  kind: TransportKind;
  /** webrtc */
  iceParameters?: types.IceParameters;
  iceCandidates?: types.IceCandidate[];
  dtlsParameters?: types.DtlsParameters;
  /** plain: where to send RTP (and RTCP, multiplexed). */
  ip?: string;
  port?: number;
}

export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  kind: 'audio';
  rtpParameters: types.RtpParameters;
  paused: boolean;
}

export interface ChannelSnapshot {
  channelId: string;
  workerIndex: number;
  participants: ParticipantSnapshot[];
  floorProducerId: string | null;
  /** Where transmissions are recorded, or null when the channel is not recorded. */
  recording: RecordingOptions | null;
  /** The recording of the current transmission, if one is running. */
  recordingId: string | null;
}

export interface ParticipantSnapshot {
  participantId: string;
  transportIds: string[];
  producerId: string | null;
  producerPaused: boolean | null;
  consumerIds: string[];
}

export interface WorkerSnapshot {
  index: number;
  pid: number | null;
  /** Ports of this worker's WebRtcServer (the one UDP and one TCP port clients use). */
  udpPort: number | null;
  tcpPort: number | null;
  channels: number;
  restarts: number;
}

export interface SfuStats {
  workers: WorkerSnapshot[];
  channels: ChannelSnapshot[];
}

/** Response payload of each method. */
export interface SfuResponses {
  createChannel: { channelId: string; rtpCapabilities: types.RtpCapabilities };
  closeChannel: { closed: boolean };
  join: { rtpCapabilities: types.RtpCapabilities; producerIds: string[] };
  leave: { left: boolean };
  createTransport: TransportInfo;
  connectTransport: { connected: true };
  produce: { producerId: string; paused: true };
  consume: ConsumerInfo;
  pauseProducer: { paused: true };
  resumeProducer: { paused: false };
  pauseConsumer: { paused: true };
  resumeConsumer: { paused: false };
  grantFloor: { producerId: string; previousProducerId: string | null };
  releaseFloor: { previousProducerId: string | null };
  setRecording: { recording: boolean };
  stats: SfuStats;
}

export type SfuResponse<M extends SfuMethod> = SfuResponses[M];

export type SfuNotification =
  | { type: 'worker.died'; workerIndex: number; pid: number; error: string }
  | { type: 'worker.restarted'; workerIndex: number; pid: number }
  /**
   * The channel's media was lost with its worker and the channel was re-created on a
   * running one: every listed participant must join again and set up its transports,
   * producer and consumers anew; the floor holder's new producer needs a new grant.
   */
  | { type: 'channel.reset'; channelId: string; participantIds: string[]; reason: 'worker.died' }
  /** The producer it was fed by went away (its participant left or changed producer). */
  | {
      type: 'consumer.closed';
      channelId: string;
      participantId: string;
      consumerId: string;
      producerId: string;
    }
  /** A transmission was recorded: the file at `path` (on the SFU's host) is complete. */
  | (RecordingInfo & {
      type: 'recording.finished';
      /** From the final granule position: the file's playing time. */
      durationMs: number;
      bytes: number;
      /** Audio packets received; lost or silent (DTX, muted) time is concealed. */
      packets: number;
      concealedMs: number;
      reason: RecordingEndReason;
    })
  /** Writing a recording failed (disk full, directory removed); the partial file is deleted. */
  | (RecordingInfo & { type: 'recording.failed'; error: string })
  /**
   * Only from `connectSfu()`: the connection to the SFU service dropped (requests fail
   * with SFU_UNAVAILABLE until it is back; the client reconnects by itself) …
   */
  | { type: 'sfu.disconnected'; error: string }
  /**
   * … and is back. `restarted`: it is a new SFU process, every channel is gone and
   * participants must join again, as after `channel.reset`.
   */
  | { type: 'sfu.connected'; restarted: boolean };

export interface RecordingInfo {
  recordingId: string;
  channelId: string;
  participantId: string;
  producerId: string;
  talker: string;
  /** Absolute path of the .opus file on the SFU's host. */
  path: string;
  /** ISO time of the first audio packet. */
  startedAt: string;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The control API the backend uses, implemented by `Server` (in-process) and by the
 * client of `connectSfu()` (over the network). Some `Server` methods answer
 * synchronously; always `await` the result. Every method throws `SfuError`.
 */
export interface SfuApi {
  readonly closed: boolean;
  request<M extends SfuMethod>(
    message: Extract<SfuRequest, { method: M }>,
  ): Promise<SfuResponse<M>>;
  createChannel(
    channelId: string,
    options?: { recording?: RecordingOptions | null },
  ): Promise<SfuResponse<'createChannel'>>;
  closeChannel(channelId: string): MaybePromise<boolean>;
  join(channelId: string, participantId: string): Promise<SfuResponse<'join'>>;
  leave(channelId: string, participantId: string): MaybePromise<boolean>;
  createTransport(
    channelId: string,
    participantId: string,
    kind: TransportKind,
    options?: { comedia?: boolean },
  ): Promise<TransportInfo>;
  connectTransport(
    channelId: string,
    participantId: string,
    transportId: string,
    parameters: { dtlsParameters?: types.DtlsParameters; ip?: string; port?: number },
  ): Promise<SfuResponse<'connectTransport'>>;
  produce(
    channelId: string,
    participantId: string,
    transportId: string,
    rtpParameters: types.RtpParameters,
  ): Promise<SfuResponse<'produce'>>;
  consume(
    channelId: string,
    participantId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: types.RtpCapabilities,
    options?: { paused?: boolean },
  ): Promise<ConsumerInfo>;
  pauseProducer(channelId: string, participantId: string): Promise<SfuResponse<'pauseProducer'>>;
  resumeProducer(channelId: string, participantId: string): Promise<SfuResponse<'resumeProducer'>>;
  pauseConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'pauseConsumer'>>;
  resumeConsumer(
    channelId: string,
    participantId: string,
    consumerId: string,
  ): Promise<SfuResponse<'resumeConsumer'>>;
  grantFloor(
    channelId: string,
    producerId: string,
    options?: { talker?: string },
  ): Promise<SfuResponse<'grantFloor'>>;
  releaseFloor(channelId: string): Promise<SfuResponse<'releaseFloor'>>;
  setRecording(
    channelId: string,
    recording: RecordingOptions | null,
  ): Promise<SfuResponse<'setRecording'>>;
  stats(): MaybePromise<SfuStats>;
  /** Server: stops the SFU. Client: closes the connection (the service keeps running). */
  close(): void;
}
