import type { FastifyInstance } from 'fastify';
import { and, eq, gt, inArray } from 'drizzle-orm';
import {
  POSITION_MAX_AGE_MS,
  POSITION_SERVER_EVENTS,
  roleHas,
  type MapPosition,
  type MemberPosition,
  type PositionSharingState,
} from '@trupp/shared';
import {
  alarmRecipients,
  memberPositions,
  positionSharing,
  users,
  userUnits,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { boardDeltas } from '../alarms/service.ts';
import { boardRoom, userRoom } from '../../realtime/gateway.ts';
import { listUnits, findUnit } from '../units/repository.ts';
import { MemoryPositionCache, RedisPositionCache, type PositionCache } from './cache.ts';
import { distanceEta } from './eta.ts';
import { FactsLoader } from './facts-loader.ts';
import { LiveFanout, positionsTenantRoom, positionsUnitRoom } from './live.ts';
import { decideSharing, type MemberFacts, type TenantFacts } from './sharing.ts';
import { PositionWriter } from './writer.ts';

/** Reports measured longer ago than this, or this far in the device's future, are refused. */
export const MAX_AGE_MS = 10 * 60_000;
export const MAX_SKEW_MS = 30_000;
/** How often idle cache entries and send times are pruned. */
const MAINTENANCE_MS = 60_000;
/** Server-side event that tells the other nodes a member stopped sharing. */
const FORGET_EVENT = 'trupp:positions.forget';

export interface PositionReport {
  lat: number;
  lon: number;
  accuracy: number;
  heading?: number | null;
  speed?: number | null;
  recordedAt: string;
}

interface ForgetMessage {
  tenantId: string;
  userId: string;
}

/**
 * Position reports and who sees them. A report costs no MariaDB query in the steady
 * state: the sharing facts and the newest recorded time come from the cache (memory, or
 * Redis with several nodes), the write joins the next batch, and the live update the
 * next coalesced batch. The facts are invalidated by the events that change them:
 * switching sharing (this module), answers and closed or moved alarms (`alarm.changed`),
 * availability (`availability.changed`), units (`user.changed`) and the organisation's
 * settings (`tenant.changed`).
 *
 * The rate limit per device lives in this node's memory on purpose: a device's socket
 * is connected to exactly one node, so all its reports arrive here. A device that loses
 * its connection and lands on another node could get one report in early — harmless,
 * unlike a Redis round trip on every report.
 */
export class PositionService {
  readonly cache: PositionCache;
  readonly writer: PositionWriter;
  readonly live: LiveFanout;
  readonly #loader: FactsLoader;
  /** Device id → when its last report was accepted (rate limit). */
  readonly #lastAccepted = new Map<string, number>();
  /** Member id → count of stops seen by this node (a report racing a stop is refused). */
  readonly #stops = new Map<string, number>();
  readonly #maintenance: NodeJS.Timeout;
  readonly #off: Array<() => void> = [];

  constructor(private readonly app: FastifyInstance) {
    const { config } = app;
    this.cache = app.redis ? new RedisPositionCache(app.redis) : new MemoryPositionCache();
    this.writer = new PositionWriter(app.database.pool, app.log, config.positionWriteIntervalMs);
    this.live = new LiveFanout(app.io, config.positionLiveIntervalMs, !app.redis);
    this.#loader = new FactsLoader(app.db);
    this.#maintenance = setInterval(() => this.#prune(), MAINTENANCE_MS);
    this.#maintenance.unref();
    this.#subscribe();
  }

  // ------------------------------------------------------------------ reports

  /**
   * @throws AppError POSITION_INVALID (too old or in the future), POSITION_NOT_SHARED
   */
  async report(auth: AuthContext, report: PositionReport): Promise<{ stored: boolean }> {
    const now = Date.now();
    const recordedAt = Date.parse(report.recordedAt);
    if (recordedAt > now + MAX_SKEW_MS || recordedAt < now - MAX_AGE_MS) {
      throw appError('POSITION_INVALID', 'The position is too old or its time is in the future.');
    }
    const min = this.app.config.positionMinIntervalMs;
    if (now - (this.#lastAccepted.get(auth.deviceId) ?? -Infinity) < min) return { stored: false };
    const stops = this.#stops.get(auth.userId) ?? 0;
    const { facts, tenant, lastRecordedAt } = await this.#factsOf(auth.tenantId, auth.userId);
    const decision = decideSharing(facts, tenant, now);
    if (!decision.sharing) throw appError('POSITION_NOT_SHARED');
    // Out of order (measured before the newest one accepted): dropped. `advance` decides
    // atomically across nodes; this only saves it the round trip.
    if (recordedAt <= lastRecordedAt) return { stored: false };
    const position: MemberPosition = {
      userId: auth.userId,
      lat: report.lat,
      lon: report.lon,
      accuracyM: Math.round(report.accuracy),
      recordedAt: new Date(recordedAt).toISOString(),
      heading: report.heading == null ? null : Math.round(report.heading),
      speedKmh: report.speed == null ? null : Math.round(report.speed * 3.6),
    };
    if (!(await this.cache.advance(auth.tenantId, position))) return { stored: false };
    if ((this.#stops.get(auth.userId) ?? 0) !== stops) {
      // The member pressed stop while this report was on its way: it must not show.
      await this.cache.dropLive(auth.tenantId, auth.userId);
      throw appError('POSITION_NOT_SHARED');
    }
    this.#lastAccepted.set(auth.deviceId, now);
    this.writer.add({
      tenantId: auth.tenantId,
      userId: auth.userId,
      deviceId: auth.deviceId,
      lat: position.lat,
      lon: position.lon,
      accuracyM: position.accuracyM,
      heading: position.heading ?? null,
      speedKmh: position.speedKmh ?? null,
      recordedAt: new Date(recordedAt),
      receivedAt: new Date(now),
    });
    this.live.add(auth.tenantId, facts.unitIds, position);
    this.#announceEta(auth.tenantId, facts, decision.comingAlarmIds, position);
    this.app.bus.emit('position.accepted', {
      tenantId: auth.tenantId,
      userId: auth.userId,
      lat: position.lat,
      lon: position.lon,
      accuracyM: position.accuracyM,
      recordedAt: new Date(recordedAt),
    });
    return { stored: true };
  }

  /** Distance and ETA on the boards of the alarms the member is coming to. */
  #announceEta(
    tenantId: string,
    facts: MemberFacts,
    alarmIds: string[],
    position: MemberPosition,
  ): void {
    for (const alarmId of alarmIds) {
      const alarm = facts.coming.find((c) => c.alarmId === alarmId);
      if (!alarm || alarm.lat === null || alarm.lon === null) continue;
      const eta = distanceEta(
        position,
        { lat: alarm.lat, lon: alarm.lon },
        this.app.config.positionTravelSpeedKmh,
      );
      boardDeltas(this.app).add(tenantId, alarmId, { userId: position.userId, ...eta });
    }
  }

  /**
   * A member's device connected: load their facts now (batched with everyone else's), so
   * the first report after a (re)connection storm is as cheap as the rest.
   */
  prefetch(auth: AuthContext): void {
    if (auth.mfaEnrolmentPending || !roleHas(auth.role, 'alarms.receive')) return;
    this.#factsOf(auth.tenantId, auth.userId).catch((err: unknown) =>
      this.app.log.warn({ err }, 'could not prefetch position facts'),
    );
  }

  // ------------------------------------------------------------------ sharing

  async sharingState(tenantId: string, userId: string): Promise<PositionSharingState> {
    const { facts, tenant } = await this.#factsOf(tenantId, userId);
    const decision = decideSharing(facts, tenant, Date.now());
    return {
      sharing: decision.sharing,
      reason: decision.reason,
      until: decision.until,
      onDutyEnabled: decision.onDutyEnabled,
      onDuty: decision.onDuty,
      stopped: decision.stopped,
    };
  }

  /**
   * Switches sharing on for `hours`, or stops it: a stop also holds against the alarm and
   * on-duty reasons (see sharing.ts), removes the live marker and deletes the last
   * position on every node before it answers.
   */
  async setSharing(
    tenantId: string,
    userId: string,
    on: boolean,
    hours: number,
  ): Promise<PositionSharingState> {
    const now = new Date();
    const values = on
      ? { until: new Date(now.getTime() + hours * 3600_000), stoppedAt: null }
      : { until: null, stoppedAt: now };
    await this.app.db
      .insert(positionSharing)
      .values({ userId, tenantId, ...values, updatedAt: now })
      .onDuplicateKeyUpdate({ set: { ...values, updatedAt: now } });
    await this.cache.invalidateMember(userId);
    if (!on) await this.#stop(tenantId, userId);
    this.app.io.to(userRoom(userId)).emit(POSITION_SERVER_EVENTS.sharingChanged);
    return this.sharingState(tenantId, userId);
  }

  async #stop(tenantId: string, userId: string): Promise<void> {
    await this.forgetHere({ tenantId, userId });
    if (this.app.redis) {
      await this.app.io
        .serverSideEmitWithAck(FORGET_EVENT, { tenantId, userId })
        .catch((err: unknown) =>
          this.app.log.warn({ err }, 'a node did not confirm forgetting a position in time'),
        );
    }
    const { facts } = await this.#factsOf(tenantId, userId);
    this.app.io
      .to([
        boardRoom(tenantId),
        positionsTenantRoom(tenantId),
        ...facts.unitIds.map(positionsUnitRoom),
      ])
      .emit(POSITION_SERVER_EVENTS.removed, { userId });
  }

  /** This node's part of a stop: nothing pending goes out or gets written. */
  async forgetHere({ tenantId, userId }: ForgetMessage): Promise<void> {
    this.#stops.set(userId, (this.#stops.get(userId) ?? 0) + 1);
    this.live.drop(userId);
    await this.cache.dropLive(tenantId, userId);
    await this.writer.forget(tenantId, userId);
  }

  // ------------------------------------------------------------------ consoles

  /**
   * Current positions of a tenant (members of `unitIds` only, when given) with names:
   * the live ones from the cache, completed from MariaDB (after a restart the cache is
   * empty), newest per member, none older than the retention or POSITION_MAX_AGE_MS.
   */
  async snapshot(tenantId: string, unitIds: string[] | null = null): Promise<MapPosition[]> {
    const tenant = await this.#tenantFacts(tenantId);
    const since = Date.now() - Math.min(POSITION_MAX_AGE_MS, tenant.retentionTrackHours * 3600_000);
    const [live, stored] = await Promise.all([
      this.cache.livePositions(tenantId, since),
      this.app.db
        .select({
          userId: memberPositions.userId,
          displayName: users.displayName,
          lat: memberPositions.lat,
          lon: memberPositions.lon,
          accuracyM: memberPositions.accuracyM,
          recordedAt: memberPositions.recordedAt,
        })
        .from(memberPositions)
        .innerJoin(users, eq(users.id, memberPositions.userId))
        .where(
          and(
            eq(memberPositions.tenantId, tenantId),
            gt(memberPositions.recordedAt, new Date(since)),
          ),
        ),
    ]);
    const byUser = new Map<string, MapPosition>(
      stored.map((r) => [r.userId, { ...r, recordedAt: r.recordedAt.toISOString() }]),
    );
    const unnamed: string[] = [];
    for (const p of live) {
      const known = byUser.get(p.userId);
      if (known && known.recordedAt >= p.recordedAt) continue;
      if (!known) unnamed.push(p.userId);
      byUser.set(p.userId, {
        userId: p.userId,
        displayName: known?.displayName ?? '',
        lat: p.lat,
        lon: p.lon,
        accuracyM: p.accuracyM,
        recordedAt: p.recordedAt,
      });
    }
    if (unnamed.length > 0) {
      const names = await this.app.db
        .select({ id: users.id, displayName: users.displayName })
        .from(users)
        .where(and(eq(users.tenantId, tenantId), inArray(users.id, unnamed)));
      for (const n of names) byUser.get(n.id)!.displayName = n.displayName;
      // A position of someone no longer in this tenant is not shown.
      const found = new Set(names.map((n) => n.id));
      for (const id of unnamed) if (!found.has(id)) byUser.delete(id);
    }
    let out = [...byUser.values()];
    if (unitIds) {
      if (unitIds.length === 0) return [];
      const members = await this.app.db
        .select({ userId: userUnits.userId })
        .from(userUnits)
        .where(and(eq(userUnits.tenantId, tenantId), inArray(userUnits.unitId, unitIds)));
      const wanted = new Set(members.map((m) => m.userId));
      out = out.filter((p) => wanted.has(p.userId));
    }
    return out.sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /** The unit and every unit below it. @throws AppError UNIT_NOT_FOUND */
  async unitSubtree(tenantId: string, unitId: string): Promise<string[]> {
    await findUnit(this.app.db, tenantId, unitId);
    const all = await listUnits(this.app.db, tenantId);
    const out = new Set<string>([unitId]);
    for (let grew = true; grew;) {
      grew = false;
      for (const u of all) {
        if (u.parentId && out.has(u.parentId) && !out.has(u.id)) {
          out.add(u.id);
          grew = true;
        }
      }
    }
    return [...out];
  }

  // ------------------------------------------------------------------ lifecycle

  /** Writes everything accepted so far to MariaDB (tests, track export, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    for (const off of this.#off) off();
    clearInterval(this.#maintenance);
    this.live.flush();
    this.live.close();
    this.#loader.close();
    await this.writer.flush();
  }

  // ------------------------------------------------------------------ cache

  async #factsOf(
    tenantId: string,
    userId: string,
  ): Promise<{ facts: MemberFacts; tenant: TenantFacts; lastRecordedAt: number }> {
    for (let attempt = 0; ; attempt++) {
      const read = await this.cache.readMember(userId, tenantId);
      let facts = read.member.facts;
      let tenant = read.tenant.facts;
      if (facts && tenant) return { facts, tenant, lastRecordedAt: read.member.lastRecordedAt };
      const [loadedFacts, loadedTenant] = await Promise.all([
        facts ?? this.#loader.member(tenantId, userId),
        tenant ?? this.#loader.tenant(tenantId, read.tenant.gen),
      ]);
      const [keptFacts, keptTenant] = await Promise.all([
        facts ? true : this.cache.storeMember(userId, loadedFacts, read.member.gen),
        tenant ? true : this.cache.storeTenant(tenantId, loadedTenant, read.tenant.gen),
      ]);
      facts = loadedFacts;
      tenant = loadedTenant;
      // Invalidated while loading: load again (the event's change may be missing), but
      // never loop on a flood of invalidations — the third load is used as it is.
      if ((keptFacts && keptTenant) || attempt >= 2) {
        return {
          facts,
          tenant,
          lastRecordedAt: Math.max(read.member.lastRecordedAt, facts.lastRecordedAt ?? 0),
        };
      }
    }
  }

  /** Fresh from MariaDB (snapshots are rare; no cache generation to join). */
  async #tenantFacts(tenantId: string): Promise<TenantFacts> {
    return this.#loader.tenant(tenantId, -1);
  }

  /** Invalidates members and tells their devices to read their sharing state again. */
  async invalidateMembers(userIds: string[], notify: boolean): Promise<void> {
    await Promise.all(userIds.map((id) => this.cache.invalidateMember(id)));
    if (notify && userIds.length > 0) {
      this.app.io.to(userIds.map(userRoom)).emit(POSITION_SERVER_EVENTS.sharingChanged);
    }
  }

  #subscribe(): void {
    const { bus, log } = this.app;
    const guard = (what: string) => (err: unknown) =>
      log.error({ err }, `could not invalidate cached position facts (${what})`);
    this.#off.push(
      bus.on('alarm.changed', (event) => {
        if (event.change === 'responded' && event.userId) {
          void this.invalidateMembers([event.userId], true).catch(guard('answer'));
        } else if (event.change === 'closed' || event.change === 'updated') {
          // Closing ends sharing for its alarm; moving it changes the ETA's destination.
          void this.#comingTo(event.tenantId, event.alarmId)
            .then((ids) => this.invalidateMembers(ids, event.change === 'closed'))
            .catch(guard('alarm'));
        }
      }),
      bus.on('availability.changed', ({ userId }) => {
        void this.invalidateMembers([userId], true).catch(guard('availability'));
      }),
      bus.on('user.changed', ({ userId }) => {
        void this.invalidateMembers([userId], false).catch(guard('user'));
      }),
      bus.on('tenant.changed', ({ tenantId }) => {
        void this.cache
          .invalidateTenant(tenantId)
          .then(() =>
            this.app.io.to(`tenant:${tenantId}`).emit(POSITION_SERVER_EVENTS.sharingChanged),
          )
          .catch(guard('tenant'));
      }),
    );
    if (this.app.redis) {
      this.app.io.on(FORGET_EVENT, (message: ForgetMessage, ack?: (ok: boolean) => void) => {
        this.forgetHere(message).then(
          () => ack?.(true),
          (err: unknown) => {
            log.error({ err }, 'could not forget a position on this node');
            ack?.(false);
          },
        );
      });
      this.#off.push(() => this.app.io.removeAllListeners(FORGET_EVENT));
    }
  }

  async #comingTo(tenantId: string, alarmId: string): Promise<string[]> {
    const rows = await this.app.db
      .select({ userId: alarmRecipients.userId })
      .from(alarmRecipients)
      .where(
        and(
          eq(alarmRecipients.tenantId, tenantId),
          eq(alarmRecipients.alarmId, alarmId),
          eq(alarmRecipients.response, 'coming'),
        ),
      );
    return rows.map((r) => r.userId);
  }

  #prune(): void {
    const now = Date.now();
    this.cache.prune(now - POSITION_MAX_AGE_MS);
    this.live.prune(now);
    const min = this.app.config.positionMinIntervalMs;
    for (const [deviceId, at] of this.#lastAccepted) {
      if (at + min < now) this.#lastAccepted.delete(deviceId);
    }
  }
}

const services = new WeakMap<object, PositionService>();

/**
 * The app's position service (one per app instance; keyed by its HTTP server, which
 * every encapsulated context shares). Other modules use it to flush before reading.
 */
export function positionService(app: FastifyInstance): PositionService {
  let service = services.get(app.server);
  if (!service) {
    service = new PositionService(app);
    services.set(app.server, service);
  }
  return service;
}
