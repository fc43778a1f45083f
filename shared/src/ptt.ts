import type { Role } from './roles.ts';

/**
 * Push-to-talk as the backend speaks it over socket.io and HTTP. The web app (with
 * mediasoup-client) and test clients use these names and shapes; the backend validates
 * every client payload with its own schemas (backend/src/modules/ptt/schemas.ts).
 *
 * A client session, step by step:
 * 1. `GET /api/me/ptt/channels` lists the channels the member may join.
 * 2. `ptt.join { channelId }` → `PttJoined`: the router's RTP capabilities (load the
 *    mediasoup-client Device with them), a send and a receive WebRTC transport (create
 *    them with `device.createSendTransport(sendTransport)` / `createRecvTransport`), the
 *    floor state and which joined channel is audible. The socket is now in the channel's
 *    room and gets its `ptt.floor*` events.
 * 3. On each transport's `connect` event: `ptt.transport.connect { channelId, transportId,
 *    dtlsParameters }`.
 * 4. `ptt.produce { channelId, transportId, rtpParameters }` on the send transport's
 *    `produce` event → `{ producerId }`. The microphone may stay on: the server keeps the
 *    producer **paused** and forwards it only while this participant holds the floor.
 * 5. `ptt.consume { channelId, rtpCapabilities: device.rtpCapabilities }` → the consumers
 *    of everyone already in the channel (late entry: the current talker's audio flows at
 *    once). Later talkers arrive as `ptt.consumer` events. Call
 *    `recvTransport.consume(consumer)` for each and play the track; no resume call is
 *    needed (the server pauses and resumes consumers itself, see scan).
 * 6. Press: `ptt.floor.request { channelId }` → `PttFloorRequestResult` (`granted`: talk;
 *    `queued`: keep holding, `ptt.floor.granted` follows when it is your turn; `denied`).
 *    Let go: `ptt.floor.release { channelId }` (also leaves the queue).
 * 7. `ptt.leave { channelId }`, or disconnect: leaves every channel and ends a turn.
 *
 * After `ptt.channel.left` with reason `media_reset` (a media worker died and the channel
 * was re-created) the client joins again from step 2 without user action.
 *
 * Every client event is acknowledged with `SocketAck<T>` (see events.ts).
 */

/** Floor priority; a higher one pre-empts the current talker. An emergency beats all. */
export const PTT_PRIORITIES = ['member', 'lead', 'dispatcher'] as const;
export type PttPriority = (typeof PTT_PRIORITIES)[number];

/** Default and bounds of a channel's maximum talk time (seconds). */
export const PTT_MAX_TALK_SECONDS = { default: 30, min: 5, max: 600 } as const;
/** `ptt.floor.warning` comes this long before the maximum talk time ends a turn. */
export const PTT_TALK_WARNING_MS = 5000;

/** Who belongs to a channel (united), like alarm targets: units include their sub-units. */
export interface PttMembers {
  unitIds: string[];
  roles: Role[];
  userIds: string[];
}

/** A channel as dispatch and admins manage it (`/api/ptt/channels`). */
export interface PttChannel {
  id: string;
  name: string;
  members: PttMembers;
  /** Scan: a priority channel is heard over the selected and the scanned ones. */
  priority: boolean;
  /** Every transmission is recorded (Ogg Opus) and kept for the tenant's retention period. */
  recorded: boolean;
  maxTalkSeconds: number;
  /** Set for an alarm channel: its members are the alarm's recipients. */
  alarmId: string | null;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A channel the signed-in member may join (`GET /api/me/ptt/channels`). */
export interface PttMyChannel {
  id: string;
  name: string;
  priority: boolean;
  recorded: boolean;
  maxTalkSeconds: number;
  alarmId: string | null;
}

/** One recorded transmission (`GET /api/ptt/channels/:channelId/recordings`). */
export interface PttRecording {
  id: string;
  channelId: string;
  talkerUserId: string;
  talkerDisplayName: string;
  startedAt: string;
  durationMs: number;
  bytes: number;
  /** `GET` this (with the bearer token) for `audio/ogg`. */
  audioUrl: string;
}

export interface PttPosition {
  lat: number;
  lon: number;
  /** Metres. */
  accuracy: number;
}

/** An emergency call, as dispatch and the channel see it. */
export interface PttEmergency {
  id: string;
  channelId: string;
  channelName: string;
  userId: string;
  displayName: string;
  /** From the call, else the member's last known position (if shared), else null. */
  position: (PttPosition & { recordedAt: string | null }) | null;
  raisedAt: string;
  acknowledgedAt: string | null;
  acknowledgedByUserId: string | null;
  acknowledgedByName: string | null;
}

export interface PttFloorHolder {
  userId: string;
  displayName: string;
  priority: PttPriority;
  emergency: boolean;
  /** When the turn started (server time). */
  since: string;
  /** When the maximum talk time ends it, or null without a limit. */
  deadline: string | null;
}

/** `ptt.floor`: the channel's floor after every change; also in join and request acks. */
export interface PttFloorState {
  channelId: string;
  holder: PttFloorHolder | null;
  /** Members waiting for the floor. */
  queueLength: number;
  /**
   * The turn this state belongs to (grows with every grant in the channel; 0 when not
   * known). With several server nodes two states may arrive out of order: keep the one
   * with the higher `turn`, and for the same turn the one without holder (that turn
   * ended).
   */
  turn: number;
  /**
   * The turns this change ended (`mine` false), sent with the new state instead of a
   * message of their own to every member. The talker whose turn was taken (pre-empted,
   * expired) also gets `ptt.floor.ended` with `mine: true` on their own socket.
   */
  ended?: PttFloorEnded[];
}

export const PTT_FLOOR_END_REASONS = ['released', 'expired', 'left', 'preempted'] as const;
export type PttFloorEndReason = (typeof PTT_FLOOR_END_REASONS)[number];

/**
 * A turn that ended: in `PttFloorState.ended` for the channel, and as `ptt.floor.ended`
 * (with `mine: true`) to the talker's own socket when it was pre-empted or expired.
 */
export interface PttFloorEnded {
  channelId: string;
  userId: string;
  displayName: string;
  reason: PttFloorEndReason;
  /** For `preempted`: who took over (an emergency call, or a higher priority). */
  byUserId: string | null;
  byDisplayName: string | null;
  byEmergency: boolean;
  mine: boolean;
}

/**
 * `ptt.floor.granted`: to the talker's socket when a queued request is granted later (a
 * request granted at once has it in its answer).
 */
export interface PttFloorGranted {
  channelId: string;
  since: string;
  deadline: string | null;
  emergency: boolean;
}

/** `ptt.floor.warning`: to the talker's socket, PTT_TALK_WARNING_MS before the deadline (play a tone). */
export interface PttFloorWarning {
  channelId: string;
  deadline: string;
  remainingMs: number;
}

/** mediasoup-client's WebRTC transport options (`device.createSendTransport(...)`). */
export interface PttTransportOptions {
  id: string;
  /** mediasoup `IceParameters`, `IceCandidate[]`, `DtlsParameters` as JSON. */
  iceParameters: Record<string, unknown>;
  iceCandidates: Record<string, unknown>[];
  dtlsParameters: Record<string, unknown>;
}

/** Ack of `ptt.join`. */
export interface PttJoined {
  channel: PttMyChannel;
  /** The router's RTP capabilities: `device.load({ routerRtpCapabilities })`. */
  rtpCapabilities: Record<string, unknown>;
  sendTransport: PttTransportOptions;
  recvTransport: PttTransportOptions;
  floor: PttFloorState;
  /** Which joined channel is heard now (see scan). */
  audibleChannelId: string | null;
}

/** A talker's audio to play: `recvTransport.consume({ id, producerId, kind, rtpParameters })`. */
export interface PttConsumer {
  channelId: string;
  id: string;
  producerId: string;
  kind: 'audio';
  rtpParameters: Record<string, unknown>;
  /** Whose microphone it is. */
  userId: string;
}

export interface PttFloorRequestResult {
  outcome: 'granted' | 'queued' | 'denied';
  /** 1-based place in the queue for `queued`. */
  queuePosition: number | null;
  /** Why for `denied`: FLOOR_BUSY (the channel does not queue). */
  reason: string | null;
  floor: PttFloorState;
  /** Set when the request raised an emergency call. */
  emergencyId: string | null;
}

/** `ptt.audible`: the channel this socket hears now (null: none is transmitting). */
export interface PttAudible {
  audibleChannelId: string | null;
}

export const PTT_LEFT_REASONS = ['archived', 'deleted', 'not_member', 'media_reset'] as const;
/** `ptt.channel.left`: the server removed this socket from a channel. */
export interface PttChannelLeft {
  channelId: string;
  /** `media_reset`: join again (the channel's media worker was replaced). */
  reason: (typeof PTT_LEFT_REASONS)[number];
}

export const PTT_CLIENT_EVENTS = {
  /** `{ channelId }` → `PttJoined`. Joining again (e.g. after a reset) starts afresh. */
  join: 'ptt.join',
  /** `{ channelId, transportId, dtlsParameters }` → `null`. */
  connectTransport: 'ptt.transport.connect',
  /** `{ channelId, transportId, rtpParameters }` → `{ producerId }` (kept paused without the floor). */
  produce: 'ptt.produce',
  /** `{ channelId, rtpCapabilities }` → `{ consumers: PttConsumer[] }`; later ones come as `ptt.consumer`. */
  consume: 'ptt.consume',
  /** `{ channelId }` → `null`. */
  leave: 'ptt.leave',
  /**
   * `{ channelId, emergency?, position? }` → `PttFloorRequestResult`. With `emergency`
   * the call pre-empts everyone (also a dispatcher), is stored as an emergency and shown
   * to dispatch with `position` (or the last known one).
   */
  floorRequest: 'ptt.floor.request',
  /** `{ channelId }` → `{ floor: PttFloorState }`: ends the own turn or leaves the queue. */
  floorRelease: 'ptt.floor.release',
  /**
   * `{ scanChannelIds, selectedChannelId }` → `PttAudible`. Of the joined channels, the
   * selected one and the scanned ones can be heard (default: every joined channel is
   * scanned, the last joined is selected). When several transmit at once, a priority
   * channel wins over the selected one, which wins over the scanned ones (in list order).
   */
  scan: 'ptt.scan',
} as const;

export const PTT_SERVER_EVENTS = {
  /** `PttFloorState` to the channel's room after every floor change. */
  floor: 'ptt.floor',
  /** `PttFloorGranted` to the new talker's socket. */
  granted: 'ptt.floor.granted',
  /** `PttFloorEnded` to the channel's room (the talker's socket gets `mine: true`). */
  ended: 'ptt.floor.ended',
  /** `PttFloorWarning` to the talker's socket before the maximum talk time. */
  warning: 'ptt.floor.warning',
  /** `PttConsumer`: another member's audio to play. */
  consumer: 'ptt.consumer',
  /** `{ channelId, consumerId }`: that audio is gone (its talker left). */
  consumerClosed: 'ptt.consumer.closed',
  /** `PttAudible` when the heard channel changes (scan). */
  audible: 'ptt.audible',
  /** `PttEmergency` to the channel and the dispatch board when an emergency call is raised. */
  emergency: 'ptt.emergency',
  /** `PttEmergency` (with `acknowledgedAt`) when dispatch acknowledged it. */
  emergencyAcknowledged: 'ptt.emergency.acknowledged',
  /** `{}` to the tenant: channels changed, fetch `/api/me/ptt/channels` again. */
  channelsChanged: 'ptt.channels.changed',
  /** `PttChannelLeft`: this socket was taken out of a channel. */
  channelLeft: 'ptt.channel.left',
} as const;
