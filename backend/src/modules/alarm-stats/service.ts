import { and, asc, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { alarmRecipients, alarms, units, userUnits, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { AlarmStatistics, StatsQuery } from './schemas.ts';

/**
 * Response statistics over a date range: per alarm, per unit and per member. Recipient
 * rows are read with explicit joins (no relational queries: MariaDB refuses their
 * LATERAL joins) and aggregated here, because medians and percentiles are not portable
 * SQL. The range and the row count are bounded so one request cannot read the world.
 */

const DAY_MS = 86_400_000;
export const DEFAULT_RANGE_DAYS = 90;
export const MAX_RANGE_DAYS = 366;
/** More alarms or recipient rows than this in one range: ask for a shorter range instead. */
export const MAX_ALARMS = 10_000;
export const MAX_RECIPIENT_ROWS = 200_000;

/**
 * The range asked for, with defaults (the last 90 days up to now).
 * @throws AppError AUDIT_RANGE_INVALID when `from` is after `to` or the range is longer
 *   than MAX_RANGE_DAYS
 */
export function statsRange(query: StatsQuery, now: Date): { from: Date; to: Date } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (from.getTime() > to.getTime()) {
    throw appError('AUDIT_RANGE_INVALID', 'The start of the range is after its end.');
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw appError('AUDIT_RANGE_INVALID', `Choose a range of at most ${MAX_RANGE_DAYS} days.`);
  }
  return { from, to };
}

/** The middle value (mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0…100): the smallest value with p % at or below it. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);
const rate = (answered: number, alerted: number): number | null =>
  alerted === 0 ? null : Math.round((answered / alerted) * 1000) / 1000;
const seconds = (later: Date, earlier: Date): number =>
  Math.max(0, (later.getTime() - earlier.getTime()) / 1000);

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

interface Tally {
  alerted: number;
  answered: number;
  coming: number;
  times: number[];
}
const newTally = (): Tally => ({ alerted: 0, answered: 0, coming: 0, times: [] });

interface RecipientFact {
  alarmId: string;
  userId: string;
  displayName: string | null;
  sentAt: Date;
  deliveredAt: Date | null;
  response: 'coming' | 'not_coming' | 'later' | null;
  respondedAt: Date | null;
}

function count(tally: Tally, r: RecipientFact): void {
  tally.alerted += 1;
  if (r.response !== null) {
    tally.answered += 1;
    if (r.respondedAt) tally.times.push(seconds(r.respondedAt, r.sentAt));
  }
  if (r.response === 'coming') tally.coming += 1;
}

/**
 * Statistics of the tenant's alarms raised in the range (test alarms only when asked).
 * Unit figures follow current unit membership.
 * @throws AppError AUDIT_RANGE_INVALID, VALIDATION_FAILED (too many rows in the range)
 */
export async function alarmStatistics(
  db: DbOrTx,
  tenantId: string,
  query: StatsQuery,
  now: Date = new Date(),
): Promise<AlarmStatistics> {
  const { from, to } = statsRange(query, now);
  const includeTests = query.includeTests ?? false;
  const inRange: (SQL | undefined)[] = [
    eq(alarms.tenantId, tenantId),
    gte(alarms.createdAt, from),
    lte(alarms.createdAt, to),
    includeTests ? undefined : eq(alarms.isTest, false),
  ];

  const alarmRows = await db
    .select({
      id: alarms.id,
      keyword: alarms.keyword,
      title: alarms.title,
      isTest: alarms.isTest,
      createdAt: alarms.createdAt,
      closedAt: alarms.closedAt,
    })
    .from(alarms)
    .where(and(...inRange))
    .orderBy(desc(alarms.createdAt))
    .limit(MAX_ALARMS + 1);
  const recipients: RecipientFact[] = await db
    .select({
      alarmId: alarmRecipients.alarmId,
      userId: alarmRecipients.userId,
      displayName: users.displayName,
      sentAt: alarmRecipients.sentAt,
      deliveredAt: alarmRecipients.deliveredAt,
      response: alarmRecipients.response,
      respondedAt: alarmRecipients.respondedAt,
    })
    .from(alarmRecipients)
    .innerJoin(
      alarms,
      and(eq(alarms.id, alarmRecipients.alarmId), eq(alarms.tenantId, alarmRecipients.tenantId)),
    )
    .leftJoin(
      users,
      and(eq(users.id, alarmRecipients.userId), eq(users.tenantId, alarmRecipients.tenantId)),
    )
    .where(and(eq(alarmRecipients.tenantId, tenantId), ...inRange))
    .limit(MAX_RECIPIENT_ROWS + 1);
  if (alarmRows.length > MAX_ALARMS || recipients.length > MAX_RECIPIENT_ROWS) {
    throw appError('VALIDATION_FAILED', 'Too many alarms in this range. Choose a shorter one.');
  }
  const memberships = await db
    .select({ userId: userUnits.userId, unitId: units.id, name: units.name })
    .from(userUnits)
    .innerJoin(units, and(eq(units.id, userUnits.unitId), eq(units.tenantId, userUnits.tenantId)))
    .where(eq(userUnits.tenantId, tenantId))
    .orderBy(asc(units.name));

  const unitsOf = new Map<string, string[]>();
  for (const m of memberships) push(unitsOf, m.userId, m.unitId);

  const byAlarm = new Map<string, RecipientFact[]>();
  const members = new Map<string, Tally & { displayName: string }>();
  const unitTallies = new Map<string, Tally & { alarmIds: Set<string> }>();
  const total = newTally();
  for (const r of recipients) {
    push(byAlarm, r.alarmId, r);
    count(total, r);
    let member = members.get(r.userId);
    if (!member) {
      member = { ...newTally(), displayName: r.displayName ?? '?' };
      members.set(r.userId, member);
    }
    count(member, r);
    for (const unitId of unitsOf.get(r.userId) ?? []) {
      let unit = unitTallies.get(unitId);
      if (!unit) {
        unit = { ...newTally(), alarmIds: new Set() };
        unitTallies.set(unitId, unit);
      }
      unit.alarmIds.add(r.alarmId);
      count(unit, r);
    }
  }

  const unitNames = new Map(memberships.map((m) => [m.unitId, m.name]));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    includeTests,
    totals: {
      alarms: alarmRows.length,
      alerted: total.alerted,
      answered: total.answered,
      coming: total.coming,
      responseRate: rate(total.answered, total.alerted),
      medianResponseSeconds: round1(median(total.times)),
    },
    alarms: alarmRows.map((a) => {
      const rows = byAlarm.get(a.id) ?? [];
      const tally = newTally();
      for (const r of rows) count(tally, r);
      const comingTimes = rows
        .filter((r) => r.response === 'coming' && r.respondedAt)
        .map((r) => seconds(r.respondedAt!, a.createdAt));
      return {
        alarmId: a.id,
        keyword: a.keyword,
        title: a.title,
        isTest: a.isTest,
        createdAt: a.createdAt.toISOString(),
        closedAt: a.closedAt?.toISOString() ?? null,
        recipients: tally.alerted,
        delivered: rows.filter((r) => r.deliveredAt !== null).length,
        answered: tally.answered,
        coming: tally.coming,
        later: rows.filter((r) => r.response === 'later').length,
        notComing: rows.filter((r) => r.response === 'not_coming').length,
        responseRate: rate(tally.answered, tally.alerted),
        medianResponseSeconds: round1(median(tally.times)),
        p90ResponseSeconds: round1(percentile(tally.times, 90)),
        firstComingSeconds: comingTimes.length ? round1(Math.min(...comingTimes)) : null,
      };
    }),
    units: [...unitTallies.entries()]
      .map(([unitId, u]) => ({
        unitId,
        name: unitNames.get(unitId) ?? '?',
        alarms: u.alarmIds.size,
        alerted: u.alerted,
        answered: u.answered,
        coming: u.coming,
        responseRate: rate(u.answered, u.alerted),
        medianResponseSeconds: round1(median(u.times)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    members: [...members.entries()]
      .map(([userId, m]) => ({
        userId,
        displayName: m.displayName,
        alerted: m.alerted,
        answered: m.answered,
        coming: m.coming,
        responseRate: rate(m.answered, m.alerted),
        medianResponseSeconds: round1(median(m.times)),
      }))
      .sort((a, b) => a.displayName.localeCompare(b.displayName)),
  };
}

/** A CSV cell: always quoted; text that a spreadsheet would run as a formula is defused. */
export function csvCell(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replaceAll('"', '""')}"`;
}

/** One row per member (with their units), for spreadsheets. */
export function memberStatsCsv(stats: AlarmStatistics, unitNamesOf: Map<string, string[]>): string {
  const header = [
    'member',
    'user_id',
    'units',
    'alerted',
    'answered',
    'coming',
    'response_rate_percent',
    'median_response_seconds',
  ];
  const lines = stats.members.map((m) => [
    m.displayName,
    m.userId,
    (unitNamesOf.get(m.userId) ?? []).join(', '),
    m.alerted,
    m.answered,
    m.coming,
    m.responseRate === null ? null : Math.round(m.responseRate * 1000) / 10,
    m.medianResponseSeconds,
  ]);
  return [header, ...lines].map((line) => line.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Names of the units each member belongs to, for the CSV. */
export async function unitNamesByMember(
  db: DbOrTx,
  tenantId: string,
): Promise<Map<string, string[]>> {
  const rows = await db
    .select({ userId: userUnits.userId, name: units.name })
    .from(userUnits)
    .innerJoin(units, and(eq(units.id, userUnits.unitId), eq(units.tenantId, userUnits.tenantId)))
    .where(eq(userUnits.tenantId, tenantId))
    .orderBy(asc(units.name));
  const out = new Map<string, string[]>();
  for (const r of rows) push(out, r.userId, r.name);
  return out;
}
