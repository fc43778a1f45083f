import type { Server } from 'socket.io';
import { POSITION_SERVER_EVENTS, type MemberPosition } from '@trupp/shared';
import { boardRoom } from '../../realtime/gateway.ts';

/** Consoles subscribed to a whole tenant, to one unit, and every subscribed console. */
export const positionsTenantRoom = (tenantId: string): string => `positions:tenant:${tenantId}`;
export const positionsUnitRoom = (unitId: string): string => `positions:unit:${unitId}`;
export const positionsSubscribedRoom = (tenantId: string): string => `positions:any:${tenantId}`;

/** How long updates gather before a batch leaves (adds at most this to the latency). */
const TICK_MS = 50;

interface Pending {
  tenantId: string;
  unitIds: string[];
  position: MemberPosition;
}

/**
 * Live positions to dispatch and lead consoles, coalesced: per member at most one update
 * per `minGapMs` (latest wins; a member's first update in a while leaves with the next
 * tick), and per tick one `positions.updated` array per tenant room and per unit room.
 * Board-room consoles that never subscribed (older clients) get the same coalesced
 * updates one by one as `position.updated`.
 *
 * Per node: each node coalesces the reports it accepted (a device's socket lives on one
 * node), and the socket.io adapter carries the batches to consoles on every node.
 */
export class LiveFanout {
  readonly #pending = new Map<string, Pending>();
  readonly #lastSent = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;

  constructor(
    private readonly io: Server,
    private readonly minGapMs: number,
    /** False when several nodes share consoles (Redis): local rooms do not tell all. */
    private readonly roomsAreLocal: boolean,
  ) {}

  add(tenantId: string, unitIds: string[], position: MemberPosition): void {
    this.#pending.set(position.userId, { tenantId, unitIds, position });
    this.#schedule(TICK_MS);
  }

  /** The member stopped sharing: nothing pending for them may still go out. */
  drop(userId: string): void {
    this.#pending.delete(userId);
  }

  flush(now = Date.now()): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
    const byTenant = new Map<string, MemberPosition[]>();
    const byUnit = new Map<string, MemberPosition[]>();
    let nextDue = Infinity;
    for (const [userId, entry] of this.#pending) {
      const due = (this.#lastSent.get(userId) ?? -Infinity) + this.minGapMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.#pending.delete(userId);
      this.#lastSent.set(userId, now);
      push(byTenant, entry.tenantId, entry.position);
      for (const unitId of entry.unitIds) push(byUnit, unitId, entry.position);
    }
    for (const [tenantId, batch] of byTenant) {
      this.io.to(positionsTenantRoom(tenantId)).emit(POSITION_SERVER_EVENTS.batch, batch);
      if (this.#hasUnsubscribedConsoles(tenantId)) {
        const legacy = this.io.to(boardRoom(tenantId)).except(positionsSubscribedRoom(tenantId));
        for (const p of batch) legacy.emit(POSITION_SERVER_EVENTS.updated, p);
      }
    }
    for (const [unitId, batch] of byUnit) {
      this.io.to(positionsUnitRoom(unitId)).emit(POSITION_SERVER_EVENTS.batch, batch);
    }
    if (nextDue !== Infinity) this.#schedule(Math.max(1, nextDue - now));
  }

  /** Forgets send times that no longer hold anything back. */
  prune(now = Date.now()): void {
    for (const [userId, at] of this.#lastSent) {
      if (at + this.minGapMs < now) this.#lastSent.delete(userId);
    }
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
    this.#pending.clear();
  }

  /** Flushes in `ms` unless a flush is due sooner already. */
  #schedule(ms: number): void {
    const at = Date.now() + ms;
    if (at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.flush(), ms);
  }

  /** With one node the rooms are all here, so the per-member legacy emits can be skipped. */
  #hasUnsubscribedConsoles(tenantId: string): boolean {
    if (!this.roomsAreLocal) return true;
    const rooms = this.io.of('/').adapter.rooms;
    const board = rooms.get(boardRoom(tenantId));
    if (!board || board.size === 0) return false;
    const subscribed = rooms.get(positionsSubscribedRoom(tenantId));
    for (const id of board) if (!subscribed?.has(id)) return true;
    return false;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
