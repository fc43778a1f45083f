/**
 * Messages between the ptt-floor bench and its client processes (ptt/worker.ts). Each
 * process holds a share of the members' sockets; the bench tells it to connect them,
 * then to run the press schedule, and collects the latencies.
 */
export interface PttMember {
  token: string;
  channelId: string;
  /** Presses the button on the schedule (one per channel). */
  talker: boolean;
  /** Presses while the talker holds the floor, to exercise queueing (one per channel). */
  contender: boolean;
}

export type PttWorkerRequest =
  | {
      id: number;
      cmd: 'setup';
      url: string;
      members: PttMember[];
      /** 'trupp': join the channel and produce (talkers, contenders); 'echo': the baseline. */
      mode: 'trupp' | 'echo';
      concurrency: number;
    }
  | {
      id: number;
      cmd: 'run';
      /** Monotonic ms (the same clock in every process) at which the schedule starts. */
      startAt: number;
      durationMs: number;
      periodMs: number;
      holdMs: number;
      /** Every `contendEvery`-th press of a channel gets a contender's request during it. */
      contendEvery: number;
    }
  | { id: number; cmd: 'close' };

export interface PttSetupResult {
  connected: number;
  joined: number;
  produced: number;
  errors: string[];
}

export interface PttRunResult {
  /** Press → granted acknowledgement (ms), in order of the presses. */
  grant: number[];
  /** Monotonic ms (since startAt) of each press in `grant`. */
  grantAt: number[];
  /** Contender's press → queued acknowledgement (ms). */
  queued: number[];
  /** Release → acknowledgement (ms). */
  release: number[];
  outcomes: Record<string, number>;
  /** Talker presses sent (each should end in a grant). */
  presses: number;
  errors: string[];
}

export type PttWorkerReply =
  | { id: number; ok: true; data: unknown }
  | { id: number; ok: false; error: string }
  | { progress: number };
