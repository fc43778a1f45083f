/**
 * IPC between the SFU benchmarks and their RTP peer processes (peer.ts). One peer plays
 * one role: `talker` (sends synthetic Opus RTP at 50 packets/s per stream), `receiver`
 * (UDP sockets standing for listeners, timing every packet) or `relay` (the raw UDP
 * baseline: forwards every packet it receives to a list of addresses).
 *
 * Times are `process.hrtime.bigint()` — CLOCK_MONOTONIC, the same clock in every process
 * on the machine — so a send time written into a packet by the talker can be compared
 * with the arrival time in a receiver.
 */
export interface Endpoint {
  ip: string;
  port: number;
}

/** One talker stream: where its RTP goes and the SSRC its producer was created with. */
export interface TalkStream {
  ssrc: number;
  target: Endpoint;
}

export type PeerRequest = { id: number } & (
  | { cmd: 'talk'; streams: TalkStream[]; payloadType: number; payloadBytes: number }
  /** Sends to a new target from now on (same stream, same timeline). */
  | { cmd: 'retarget'; index: number; target: Endpoint }
  /** Packets sent from now on carry this window id; answers the counts so far. */
  | { cmd: 'window'; window: number }
  | { cmd: 'stop' }
  | { cmd: 'open'; count: number }
  /** Receiver: per-window totals and latency histogram; per-socket first arrival. */
  | { cmd: 'collect'; window: number }
  /** Receiver: packets of a window received so far (to wait for stragglers). */
  | { cmd: 'peek'; window: number }
  | { cmd: 'firsts'; ports: number[] }
  | { cmd: 'relay' }
  | { cmd: 'relayTo'; targets: Endpoint[] }
  | { cmd: 'cpu' }
);

export type PeerReply =
  { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };

/** Talker: packets sent per window id. */
export type TalkerCounts = Record<string, number>;

/** Receiver: what arrived for one window. */
export interface WindowStats {
  window: number;
  received: number;
  /** Sparse latency histogram: [bin, count], bins of HISTOGRAM_BIN_MS. */
  histogram: Array<[number, number]>;
  maxMs: number;
  /** Sockets that got nothing in this window. */
  silentSockets: number;
}

export const HISTOGRAM_BIN_MS = 0.01;
/** Latencies above this land in the last bin (their exact maximum is kept). */
export const HISTOGRAM_MAX_MS = 2_000;

/** Payload layout of a synthetic Opus packet: TOC, window id, send time, filler. */
export const PAYLOAD_TOC = 0xfc; // CELT fullband 20 ms, one frame
export const PAYLOAD_WINDOW_OFFSET = 1;
export const PAYLOAD_SENT_AT_OFFSET = 5;
export const PAYLOAD_MIN_BYTES = 13;
