import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  HISTOGRAM_BIN_MS,
  type PeerReply,
  type PeerRequest,
  type WindowStats,
} from './protocol.ts';

type Command = PeerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

/** One RTP peer process (peer.ts), asked over IPC. */
export class RtpPeer {
  readonly #child: ChildProcess;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;

  constructor(readonly role: 'talker' | 'receiver' | 'relay') {
    const script = fileURLToPath(new URL('./peer.ts', import.meta.url));
    // execArgv is inherited, so the peer runs TypeScript through tsx like the bench.
    this.#child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.#child.on('message', (message: PeerReply) => {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.ok) waiter.resolve(message.data);
      else waiter.reject(new Error(message.error));
    });
    this.#child.on('exit', (code) => {
      for (const waiter of this.#pending.values())
        waiter.reject(new Error(`${role} peer exited with ${code}`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  ask<T>(command: Command): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...command, id });
    });
  }

  close(): void {
    if (this.#child.connected) this.#child.disconnect();
    setTimeout(() => this.#child.kill('SIGKILL'), 2_000).unref();
  }
}

/** Latency statistics merged from receivers' histograms. */
export interface MergedWindow {
  received: number;
  /** Received, but `lateMs` or more after sending. */
  late: number;
  silentSockets: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Up to `sample` latencies drawn evenly from the distribution, for plots. */
  sample: number[];
}

export function mergeWindows(
  parts: WindowStats[],
  lateMs = Infinity,
  sample = 5_000,
): MergedWindow {
  const counts = new Map<number, number>();
  let received = 0;
  let silentSockets = 0;
  let max = 0;
  for (const part of parts) {
    received += part.received;
    silentSockets += part.silentSockets;
    max = Math.max(max, part.maxMs);
    for (const [bin, count] of part.histogram) counts.set(bin, (counts.get(bin) ?? 0) + count);
  }
  const bins = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const late = bins
    .filter(([bin]) => bin * HISTOGRAM_BIN_MS >= lateMs)
    .reduce((sum, [, count]) => sum + count, 0);
  const at = (q: number): number => {
    if (received === 0) return NaN;
    const rank = Math.ceil(q * received);
    let seen = 0;
    for (const [bin, count] of bins) {
      seen += count;
      if (seen >= rank) return Math.min(max, (bin + 1) * HISTOGRAM_BIN_MS);
    }
    return max;
  };
  const values: number[] = [];
  if (received > 0) {
    const every = received / Math.min(sample, received);
    let next = every / 2;
    let seen = 0;
    for (const [bin, count] of bins) {
      seen += count;
      while (next <= seen && values.length < sample) {
        values.push((bin + 0.5) * HISTOGRAM_BIN_MS);
        next += every;
      }
    }
  }
  return {
    received,
    late,
    silentSockets,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max,
    sample: values,
  };
}
