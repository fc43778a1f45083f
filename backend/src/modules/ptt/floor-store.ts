import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { FLOOR_PRIORITIES, Floor, type FloorEvent, type FloorPriority } from '@trupp/sfu';

/**
 * The server-authoritative floor state of every push-to-talk channel, shared by all
 * backend nodes: in memory with one node (one sfu `Floor` per channel, so the rules have
 * one source of truth), in Redis with several (`floor-store.lua`, one atomic script run
 * per operation, checked against `Floor` by a randomized model test).
 *
 * Beyond `Floor`, every grant gets an epoch that only ever grows per channel, and a
 * stored deadline. A release may name the epoch it ends, so a late release from an old
 * turn can never end a newer one; `expire()` may be called by every node's timer at once
 * and ends the holder once, because it re-checks the stored deadline inside the atomic
 * step.
 *
 * Channel options (`maxTalkMs`, `queue`) come with each request and take effect when the
 * floor is idle (nobody holds it, nobody waits), so a running turn keeps the talk time it
 * was granted with. A channel untouched for `ttlMs` (default one day) is forgotten.
 */

export type { FloorPriority };
export { FLOOR_PRIORITIES };

export type FloorEndReason = Extract<FloorEvent, { type: 'floor.ended' }>['reason'];

export interface FloorRequestInput {
  readonly participantId: string;
  readonly priority: FloorPriority;
  readonly emergency: boolean;
  /** The channel's longest turn in ms; 0 for no limit. */
  readonly maxTalkMs: number;
  /** Queue a request that cannot be granted (default) or deny it. */
  readonly queue?: boolean;
}

export interface FloorStoreHolder {
  readonly participantId: string;
  readonly priority: FloorPriority;
  readonly emergency: boolean;
  /** Clock value (ms) at which the turn started. */
  readonly grantedAt: number;
  /** When `expire()` ends the turn, or null without a talk-time limit. */
  readonly deadline: number | null;
  /** Grows with every grant in the channel; names this turn. */
  readonly epoch: number;
}

/** `FloorEvent` from sfu, with the epoch of the turn that was granted or ended. */
export type FloorStoreEvent =
  | { readonly type: 'floor.granted'; readonly holder: FloorStoreHolder }
  | {
      readonly type: 'floor.ended';
      readonly participantId: string;
      readonly reason: FloorEndReason;
      /** Who took over, for `preempted`. */
      readonly by?: string;
      readonly epoch: number;
    }
  | { readonly type: 'floor.queued'; readonly participantId: string; readonly position: number }
  | { readonly type: 'floor.denied'; readonly participantId: string; readonly reason: 'FLOOR_BUSY' }
  | { readonly type: 'floor.dequeued'; readonly participantId: string };

export interface FloorSnapshot {
  readonly holder: FloorStoreHolder | null;
  /** Waiting participants, next first. */
  readonly queue: readonly string[];
}

/** What an operation did (`outcome`, `events` as in sfu's `FloorResult`) and the state after it. */
export interface FloorStoreResult extends FloorSnapshot {
  readonly outcome: 'granted' | 'queued' | 'denied' | 'none';
  readonly events: readonly FloorStoreEvent[];
}

export interface FloorStore {
  /** Someone presses the button: granted, queued or denied (see sfu `Floor.request`). */
  request(channelKey: string, req: FloorRequestInput, now: number): Promise<FloorStoreResult>;
  /**
   * The button is let go: ends the holder's turn (granting the next) or leaves the queue.
   * With `epoch`, only the turn of that epoch held by `participantId` is ended and nothing
   * else changes, so a release that arrives late cannot end a newer turn.
   */
  release(
    channelKey: string,
    participantId: string,
    now: number,
    epoch?: number,
  ): Promise<FloorStoreResult>;
  /** Leave or disconnect: ends the turn if holding (granting the next), drops from the queue. */
  leave(channelKey: string, participantId: string, now: number): Promise<FloorStoreResult>;
  /** Ends the holder whose deadline has passed and grants the next; a no-op otherwise. */
  expire(channelKey: string, now: number): Promise<FloorStoreResult>;
  state(channelKey: string, now: number): Promise<FloorSnapshot>;
  /** Forgets in-memory state; leaves a Redis client open (its owner closes it). */
  close(): Promise<void>;
}

export interface FloorStoreOptions {
  /** Use Redis (shared by all nodes) when given, memory otherwise. */
  readonly redis?: Redis | null;
  /** Redis key prefix; default `trupp:floor:`. */
  readonly prefix?: string;
  /** Forget a channel untouched for this long (ms); default one day. */
  readonly ttlMs?: number;
}

const DEFAULT_PREFIX = 'trupp:floor:';
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
/** cjson in Redis writes numbers with 14 significant digits; clock values must fit. */
const MAX_CLOCK = 1e14;

/** Picks the Redis store when a client is given, the in-memory one otherwise. */
export function createFloorStore(options: FloorStoreOptions = {}): FloorStore {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  return options.redis
    ? new RedisFloorStore(options.redis, options.prefix ?? DEFAULT_PREFIX, ttlMs)
    : new MemoryFloorStore(ttlMs);
}

/** @throws RangeError for a clock or talk time the stores cannot keep exactly. */
function checkClock(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= MAX_CLOCK) {
    throw new RangeError(`${name} must be a non-negative integer below 1e14, got ${value}`);
  }
}

function checkRequest(req: FloorRequestInput): void {
  checkClock('maxTalkMs', req.maxTalkMs);
  if (!FLOOR_PRIORITIES.includes(req.priority)) {
    throw new RangeError(`unknown floor priority ${String(req.priority)}`);
  }
}

// ---------------------------------------------------------------------------------------
// In memory: one node.

interface MemoryChannel {
  floor: Floor;
  /** Last epoch handed out; survives a floor rebuilt with new options. */
  epoch: number;
  holder: FloorStoreHolder | null;
  touchedAt: number;
}

class MemoryFloorStore implements FloorStore {
  readonly #channels = new Map<string, MemoryChannel>();
  readonly #ttlMs: number;
  #lastSweep = 0;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  // Every method runs to completion without awaiting, so each is atomic in this process.

  async request(channelKey: string, req: FloorRequestInput, now: number) {
    checkClock('now', now);
    checkRequest(req);
    const channel = this.#channel(channelKey, now);
    const queue = req.queue ?? true;
    const { floor } = channel;
    if (
      !floor.holder &&
      floor.queue.length === 0 &&
      (floor.maxTalkMs !== req.maxTalkMs || floor.queueing !== queue)
    ) {
      channel.floor = new Floor({ maxTalkMs: req.maxTalkMs, queue });
    }
    const result = channel.floor.request(
      { participantId: req.participantId, priority: req.priority, emergency: req.emergency },
      now,
    );
    return this.#apply(channel, result.outcome, result.events);
  }

  async release(channelKey: string, participantId: string, now: number, epoch?: number) {
    checkClock('now', now);
    const channel = this.#channel(channelKey, now);
    if (
      epoch !== undefined &&
      (channel.holder?.participantId !== participantId || channel.holder.epoch !== epoch)
    ) {
      return this.#apply(channel, 'none', []);
    }
    const result = channel.floor.release(participantId, now);
    return this.#apply(channel, result.outcome, result.events);
  }

  async leave(channelKey: string, participantId: string, now: number) {
    checkClock('now', now);
    const channel = this.#channel(channelKey, now);
    const result = channel.floor.leave(participantId, now);
    return this.#apply(channel, result.outcome, result.events);
  }

  async expire(channelKey: string, now: number) {
    checkClock('now', now);
    const channel = this.#channel(channelKey, now);
    const result = channel.floor.expire(now);
    return this.#apply(channel, result.outcome, result.events);
  }

  async state(channelKey: string, now: number): Promise<FloorSnapshot> {
    checkClock('now', now);
    const channel = this.#channels.get(channelKey);
    if (!channel || now - channel.touchedAt > this.#ttlMs) return { holder: null, queue: [] };
    return { holder: channel.holder, queue: channel.floor.queue };
  }

  async close() {
    this.#channels.clear();
  }

  #channel(channelKey: string, now: number): MemoryChannel {
    this.#sweep(now);
    let channel = this.#channels.get(channelKey);
    if (!channel || now - channel.touchedAt > this.#ttlMs) {
      channel = {
        floor: new Floor({ maxTalkMs: 0 }),
        epoch: channel?.epoch ?? 0,
        holder: null,
        touchedAt: now,
      };
      this.#channels.set(channelKey, channel);
    }
    channel.touchedAt = now;
    return channel;
  }

  /** Forgets channels untouched for the TTL, as Redis would, at most once per TTL/10. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#ttlMs / 10) return;
    this.#lastSweep = now;
    for (const [key, channel] of this.#channels) {
      if (now - channel.touchedAt > this.#ttlMs) this.#channels.delete(key);
    }
  }

  /** Adds epochs and deadlines to `Floor`'s events and tracks the current turn. */
  #apply(
    channel: MemoryChannel,
    outcome: FloorStoreResult['outcome'],
    events: readonly FloorEvent[],
  ): FloorStoreResult {
    const out: FloorStoreEvent[] = [];
    for (const event of events) {
      if (event.type === 'floor.granted') {
        channel.epoch += 1;
        const deadline = channel.floor.deadline();
        channel.holder = { ...event.holder, deadline, epoch: channel.epoch };
        out.push({ type: 'floor.granted', holder: channel.holder });
      } else if (event.type === 'floor.ended') {
        out.push({ ...event, epoch: channel.holder?.epoch ?? 0 });
        channel.holder = null;
      } else {
        out.push(event);
      }
    }
    const holder = channel.floor.holder;
    if (holder && channel.holder) {
      // A holder pressing again with a higher rank escalates the running turn.
      channel.holder = {
        ...channel.holder,
        priority: holder.priority,
        emergency: holder.emergency,
      };
    }
    return { outcome, events: out, holder: channel.holder, queue: channel.floor.queue };
  }
}

// ---------------------------------------------------------------------------------------
// Redis: several nodes. Each operation is one run of floor-store.lua on the channel's key,
// which Redis executes atomically; see that file for the stored layout.

const SCRIPT = readFileSync(new URL('./floor-store.lua', import.meta.url), 'utf8');
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

interface ScriptHolder {
  participantId: string;
  priority: FloorPriority;
  emergency: boolean;
  grantedAt: number;
  deadline?: number;
  epoch: number;
}

type ScriptEvent =
  | { type: 'floor.granted'; holder: ScriptHolder }
  | {
      type: 'floor.ended';
      participantId: string;
      reason: FloorEndReason;
      by?: string;
      epoch: number;
    }
  | { type: 'floor.queued'; participantId: string; position: number }
  | { type: 'floor.denied'; participantId: string; reason: 'FLOOR_BUSY' }
  | { type: 'floor.dequeued'; participantId: string };

interface ScriptResult {
  outcome: FloorStoreResult['outcome'];
  /** cjson writes an empty table as `{}`, so empty lists may arrive as objects. */
  events: ScriptEvent[] | Record<string, never>;
  holder?: ScriptHolder;
  queue: string[] | Record<string, never>;
}

function toHolder(holder: ScriptHolder | undefined): FloorStoreHolder | null {
  if (!holder) return null;
  return {
    participantId: holder.participantId,
    priority: holder.priority,
    emergency: holder.emergency,
    grantedAt: holder.grantedAt,
    deadline: holder.deadline ?? null,
    epoch: holder.epoch,
  };
}

function toEvent(event: ScriptEvent): FloorStoreEvent {
  if (event.type === 'floor.granted') return { type: event.type, holder: toHolder(event.holder)! };
  return event;
}

class RedisFloorStore implements FloorStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, prefix: string, ttlMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  async request(channelKey: string, req: FloorRequestInput, now: number) {
    checkRequest(req);
    return this.#run(channelKey, 'request', now, [
      req.participantId,
      req.priority,
      req.emergency ? '1' : '0',
      String(req.maxTalkMs),
      (req.queue ?? true) ? '1' : '0',
    ]);
  }

  async release(channelKey: string, participantId: string, now: number, epoch?: number) {
    if (epoch !== undefined) checkClock('epoch', epoch);
    return this.#run(channelKey, 'release', now, [
      participantId,
      epoch === undefined ? '' : String(epoch),
    ]);
  }

  async leave(channelKey: string, participantId: string, now: number) {
    return this.#run(channelKey, 'leave', now, [participantId]);
  }

  async expire(channelKey: string, now: number) {
    return this.#run(channelKey, 'expire', now, []);
  }

  async state(channelKey: string, now: number): Promise<FloorSnapshot> {
    const { holder, queue } = await this.#run(channelKey, 'state', now, []);
    return { holder, queue };
  }

  async close() {
    // The client belongs to the app, which quits it after every user has closed.
  }

  async #run(
    channelKey: string,
    op: 'request' | 'release' | 'leave' | 'expire' | 'state',
    now: number,
    args: readonly string[],
  ): Promise<FloorStoreResult> {
    checkClock('now', now);
    const argv = [op, String(now), String(this.#ttlMs), ...args];
    const key = this.#prefix + channelKey;
    let raw: unknown;
    try {
      raw = await this.#redis.evalsha(SCRIPT_SHA, 1, key, ...argv);
    } catch (error) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the body once.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      raw = await this.#redis.eval(SCRIPT, 1, key, ...argv);
    }
    const result = JSON.parse(String(raw)) as ScriptResult;
    return {
      outcome: result.outcome,
      events: Array.isArray(result.events) ? result.events.map(toEvent) : [],
      holder: toHolder(result.holder),
      queue: Array.isArray(result.queue) ? result.queue : [],
    };
  }
}
