/**
 * Floor control for one push-to-talk channel, as a pure state machine: no timers, no I/O,
 * the clock is passed in. The backend owns one per channel (in memory, or rebuilt from
 * Redis), turns the returned events into notifications and into SFU calls
 * (`floor.granted` → `Server.grantFloor`, the end of a turn → `Server.releaseFloor`), and
 * schedules `expire()` at `deadline()`.
 *
 * Invariants, checked by the randomized test in floor.test.ts:
 * - at most one holder at any time; every grant is preceded by the end of the previous
 *   holder's turn (released, expired, left or pre-empted) in the same event list;
 * - the holder is never in the queue, nobody is queued twice;
 * - the floor is never idle while someone is queued.
 *
 * Rank: an emergency call beats everything, then dispatcher > lead > member. A request that
 * outranks the holder pre-empts them (they are not re-queued: they were told why and may
 * press again); an equal or lower one is queued behind higher ranks and earlier requests,
 * or denied when the channel does not queue.
 */

export const FLOOR_PRIORITIES = ['member', 'lead', 'dispatcher'] as const;
export type FloorPriority = (typeof FLOOR_PRIORITIES)[number];

export interface FloorRequest {
  readonly participantId: string;
  readonly priority: FloorPriority;
  readonly emergency?: boolean;
}

export interface FloorHolder extends Required<FloorRequest> {
  /** Clock value (ms) at which the turn started. */
  readonly grantedAt: number;
}

export type FloorEndReason = 'released' | 'expired' | 'left' | 'preempted';

export type FloorEvent =
  | { readonly type: 'floor.granted'; readonly holder: FloorHolder }
  | {
      readonly type: 'floor.ended';
      readonly participantId: string;
      readonly reason: FloorEndReason;
      /** Who took over, for `preempted`. */
      readonly by?: string;
    }
  | { readonly type: 'floor.queued'; readonly participantId: string; readonly position: number }
  | {
      readonly type: 'floor.denied';
      readonly participantId: string;
      readonly reason: 'FLOOR_BUSY';
    }
  | { readonly type: 'floor.dequeued'; readonly participantId: string };

export interface FloorResult {
  readonly outcome: 'granted' | 'queued' | 'denied' | 'none';
  readonly events: readonly FloorEvent[];
}

export interface FloorOptions {
  /** Longest turn in ms before `expire()` ends it; 0 for no limit. Default 30 s. */
  readonly maxTalkMs?: number;
  /** Queue requests that cannot be granted (default) or deny them. */
  readonly queue?: boolean;
}

/** A waiting request; the queue is kept in grant order (rank, then arrival). */
type Queued = Required<FloorRequest>;

/** Numeric rank; higher wins. */
export function floorRank(request: Pick<FloorRequest, 'priority' | 'emergency'>): number {
  return request.emergency ? FLOOR_PRIORITIES.length : FLOOR_PRIORITIES.indexOf(request.priority);
}

export class Floor {
  readonly maxTalkMs: number;
  readonly queueing: boolean;
  #holder: FloorHolder | null = null;
  #queue: Queued[] = [];

  constructor(options: FloorOptions = {}) {
    this.maxTalkMs = options.maxTalkMs ?? 30_000;
    this.queueing = options.queue ?? true;
  }

  get holder(): FloorHolder | null {
    return this.#holder;
  }

  /** Waiting participants, next first. */
  get queue(): readonly string[] {
    return this.#queue.map((entry) => entry.participantId);
  }

  /** When the current turn must end (ms on the caller's clock), or null. */
  deadline(): number | null {
    if (!this.#holder || this.maxTalkMs <= 0) return null;
    return this.#holder.grantedAt + this.maxTalkMs;
  }

  /**
   * Someone presses the button. Granted when the floor is free or the request outranks
   * the holder; otherwise queued (or denied). A repeated request by the holder is
   * granted again without a new turn; a queued participant asking again keeps one entry
   * with the new rank.
   */
  request(request: FloorRequest, now: number): FloorResult {
    const entry: Queued = {
      participantId: request.participantId,
      priority: request.priority,
      emergency: request.emergency ?? false,
    };
    const holder = this.#holder;
    if (holder?.participantId === entry.participantId) {
      if (floorRank(entry) > floorRank(holder)) {
        // Escalation of an ongoing turn (e.g. a member declares an emergency while talking).
        this.#holder = { ...holder, priority: entry.priority, emergency: entry.emergency };
      }
      return { outcome: 'granted', events: [] };
    }
    const events: FloorEvent[] = [];
    // A participant asking again while queued is re-inserted below with the new rank.
    this.#removeFromQueue(entry.participantId);
    if (!holder) {
      events.push(this.#grant(entry, now));
      return { outcome: 'granted', events };
    }
    if (floorRank(entry) > floorRank(holder)) {
      events.push({
        type: 'floor.ended',
        participantId: holder.participantId,
        reason: 'preempted',
        by: entry.participantId,
      });
      events.push(this.#grant(entry, now));
      return { outcome: 'granted', events };
    }
    if (!this.queueing) {
      events.push({
        type: 'floor.denied',
        participantId: entry.participantId,
        reason: 'FLOOR_BUSY',
      });
      return { outcome: 'denied', events };
    }
    const position = this.#enqueue(entry);
    events.push({ type: 'floor.queued', participantId: entry.participantId, position });
    return { outcome: 'queued', events };
  }

  /** The button is let go: ends the holder's turn (granting the next) or leaves the queue. */
  release(participantId: string, now: number): FloorResult {
    return this.#end(participantId, 'released', now);
  }

  /** A participant left the channel or disconnected, holding the floor or waiting for it. */
  leave(participantId: string, now: number): FloorResult {
    return this.#end(participantId, 'left', now);
  }

  /** Ends the turn if it ran past `deadline()`; call it from a timer set to the deadline. */
  expire(now: number): FloorResult {
    const deadline = this.deadline();
    if (!this.#holder || deadline === null || now < deadline)
      return { outcome: 'none', events: [] };
    return this.#end(this.#holder.participantId, 'expired', now);
  }

  #end(participantId: string, reason: FloorEndReason, now: number): FloorResult {
    if (this.#holder?.participantId !== participantId) {
      const wasQueued = this.#removeFromQueue(participantId);
      return {
        outcome: 'none',
        events: wasQueued ? [{ type: 'floor.dequeued', participantId }] : [],
      };
    }
    const events: FloorEvent[] = [{ type: 'floor.ended', participantId, reason }];
    this.#holder = null;
    const next = this.#queue.shift();
    if (next) events.push(this.#grant(next, now));
    return { outcome: 'none', events };
  }

  #grant(entry: Queued, now: number): FloorEvent {
    this.#holder = {
      participantId: entry.participantId,
      priority: entry.priority,
      emergency: entry.emergency,
      grantedAt: now,
    };
    return { type: 'floor.granted', holder: this.#holder };
  }

  /** Inserts behind every entry of equal or higher rank; returns the 1-based position. */
  #enqueue(entry: Queued): number {
    const rank = floorRank(entry);
    let index = this.#queue.findIndex((queued) => floorRank(queued) < rank);
    if (index === -1) index = this.#queue.length;
    this.#queue.splice(index, 0, entry);
    return index + 1;
  }

  #removeFromQueue(participantId: string): boolean {
    const index = this.#queue.findIndex((queued) => queued.participantId === participantId);
    if (index === -1) return false;
    this.#queue.splice(index, 1);
    return true;
  }
}
