import type { Redis } from 'ioredis';
import type { MemberPosition } from '@trupp/shared';
import type { MemberFacts, TenantFacts } from './sharing.ts';

/**
 * What a position report needs without asking MariaDB: each member's sharing facts and
 * the newest recorded time accepted for them, each tenant's facts, and the latest
 * position per member (the live map). In this process with one node, in Redis when
 * `REDIS_URL` is set, so every node sees the same state (DESIGN principle 3).
 *
 * Invalidation races a load: a loader reads `gen`, queries MariaDB, and stores its facts
 * only if `gen` is unchanged — an event that invalidated in between bumped it, so stale
 * facts are never cached. Invalidating keeps `lastRecordedAt` (ordering survives).
 */
export interface Cached<T> {
  facts: T | null;
  gen: number;
}

export interface MemberRead extends Cached<MemberFacts> {
  /** Newest recorded time accepted for the member (0: none known). */
  lastRecordedAt: number;
}

export interface PositionCache {
  readMember(
    userId: string,
    tenantId: string,
  ): Promise<{ member: MemberRead; tenant: Cached<TenantFacts> }>;
  /** @returns false when the member was invalidated since `gen` was read */
  storeMember(userId: string, facts: MemberFacts, gen: number): Promise<boolean>;
  invalidateMember(userId: string): Promise<void>;
  /** @returns false when the tenant was invalidated since `gen` was read */
  storeTenant(tenantId: string, facts: TenantFacts, gen: number): Promise<boolean>;
  invalidateTenant(tenantId: string): Promise<void>;
  /**
   * Records `position` as the member's latest if it was measured after the newest one
   * accepted so far (on any node). @returns false for an out-of-order report
   */
  advance(tenantId: string, position: MemberPosition): Promise<boolean>;
  /** Live positions of a tenant measured after `since` (ms). */
  livePositions(tenantId: string, since: number): Promise<MemberPosition[]>;
  /** The member stopped sharing: the live position goes (the recorded time stays). */
  dropLive(tenantId: string, userId: string): Promise<void>;
  /** Forgets members and tenants not touched for a while (memory only; Redis expires). */
  prune(olderThan: number): void;
}

interface MemberEntry {
  facts: MemberFacts | null;
  gen: number;
  lastRecordedAt: number;
  touchedAt: number;
}

/** One node: plain maps. */
export class MemoryPositionCache implements PositionCache {
  readonly #members = new Map<string, MemberEntry>();
  readonly #tenants = new Map<
    string,
    { facts: TenantFacts | null; gen: number; touchedAt: number }
  >();
  readonly #live = new Map<string, Map<string, MemberPosition>>();

  #member(userId: string): MemberEntry {
    let entry = this.#members.get(userId);
    if (!entry) {
      entry = { facts: null, gen: 0, lastRecordedAt: 0, touchedAt: Date.now() };
      this.#members.set(userId, entry);
    }
    return entry;
  }

  #tenant(tenantId: string) {
    let entry = this.#tenants.get(tenantId);
    if (!entry) {
      entry = { facts: null, gen: 0, touchedAt: Date.now() };
      this.#tenants.set(tenantId, entry);
    }
    return entry;
  }

  async readMember(userId: string, tenantId: string) {
    const m = this.#member(userId);
    const t = this.#tenant(tenantId);
    m.touchedAt = t.touchedAt = Date.now();
    return {
      member: { facts: m.facts, gen: m.gen, lastRecordedAt: m.lastRecordedAt },
      tenant: { facts: t.facts, gen: t.gen },
    };
  }

  async storeMember(userId: string, facts: MemberFacts, gen: number): Promise<boolean> {
    const m = this.#member(userId);
    if (m.gen !== gen) return false;
    m.facts = facts;
    m.lastRecordedAt = Math.max(m.lastRecordedAt, facts.lastRecordedAt ?? 0);
    return true;
  }

  async invalidateMember(userId: string): Promise<void> {
    const m = this.#members.get(userId);
    if (!m) return;
    m.gen += 1;
    m.facts = null;
  }

  async storeTenant(tenantId: string, facts: TenantFacts, gen: number): Promise<boolean> {
    const t = this.#tenant(tenantId);
    if (t.gen !== gen) return false;
    t.facts = facts;
    return true;
  }

  async invalidateTenant(tenantId: string): Promise<void> {
    const t = this.#tenants.get(tenantId);
    if (!t) return;
    t.gen += 1;
    t.facts = null;
  }

  async advance(tenantId: string, position: MemberPosition): Promise<boolean> {
    const m = this.#member(position.userId);
    const at = Date.parse(position.recordedAt);
    if (at <= m.lastRecordedAt) return false;
    m.lastRecordedAt = at;
    let live = this.#live.get(tenantId);
    if (!live) this.#live.set(tenantId, (live = new Map()));
    live.set(position.userId, position);
    return true;
  }

  async livePositions(tenantId: string, since: number): Promise<MemberPosition[]> {
    return [...(this.#live.get(tenantId)?.values() ?? [])].filter(
      (p) => Date.parse(p.recordedAt) > since,
    );
  }

  async dropLive(tenantId: string, userId: string): Promise<void> {
    this.#live.get(tenantId)?.delete(userId);
  }

  prune(olderThan: number): void {
    for (const [id, m] of this.#members) if (m.touchedAt < olderThan) this.#members.delete(id);
    for (const [id, t] of this.#tenants) if (t.touchedAt < olderThan) this.#tenants.delete(id);
    for (const live of this.#live.values()) {
      for (const [id, p] of live) if (Date.parse(p.recordedAt) < olderThan) live.delete(id);
    }
  }
}

/** Keys idle this long expire in Redis (a fresh load from MariaDB follows). */
const REDIS_TTL_S = 6 * 3600;

/**
 * Several nodes: one hash per member (`f` facts JSON, `g` generation, `t` newest recorded
 * time), one per tenant (`f`, `g`), and one hash of live positions per tenant. The
 * compare-and-set steps run as Lua scripts, so two nodes never interleave inside one.
 * (Plain single-instance Redis; the keys of one script are not in one cluster slot.)
 */
export class RedisPositionCache implements PositionCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'trupp:pos:',
  ) {
    redis.defineCommand('truppPosStore', {
      numberOfKeys: 1,
      lua: `
        local g = tonumber(redis.call('HGET', KEYS[1], 'g') or '0')
        if g ~= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'f', ARGV[2])
        local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
        if tonumber(ARGV[3]) > t then redis.call('HSET', KEYS[1], 't', ARGV[3]) end
        redis.call('EXPIRE', KEYS[1], ARGV[4])
        return 1`,
    });
    redis.defineCommand('truppPosInvalidate', {
      numberOfKeys: 1,
      lua: `
        redis.call('HINCRBY', KEYS[1], 'g', 1)
        redis.call('HDEL', KEYS[1], 'f')
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1`,
    });
    redis.defineCommand('truppPosAdvance', {
      numberOfKeys: 2,
      lua: `
        local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
        if tonumber(ARGV[1]) <= t then return 0 end
        redis.call('HSET', KEYS[1], 't', ARGV[1])
        redis.call('EXPIRE', KEYS[1], ARGV[4])
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[4])
        return 1`,
    });
  }

  #m = (userId: string) => `${this.prefix}m:${userId}`;
  #t = (tenantId: string) => `${this.prefix}t:${tenantId}`;
  #live = (tenantId: string) => `${this.prefix}live:${tenantId}`;

  async readMember(userId: string, tenantId: string) {
    const results = await this.redis
      .pipeline()
      .hmget(this.#m(userId), 'f', 'g', 't')
      .hmget(this.#t(tenantId), 'f', 'g')
      .exec();
    const [m, t] = (results ?? []).map(([err, value]) => {
      if (err) throw err;
      return value as Array<string | null>;
    });
    return {
      member: {
        facts: m?.[0] ? (JSON.parse(m[0]) as MemberFacts) : null,
        gen: Number(m?.[1] ?? 0),
        lastRecordedAt: Number(m?.[2] ?? 0),
      },
      tenant: {
        facts: t?.[0] ? (JSON.parse(t[0]) as TenantFacts) : null,
        gen: Number(t?.[1] ?? 0),
      },
    };
  }

  async storeMember(userId: string, facts: MemberFacts, gen: number): Promise<boolean> {
    const stored = await (this.redis as unknown as Scripts).truppPosStore(
      this.#m(userId),
      gen,
      JSON.stringify(facts),
      facts.lastRecordedAt ?? 0,
      REDIS_TTL_S,
    );
    return stored === 1;
  }

  async invalidateMember(userId: string): Promise<void> {
    await (this.redis as unknown as Scripts).truppPosInvalidate(this.#m(userId), REDIS_TTL_S);
  }

  async storeTenant(tenantId: string, facts: TenantFacts, gen: number): Promise<boolean> {
    const stored = await (this.redis as unknown as Scripts).truppPosStore(
      this.#t(tenantId),
      gen,
      JSON.stringify(facts),
      0,
      REDIS_TTL_S,
    );
    return stored === 1;
  }

  async invalidateTenant(tenantId: string): Promise<void> {
    await (this.redis as unknown as Scripts).truppPosInvalidate(this.#t(tenantId), REDIS_TTL_S);
  }

  async advance(tenantId: string, position: MemberPosition): Promise<boolean> {
    const advanced = await (this.redis as unknown as Scripts).truppPosAdvance(
      this.#m(position.userId),
      this.#live(tenantId),
      Date.parse(position.recordedAt),
      position.userId,
      JSON.stringify(position),
      REDIS_TTL_S,
    );
    return advanced === 1;
  }

  async livePositions(tenantId: string, since: number): Promise<MemberPosition[]> {
    const all = await this.redis.hgetall(this.#live(tenantId));
    const out: MemberPosition[] = [];
    const stale: string[] = [];
    for (const [userId, json] of Object.entries(all)) {
      const p = JSON.parse(json) as MemberPosition;
      if (Date.parse(p.recordedAt) > since) out.push(p);
      else stale.push(userId);
    }
    if (stale.length) await this.redis.hdel(this.#live(tenantId), ...stale);
    return out;
  }

  async dropLive(tenantId: string, userId: string): Promise<void> {
    await this.redis.hdel(this.#live(tenantId), userId);
  }

  prune(): void {
    // Keys expire in Redis.
  }
}

interface Scripts {
  truppPosStore(key: string, gen: number, json: string, t: number, ttl: number): Promise<number>;
  truppPosInvalidate(key: string, ttl: number): Promise<number>;
  truppPosAdvance(
    memberKey: string,
    liveKey: string,
    at: number,
    userId: string,
    json: string,
    ttl: number,
  ): Promise<number>;
}
