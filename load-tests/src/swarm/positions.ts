import { io, type Socket } from 'socket.io-client';
import {
  POSITION_CLIENT_EVENTS,
  POSITION_SERVER_EVENTS,
  type MemberPosition,
  type SocketAck,
} from '@trupp/shared';
import { nowMs } from '../lib/device.ts';
import type { PerSecond, SwarmPositions } from './protocol.ts';

/**
 * The positions part of a swarm process: phones that report their position on a fixed
 * schedule (acknowledged by the server), and dispatch consoles that subscribe to the
 * batched live updates and time each position from the device's `recordedAt` (wall
 * clock; every process runs on this machine, so one clock).
 */
const HISTOGRAM_MS = 60_000;
const SAMPLE_EVERY = 20;

/** Musterstadt; devices spread over a few kilometres around it. */
const ORIGIN = { lat: 51.16, lon: 10.45 };

/** Shaped like the worker's alarm members (their receipt fields stay NaN here). */
export interface PositionMember {
  receivedAt: number;
  ackedAt: number;
  close(): void;
}

function socketFor(url: string, token: string): Socket {
  return io(url, {
    transports: ['websocket'],
    auth: { token },
    forceNew: true,
    reconnection: false,
    timeout: 20_000,
  });
}

/** Resolves once connected; rejects on a refusal, a drop, or after 30 s without either. */
function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timed out')), 30_000);
    const done = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    socket.once('connect', () => done());
    socket.once('connect_error', (error) => done(error));
    socket.once('disconnect', (reason) => done(new Error(`disconnected: ${reason}`)));
  });
}

const histogram = () => new Array<number>(HISTOGRAM_MS + 1).fill(0);
const bin = (h: number[], ms: number) => h[Math.min(HISTOGRAM_MS, Math.max(0, Math.round(ms)))]!++;

function perSecond(values: number[][]): PerSecond[] {
  return values.map((list) => {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN;
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
  });
}

class Console {
  readonly socket: Socket;
  readonly #byUser = new Map<string, [number, number]>();
  received = 0;
  stale = 0;
  batches = 0;
  readonly latencyHistogram = histogram();
  readonly #perSecond: number[][] = [];
  readonly sample: number[] = [];
  /** Monotonic start of the run; receipts before it count into second 0. */
  startAt = 0;

  constructor(url: string, token: string) {
    this.socket = socketFor(url, token);
    this.socket.on(POSITION_SERVER_EVENTS.batch, (batch: MemberPosition[]) => {
      const wall = Date.now();
      const second = Math.max(0, Math.floor((nowMs() - this.startAt) / 1000));
      this.batches++;
      for (const p of batch) {
        const at = Date.parse(p.recordedAt);
        const mine = this.#byUser.get(p.userId);
        if (mine && at <= mine[1]) {
          this.stale++;
          continue;
        }
        if (mine) {
          mine[0]++;
          mine[1] = at;
        } else this.#byUser.set(p.userId, [1, at]);
        this.received++;
        const latency = wall - at;
        bin(this.latencyHistogram, latency);
        (this.#perSecond[second] ??= []).push(latency);
        if (this.received % SAMPLE_EVERY === 0) this.sample.push(latency);
      }
    });
  }

  async connect(): Promise<void> {
    await connected(this.socket);
    const ack = (await this.socket
      .timeout(30_000)
      .emitWithAck(POSITION_CLIENT_EVENTS.subscribe, {})) as SocketAck<unknown>;
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code}`);
  }

  result(): SwarmPositions['consoles'][number] {
    return {
      byUser: Object.fromEntries(this.#byUser),
      received: this.received,
      stale: this.stale,
      batches: this.batches,
      latencyHistogram: this.latencyHistogram,
      perSecond: perSecond(Array.from(this.#perSecond, (v) => v ?? [])),
      sample: this.sample,
    };
  }
}

let phones: Socket[] = [];
/** Per phone: accepted reports and the newest accepted `recordedAt` (ms). */
let accepted: Array<[number, number]> = [];
let consoles: Console[] = [];
const stats = {
  sent: 0,
  accepted: 0,
  notStored: 0,
  refused: {} as Record<string, number>,
  ackHistogram: histogram(),
  acceptedPerSecond: [] as number[],
  errors: new Set<string>(),
};

/** Connects one phone or console; resolves when it is ready. */
export function positionMember(
  kind: 'positions' | 'console',
  url: string,
  token: string,
): { member: PositionMember; ready: Promise<void> } {
  if (kind === 'console') {
    const c = new Console(url, token);
    consoles.push(c);
    const member = { receivedAt: NaN, ackedAt: NaN, close: () => c.socket.disconnect() };
    return { member, ready: c.connect() };
  }
  const socket = socketFor(url, token);
  phones.push(socket);
  accepted.push([0, 0]);
  const member = { receivedAt: NaN, ackedAt: NaN, close: () => socket.disconnect() };
  return { member, ready: connected(socket) };
}

/**
 * Every phone reports every `intervalMs`, phase-shifted by its global index so the load
 * is even (N / interval reports a second), from `startAt` for `durationMs`. Resolves
 * once the last report was acknowledged (or 10 s after the schedule ended).
 */
export async function reportPositions(request: {
  startAt: number;
  intervalMs: number;
  durationMs: number;
  offset: number;
  total: number;
}): Promise<void> {
  for (const c of consoles) c.startAt = request.startAt;
  let pending = 0;
  const endAt = request.startAt + request.durationMs;
  const timers = new Array<NodeJS.Timeout | undefined>(phones.length);
  await new Promise<void>((resolve) => {
    let scheduled = phones.length;
    if (scheduled === 0) resolve();
    phones.forEach((socket, i) => {
      const g = request.offset + i;
      const home = {
        lat: ORIGIN.lat + ((g % 100) - 50) * 0.0005,
        lon: ORIGIN.lon + ((Math.floor(g / 100) % 100) - 50) * 0.0008,
      };
      const firstAt = request.startAt + (g / request.total) * request.intervalMs;
      let step = 0;
      const send = () => {
        if (nowMs() >= endAt) {
          if (--scheduled === 0) resolve();
          return;
        }
        step++;
        const sentAt = nowMs();
        const recordedAt = new Date();
        stats.sent++;
        pending++;
        socket.emit(
          POSITION_CLIENT_EVENTS.report,
          {
            lat: home.lat + step * 0.00001,
            lon: home.lon + step * 0.00001,
            accuracy: 8,
            heading: 90,
            speed: 8,
            recordedAt: recordedAt.toISOString(),
          },
          (ack: SocketAck<{ stored: boolean }>) => {
            pending--;
            const at = nowMs();
            bin(stats.ackHistogram, at - sentAt);
            if (!ack.ok) {
              stats.refused[ack.error.code] = (stats.refused[ack.error.code] ?? 0) + 1;
            } else if (ack.data.stored) {
              stats.accepted++;
              const mine = accepted[i]!;
              mine[0]++;
              mine[1] = Math.max(mine[1], recordedAt.getTime());
              const second = Math.max(0, Math.floor((at - request.startAt) / 1000));
              stats.acceptedPerSecond[second] = (stats.acceptedPerSecond[second] ?? 0) + 1;
            } else {
              stats.notStored++;
            }
          },
        );
        // On a fixed grid, so a slow turn of the loop does not shift later reports.
        timers[i] = setTimeout(send, Math.max(0, firstAt + step * request.intervalMs - nowMs()));
      };
      timers[i] = setTimeout(send, Math.max(0, firstAt - nowMs()));
    });
  });
  const deadline = nowMs() + 10_000;
  while (pending > 0 && nowMs() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (pending > 0) stats.refused.NO_ACK = (stats.refused.NO_ACK ?? 0) + pending;
  for (const t of timers) clearTimeout(t);
}

export function positionResults(): SwarmPositions {
  return {
    sent: stats.sent,
    accepted: stats.accepted,
    notStored: stats.notStored,
    refused: stats.refused,
    ackHistogram: stats.ackHistogram,
    acceptedPerSecond: Array.from(stats.acceptedPerSecond, (v) => v ?? 0),
    phones: accepted,
    consoles: consoles.map((c) => c.result()),
    errors: [...stats.errors].slice(0, 20),
  };
}

export function resetPositions(): void {
  phones = [];
  accepted = [];
  consoles = [];
  stats.sent = stats.accepted = stats.notStored = 0;
  stats.refused = {};
  stats.ackHistogram = histogram();
  stats.acceptedPerSecond = [];
  stats.errors.clear();
}
