import type { types } from 'mediasoup';

/**
 * The SFU control API as data: every request, its response and every notification, as
 * discriminated unions. `Server.request()` takes these in-process; the network service
 * (`npm run start:sfu`, not built yet) will carry the same shapes and validate them at
 * its edge before they reach `Server`.
 */

/** `webrtc`: a client (browser, app) through the worker's WebRtcServer port.
 *  `plain`: unencrypted RTP on `plainListenIp` for gateways, the recorder and tests. */
export type TransportKind = 'webrtc' | 'plain';

export type SfuRequest =
  | { method: 'createChannel'; channelId: string }
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
  | { method: 'grantFloor'; channelId: string; producerId: string }
  | { method: 'releaseFloor'; channelId: string }
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
    };
