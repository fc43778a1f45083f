import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import {
  alarmRecipients,
  alarms,
  memberAvailability,
  memberPositions,
  positionSharing,
  tenants,
  userUnits,
} from '../../db/schema.ts';
import type { MemberFacts, TenantFacts } from './sharing.ts';

/** How long cache misses gather before one set of queries loads them all. */
const GATHER_MS = 20;
const MAX_BATCH = 500;

interface Waiting {
  resolve: (facts: MemberFacts) => void;
  reject: (error: unknown) => void;
}

/**
 * Loads members' sharing facts from MariaDB for cache misses. Misses that arrive together
 * (a node starting under 2,000 reports a second, a tenant-wide invalidation) are gathered
 * per tenant for GATHER_MS and loaded with five queries per batch instead of five per
 * member.
 */
export class FactsLoader {
  readonly #pending = new Map<string, Map<string, Waiting[]>>();
  readonly #tenants = new Map<string, Promise<TenantFacts>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Db) {}

  member(tenantId: string, userId: string): Promise<MemberFacts> {
    return new Promise((resolve, reject) => {
      let byUser = this.#pending.get(tenantId);
      if (!byUser) this.#pending.set(tenantId, (byUser = new Map()));
      const list = byUser.get(userId) ?? [];
      list.push({ resolve, reject });
      byUser.set(userId, list);
      if (byUser.size >= MAX_BATCH) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), GATHER_MS);
    });
  }

  /**
   * One query per tenant and cache generation at a time, however many reports miss it
   * together. (A reader after an invalidation has a newer generation, so it never joins
   * a load that may have read the state from before the change.)
   */
  tenant(tenantId: string, gen: number): Promise<TenantFacts> {
    const key = `${tenantId}:${gen}`;
    let loading = this.#tenants.get(key);
    if (!loading) {
      loading = this.#loadTenant(tenantId).finally(() => this.#tenants.delete(key));
      this.#tenants.set(key, loading);
    }
    return loading;
  }

  async #loadTenant(tenantId: string): Promise<TenantFacts> {
    const [row] = await this.db
      .select({
        shareOnDuty: tenants.positionShareOnDuty,
        timezone: tenants.timezone,
        retentionTrackHours: tenants.retentionTrackHours,
      })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    return {
      shareOnDuty: row?.shareOnDuty ?? false,
      timezone: row?.timezone ?? 'UTC',
      retentionTrackHours: row?.retentionTrackHours ?? 24,
    };
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batches = [...this.#pending];
    this.#pending.clear();
    for (const [tenantId, byUser] of batches) {
      loadMembers(this.db, tenantId, [...byUser.keys()]).then(
        (facts) => {
          for (const [userId, waiting] of byUser) {
            for (const w of waiting) w.resolve(facts.get(userId)!);
          }
        },
        (error: unknown) => {
          for (const waiting of byUser.values()) for (const w of waiting) w.reject(error);
        },
      );
    }
  }

  close(): void {
    if (this.#timer) this.#flush();
  }
}

/** Sharing facts of members of one tenant, straight from MariaDB. */
export async function loadMembers(
  db: Db,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, MemberFacts>> {
  const [sharing, coming, availability, units, last] = await Promise.all([
    db
      .select()
      .from(positionSharing)
      .where(and(eq(positionSharing.tenantId, tenantId), inArray(positionSharing.userId, userIds))),
    db
      .select({
        userId: alarmRecipients.userId,
        alarmId: alarms.id,
        lat: alarms.lat,
        lon: alarms.lon,
        respondedAt: alarmRecipients.respondedAt,
      })
      .from(alarmRecipients)
      .innerJoin(alarms, eq(alarms.id, alarmRecipients.alarmId))
      .where(
        and(
          eq(alarmRecipients.tenantId, tenantId),
          inArray(alarmRecipients.userId, userIds),
          eq(alarmRecipients.response, 'coming'),
          isNull(alarms.closedAt),
        ),
      ),
    db
      .select()
      .from(memberAvailability)
      .where(
        and(eq(memberAvailability.tenantId, tenantId), inArray(memberAvailability.userId, userIds)),
      ),
    db
      .select({ userId: userUnits.userId, unitId: userUnits.unitId })
      .from(userUnits)
      .where(and(eq(userUnits.tenantId, tenantId), inArray(userUnits.userId, userIds))),
    db
      .select({ userId: memberPositions.userId, recordedAt: memberPositions.recordedAt })
      .from(memberPositions)
      .where(and(eq(memberPositions.tenantId, tenantId), inArray(memberPositions.userId, userIds))),
  ]);
  const out = new Map<string, MemberFacts>(
    userIds.map((userId) => [
      userId,
      {
        tenantId,
        until: null,
        stoppedAt: null,
        coming: [],
        availability: null,
        unitIds: [],
        lastRecordedAt: null,
      },
    ]),
  );
  for (const r of sharing) {
    const f = out.get(r.userId)!;
    f.until = r.until?.getTime() ?? null;
    f.stoppedAt = r.stoppedAt?.getTime() ?? null;
  }
  for (const r of coming) {
    out.get(r.userId)!.coming.push({
      alarmId: r.alarmId,
      lat: r.lat,
      lon: r.lon,
      respondedAt: r.respondedAt?.getTime() ?? 0,
    });
  }
  for (const r of availability) {
    out.get(r.userId)!.availability = {
      status: r.status,
      until: r.until?.getTime() ?? null,
      schedule: r.schedule ?? null,
      updatedAt: r.updatedAt.getTime(),
    };
  }
  for (const r of units) out.get(r.userId)!.unitIds.push(r.unitId);
  for (const r of last) out.get(r.userId)!.lastRecordedAt = r.recordedAt.getTime();
  return out;
}
