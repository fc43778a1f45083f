/**
 * Messages between the bench and its swarm processes (IPC). Every request carries an
 * `id` that its reply repeats. Times are monotonic milliseconds (`nowMs()`), which on
 * Linux is one clock for every process on the machine, so receipt times taken in a swarm
 * process compare with the trigger time taken in the bench.
 */
export type SwarmKind = 'socketio' | 'ws';

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
