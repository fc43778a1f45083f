import { and, eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { GeofenceCrossing, GeofenceKind } from '@trupp/shared';
import type { Db } from '../../db/client.ts';
import { geofencePresence, users } from '../../db/schema.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { compileShape, type CompiledShape } from './geometry.ts';
import { listGeofences } from './repository.ts';

/** A fix must be at least this far past a border to cross it, however accurate it claims to be. */
export const MIN_MARGIN_M = 10;
/** How long a node trusts its copy of a tenant's geofences (other nodes' edits show up after this). */
const FENCE_CACHE_MS = 10_000;
/** How long a node trusts its copy of a member's presence before reading it again. */
const PRESENCE_CACHE_MS = 30_000;

export type Fix = DomainEvents['position.accepted'];

interface CompiledFence {
  id: string;
  name: string;
  kind: GeofenceKind;
  statusText: string | null;
  shape: CompiledShape;
}

export interface Crossing extends GeofenceCrossing {
  tenantId: string;
  entered: boolean;
}

export interface GeofenceEngineDeps {
  db: Db;
  log: FastifyBaseLogger;
  /** Announces a crossing; called only after the presence row is committed. */
  publish(crossing: Crossing): void;
}

/**
 * Decides when a member enters or leaves a geofence, from the stream of accepted fixes.
 *
 * Hysteresis: with margin = max(accuracy, MIN_MARGIN_M) a member outside enters only when
 * the fix lies more than the margin inside the border, and a member inside leaves only
 * when it lies more than the margin outside. A fix that wobbles across the border within
 * its own accuracy changes nothing, so jittery fixes do not flap.
 *
 * Once per crossing, on any number of nodes: the database row is the truth. A transition
 * is a conditional write (`… WHERE inside = false` for an enter), and only the writer
 * whose statement changed the row announces it. Fixes of one member are evaluated one
 * after the other on a node. Caches (geofences per tenant, presence per member) only save
 * reads; they expire, and a write that finds the row already changed refreshes them.
 */
export class GeofenceEngine {
  readonly #deps: GeofenceEngineDeps;
  readonly #fences = new Map<string, { at: number; list: Promise<CompiledFence[]> }>();
  readonly #presence = new Map<string, { at: number; inside: Set<string> }>();
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(deps: GeofenceEngineDeps) {
    this.#deps = deps;
  }

  /** Forget the cached geofences of a tenant (after a change on this node). */
  invalidate(tenantId: string): void {
    this.#fences.delete(tenantId);
  }

  /** Forget a member's cached presence (after it was changed outside the engine). */
  forgetMember(userId: string): void {
    this.#presence.delete(userId);
  }

  /**
   * Evaluates one accepted fix; resolves with the crossings it caused (already persisted
   * and published). Fixes of the same member queue behind each other.
   */
  evaluate(fix: Fix): Promise<Crossing[]> {
    const previous = this.#queues.get(fix.userId) ?? Promise.resolve();
    const next = previous.then(
      () => this.#evaluate(fix),
      () => this.#evaluate(fix),
    );
    const tail = next.catch(() => undefined);
    this.#queues.set(fix.userId, tail);
    void tail.then(() => {
      if (this.#queues.get(fix.userId) === tail) this.#queues.delete(fix.userId);
    });
    return next;
  }

  /** Resolves when every queued evaluation has finished. */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.all([...this.#queues.values()]);
  }

  async #fencesOf(tenantId: string): Promise<CompiledFence[]> {
    const cached = this.#fences.get(tenantId);
    if (cached && Date.now() - cached.at < FENCE_CACHE_MS) return cached.list;
    const list = listGeofences(this.#deps.db, tenantId).then((rows) =>
      rows.map((row) => ({
        id: row.id,
        name: row.name,
        kind: row.kind,
        statusText: row.statusText,
        shape: compileShape(row.geometry),
      })),
    );
    this.#fences.set(tenantId, { at: Date.now(), list });
    list.catch(() => this.#fences.delete(tenantId));
    return list;
  }

  async #insideOf(tenantId: string, userId: string): Promise<Set<string>> {
    const cached = this.#presence.get(userId);
    if (cached && Date.now() - cached.at < PRESENCE_CACHE_MS) return cached.inside;
    const rows = await this.#deps.db
      .select({ geofenceId: geofencePresence.geofenceId })
      .from(geofencePresence)
      .where(
        and(
          eq(geofencePresence.tenantId, tenantId),
          eq(geofencePresence.userId, userId),
          eq(geofencePresence.inside, true),
        ),
      );
    const inside = new Set(rows.map((r) => r.geofenceId));
    this.#presence.set(userId, { at: Date.now(), inside });
    return inside;
  }

  async #evaluate(fix: Fix): Promise<Crossing[]> {
    const fences = await this.#fencesOf(fix.tenantId);
    if (fences.length === 0) return [];
    const inside = await this.#insideOf(fix.tenantId, fix.userId);
    const margin = Math.max(fix.accuracyM, MIN_MARGIN_M);
    const decided: Array<{ fence: CompiledFence; entered: boolean }> = [];
    for (const fence of fences) {
      const wasInside = inside.has(fence.id);
      const d = fence.shape.signedDistanceM(fix.lat, fix.lon, margin * 2);
      if (!wasInside && d < -margin) decided.push({ fence, entered: true });
      else if (wasInside && d > margin) decided.push({ fence, entered: false });
    }
    if (decided.length === 0) return [];

    const crossings: Crossing[] = [];
    let displayName: string | null = null;
    for (const { fence, entered } of decided) {
      const won = entered
        ? await this.#writeEnter(fix, fence.id)
        : await this.#writeExit(fix, fence.id);
      if (entered) inside.add(fence.id);
      else inside.delete(fence.id);
      if (!won) continue;
      displayName ??= await this.#displayName(fix.userId);
      crossings.push({
        tenantId: fix.tenantId,
        entered,
        geofenceId: fence.id,
        geofenceName: fence.name,
        kind: fence.kind,
        userId: fix.userId,
        displayName,
        at: fix.recordedAt.toISOString(),
        statusText: fence.statusText,
      });
    }
    for (const crossing of crossings) this.#deps.publish(crossing);
    return crossings;
  }

  /** True when this call turned the member's presence from outside (or none) to inside. */
  async #writeEnter(fix: Fix, geofenceId: string): Promise<boolean> {
    const where = and(
      eq(geofencePresence.geofenceId, geofenceId),
      eq(geofencePresence.userId, fix.userId),
      eq(geofencePresence.tenantId, fix.tenantId),
    );
    const [updated] = await this.#deps.db
      .update(geofencePresence)
      .set({ inside: true, since: fix.recordedAt })
      .where(and(where, eq(geofencePresence.inside, false)));
    if (updated.affectedRows > 0) return true;
    const [inserted] = await this.#deps.db.insert(geofencePresence).ignore().values({
      geofenceId,
      userId: fix.userId,
      tenantId: fix.tenantId,
      inside: true,
      since: fix.recordedAt,
    });
    return inserted.affectedRows > 0;
  }

  /** True when this call turned the member's presence from inside to outside. */
  async #writeExit(fix: Fix, geofenceId: string): Promise<boolean> {
    const [updated] = await this.#deps.db
      .update(geofencePresence)
      .set({ inside: false, since: fix.recordedAt })
      .where(
        and(
          eq(geofencePresence.geofenceId, geofenceId),
          eq(geofencePresence.userId, fix.userId),
          eq(geofencePresence.tenantId, fix.tenantId),
          eq(geofencePresence.inside, true),
        ),
      );
    return updated.affectedRows > 0;
  }

  async #displayName(userId: string): Promise<string> {
    const [row] = await this.#deps.db
      .select({ displayName: users.displayName })
      .from(users)
      .where(eq(users.id, userId));
    return row?.displayName ?? '';
  }
}
