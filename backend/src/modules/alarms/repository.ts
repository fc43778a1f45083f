import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { AlarmRecipientState, AlarmSummary, AlarmTargets } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  alarmRecipients,
  alarmTemplates,
  alarms,
  qualifications,
  tenants,
  userQualifications,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { format } from 'mysql2';
import type { Template } from './schemas.ts';

export type AlarmRow = typeof alarms.$inferSelect;
export type RecipientRow = typeof alarmRecipients.$inferSelect;
export type TemplateRow = typeof alarmTemplates.$inferSelect;

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function toTemplate(row: TemplateRow): Template {
  return {
    id: row.id,
    keyword: row.keyword,
    title: row.title,
    text: row.text,
    priority: row.priority,
    targets: row.targets as Template['targets'],
    requirements: row.requirements,
    escalation: row.escalation ?? null,
    sound: row.sound,
    opensChat: row.opensChat,
    opensPtt: row.opensPtt,
  };
}

/** The alarm as one member sees it (their own answer included when `mine` is given). */
export function toSummary(
  row: AlarmRow,
  mine?: Pick<RecipientRow, 'response' | 'etaMinutes' | 'alertCount'> | null,
): AlarmSummary {
  return {
    id: row.id,
    keyword: row.keyword,
    title: row.title,
    text: row.text,
    priority: row.priority,
    sound: row.sound,
    isTest: row.isTest,
    lat: row.lat,
    lon: row.lon,
    address: row.address,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    closedAt: iso(row.closedAt),
    myResponse: mine?.response ?? null,
    myEtaMinutes: mine?.etaMinutes ?? null,
    alertCount: mine?.alertCount ?? 1,
  };
}

export function toRecipientState(
  row: RecipientRow,
  displayName: string,
  qualificationIds: string[],
): AlarmRecipientState {
  return {
    userId: row.userId,
    displayName,
    stage: row.stage,
    alertCount: row.alertCount,
    sentAt: row.sentAt.toISOString(),
    deliveredAt: iso(row.deliveredAt),
    readAt: iso(row.readAt),
    response: row.response,
    etaMinutes: row.etaMinutes,
    respondedAt: iso(row.respondedAt),
    qualificationIds,
  };
}

export async function listTemplates(db: DbOrTx, tenantId: string): Promise<TemplateRow[]> {
  return db
    .select()
    .from(alarmTemplates)
    .where(eq(alarmTemplates.tenantId, tenantId))
    .orderBy(asc(alarmTemplates.keyword));
}

/** @throws AppError ALARM_TEMPLATE_NOT_FOUND (also for another tenant's template) */
export async function findTemplate(
  db: DbOrTx,
  tenantId: string,
  templateId: string,
): Promise<TemplateRow> {
  const [row] = await db
    .select()
    .from(alarmTemplates)
    .where(and(eq(alarmTemplates.tenantId, tenantId), eq(alarmTemplates.id, templateId)))
    .limit(1);
  if (!row) throw appError('ALARM_TEMPLATE_NOT_FOUND');
  return row;
}

/** @throws AppError ALARM_NOT_FOUND (also for another tenant's alarm) */
export async function findAlarm(
  db: DbOrTx,
  tenantId: string,
  alarmId: string,
  options: { lock?: boolean } = {},
): Promise<AlarmRow> {
  const query = db
    .select()
    .from(alarms)
    .where(and(eq(alarms.tenantId, tenantId), eq(alarms.id, alarmId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('ALARM_NOT_FOUND');
  return row;
}

/**
 * The recipient row of this member for this alarm.
 * @throws AppError ALARM_NOT_FOUND when the member was not alerted (or the alarm is not theirs)
 */
export async function findRecipient(
  db: DbOrTx,
  tenantId: string,
  alarmId: string,
  userId: string,
): Promise<RecipientRow> {
  const [row] = await db
    .select()
    .from(alarmRecipients)
    .where(
      and(
        eq(alarmRecipients.tenantId, tenantId),
        eq(alarmRecipients.alarmId, alarmId),
        eq(alarmRecipients.userId, userId),
      ),
    )
    .limit(1);
  if (!row) throw appError('ALARM_NOT_FOUND');
  return row;
}

export async function recipientsOf(
  db: DbOrTx,
  tenantId: string,
  alarmId: string,
): Promise<RecipientRow[]> {
  return db
    .select()
    .from(alarmRecipients)
    .where(and(eq(alarmRecipients.tenantId, tenantId), eq(alarmRecipients.alarmId, alarmId)));
}

/** Display names and qualification ids of members, for the board. */
export async function memberFacts(
  db: DbOrTx,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, { displayName: string; qualificationIds: string[] }>> {
  const out = new Map<string, { displayName: string; qualificationIds: string[] }>();
  if (userIds.length === 0) return out;
  for (let i = 0; i < userIds.length; i += 1000) {
    const chunk = userIds.slice(i, i + 1000);
    const people = await db
      .select({ id: users.id, displayName: users.displayName })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), inArray(users.id, chunk)));
    for (const p of people) out.set(p.id, { displayName: p.displayName, qualificationIds: [] });
    const quals = await db
      .select({ userId: userQualifications.userId, qid: userQualifications.qualificationId })
      .from(userQualifications)
      .where(
        and(eq(userQualifications.tenantId, tenantId), inArray(userQualifications.userId, chunk)),
      );
    for (const q of quals) out.get(q.userId)?.qualificationIds.push(q.qid);
  }
  return out;
}

export async function qualificationNames(
  db: DbOrTx,
  tenantId: string,
): Promise<Map<string, string>> {
  const rows = await db
    .select({ id: qualifications.id, name: qualifications.name })
    .from(qualifications)
    .where(eq(qualifications.tenantId, tenantId));
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * Takes the next alarm version of the tenant. Locks the tenant row until the caller's
 * transaction ends, so versions commit in order and a sync cursor never skips one.
 */
export async function nextAlarmVersion(tx: DbOrTx, tenantId: string): Promise<number> {
  await tx
    .update(tenants)
    .set({ alarmVersion: sql`${tenants.alarmVersion} + 1` })
    .where(eq(tenants.id, tenantId));
  const [row] = await tx
    .select({ version: tenants.alarmVersion })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  if (!row) throw appError('TENANT_NOT_FOUND');
  return row.version;
}

/** Inserts recipient rows in chunks (one statement per 1000 members). */
export async function insertRecipients(tx: DbOrTx, rows: RecipientRow[]): Promise<void> {
  // Thousands of rows: one multi-row statement per 2000, formatted by the driver
  // (drizzle's per-value parameter building dominated a 10,000-member alarm).
  for (let i = 0; i < rows.length; i += 2000) {
    const values = rows
      .slice(i, i + 2000)
      .map((r) => [r.alarmId, r.userId, r.tenantId, r.stage, r.alertCount, r.sentAt]);
    await tx.execute(
      sql.raw(
        format(
          'INSERT INTO alarm_recipients (alarm_id, user_id, tenant_id, stage, alert_count, sent_at) VALUES ?',
          [values],
          false,
          'Z',
        ),
      ),
    );
  }
}

/** A member's alarms changed after `version`, oldest change first. */
export async function alarmsOfMemberSince(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  version: number,
  limit: number,
): Promise<Array<{ alarm: AlarmRow; mine: RecipientRow }>> {
  return db
    .select({ alarm: alarms, mine: alarmRecipients })
    .from(alarmRecipients)
    .innerJoin(alarms, eq(alarms.id, alarmRecipients.alarmId))
    .where(
      and(
        eq(alarmRecipients.tenantId, tenantId),
        eq(alarmRecipients.userId, userId),
        gt(alarms.version, version),
      ),
    )
    .orderBy(asc(alarms.version))
    .limit(limit);
}

export interface AlarmListFilter {
  status: 'open' | 'closed' | 'all';
  includeTests: boolean;
  limit: number;
}

export async function listAlarms(
  db: DbOrTx,
  tenantId: string,
  filter: AlarmListFilter,
): Promise<Array<AlarmRow & { recipients: number; coming: number }>> {
  const conditions = [eq(alarms.tenantId, tenantId)];
  if (filter.status === 'open') conditions.push(isNull(alarms.closedAt));
  if (filter.status === 'closed') conditions.push(isNotNull(alarms.closedAt));
  if (!filter.includeTests) conditions.push(eq(alarms.isTest, false));
  const rows = await db
    .select()
    .from(alarms)
    .where(and(...conditions))
    .orderBy(desc(alarms.createdAt))
    .limit(filter.limit);
  if (rows.length === 0) return [];
  const counts = await db
    .select({
      alarmId: alarmRecipients.alarmId,
      recipients: sql<number>`count(*)`,
      coming: sql<number>`sum(${alarmRecipients.response} = 'coming')`,
    })
    .from(alarmRecipients)
    .where(
      and(
        eq(alarmRecipients.tenantId, tenantId),
        inArray(
          alarmRecipients.alarmId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .groupBy(alarmRecipients.alarmId);
  const byId = new Map(counts.map((c) => [c.alarmId, c]));
  return rows.map((r) => ({
    ...r,
    recipients: Number(byId.get(r.id)?.recipients ?? 0),
    coming: Number(byId.get(r.id)?.coming ?? 0),
  }));
}

/** Open alarms whose escalation check is due, locked so only one node handles each. */
export async function lockDueEscalations(
  tx: DbOrTx,
  now: Date,
  limit: number,
): Promise<AlarmRow[]> {
  return tx
    .select()
    .from(alarms)
    .where(and(isNull(alarms.closedAt), sql`${alarms.escalateAt} <= ${now}`))
    .orderBy(asc(alarms.escalateAt))
    .limit(limit)
    .for('update', { skipLocked: true });
}

export type { AlarmTargets };
