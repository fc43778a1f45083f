/**
 * Messages between the bench and its swarm processes (IPC). Every request carries an
 * `id` that its reply repeats. Times are monotonic milliseconds (`nowMs()`), which on
 * Linux is one clock for every process on the machine, so receipt times taken in a swarm
 * process compare with the trigger time taken in the bench.
 */
export type SwarmKind =
  | 'socketio'
  | 'ws'
  /** A member's phone reporting positions (socket.io, no alarm inbox). */
  | 'positions'
  /** A dispatch console subscribed to batched positions (`positions.subscribe`). */
  | 'console';

export type SwarmRequest =
  | {
      id: number;
      cmd: 'connect';
      kind: SwarmKind;
      url: string;
      tokens: string[];
      concurrency: number;
    }
  | { id: number; cmd: 'counts' }
  | { id: number; cmd: 'collect' }
  | { id: number; cmd: 'respond'; alarmId: string }
  | {
      id: number;
      /** 'positions' devices report every `intervalMs` from `startAt` for `durationMs`. */
      cmd: 'report';
      /** Monotonic ms (`nowMs()`), the same for every process. */
      startAt: number;
      intervalMs: number;
      durationMs: number;
      /** Global index of this process's first device, and the number of devices overall. */
      offset: number;
      total: number;
    }
  | { id: number; cmd: 'positions' }
  | { id: number; cmd: 'close' };

export interface SwarmCounts {
  connected: number;
  failed: number;
  received: number;
  acked: number;
}

/** Per device, in connect order; NaN = did not happen. */
export interface SwarmCollected {
  receivedAt: number[];
  ackedAt: number[];
  /** The first payload as it came off the wire (the baseline sends the same bytes). */
  sample: string | null;
  errors: string[];
}

export interface SwarmResponded {
  startedAt: number;
  doneAt: number[];
  failed: number;
  errors: string[];
}

export type SwarmReply =
  | { id: number; ok: true; data: unknown }
  | { id: number; ok: false; error: string }
  | { progress: number };

/** One second of a positions run (index 0 = the second from `startAt`). */
export interface PerSecond {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** What a positions swarm process measured: its devices' reports and its consoles' receipts. */
export interface SwarmPositions {
  sent: number;
  accepted: number;
  /** Acknowledged `{ stored: false }` (rate limit, out of order). */
  notStored: number;
  /** Refused with an error code (code → count), or never acknowledged ('NO_ACK'). */
  refused: Record<string, number>;
  /** Report → acknowledgement, 1 ms bins (last bin: everything slower). */
  ackHistogram: number[];
  acceptedPerSecond: number[];
  /** Per phone in connect order: accepted reports and the newest accepted `recordedAt` (ms). */
  phones: Array<[number, number]>;
  consoles: Array<{
    /** Per member (the key the server sends as `userId`): positions received, newest (ms). */
    byUser: Record<string, [number, number]>;
    /** Positions that were new for their member (each accepted report once). */
    received: number;
    /** Older than or equal to one already seen for the member. */
    stale: number;
    batches: number;
    /** Device → console (wall clock, same machine), 1 ms bins. */
    latencyHistogram: number[];
    perSecond: PerSecond[];
    /** Every 20th latency, for plots. */
    sample: number[];
  }>;
  errors: string[];
}
