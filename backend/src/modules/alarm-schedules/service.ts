import { and, asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { alarmSchedules, tenants } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { findTemplate } from '../alarms/repository.ts';
import { triggerAlarm } from '../alarms/service.ts';
import { findTenant } from '../tenants/repository.ts';
import { nextRun } from './next-run.ts';
import type { Schedule, ScheduleBody } from './schemas.ts';

type ScheduleRow = typeof alarmSchedules.$inferSelect;

export function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    templateId: row.templateId,
    name: row.name,
    weekdays: row.weekdays,
    time: row.time,
    isTest: row.isTest,
    active: row.active,
    nextRunAt: row.nextRunAt?.toISOString() ?? null,
    lastRunAt: row.lastRunAt?.toISOString() ?? null,
  };
}

export async function listSchedules(app: FastifyInstance, tenantId: string): Promise<Schedule[]> {
  const rows = await app.db
    .select()
    .from(alarmSchedules)
    .where(eq(alarmSchedules.tenantId, tenantId))
    .orderBy(asc(alarmSchedules.name));
  return rows.map(toSchedule);
}

/** @throws AppError ALARM_TEMPLATE_NOT_FOUND */
export async function createSchedule(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  body: ScheduleBody,
): Promise<Schedule> {
  return app.db.transaction(async (tx) => {
    const tenant = await findTenant(tx, tenantId);
    await findTemplate(tx, tenantId, body.templateId);
    const now = new Date();
    const weekdays = [...new Set(body.weekdays)].sort();
    const active = body.active ?? true;
    const row: ScheduleRow = {
      id: newId(),
      tenantId,
      templateId: body.templateId,
      name: body.name.trim(),
      weekdays,
      time: body.time,
      isTest: body.isTest ?? true,
      active,
      nextRunAt: active ? nextRun(weekdays, body.time, tenant.timezone, now) : null,
      lastRunAt: null,
      createdBy: actor.userId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await tx.insert(alarmSchedules).values(row);
    await recordAudit(tx, tenantId, {
      action: 'alarm_schedule.created',
      actor,
      target: { type: 'alarm_schedule', id: row.id },
      details: { name: row.name, weekdays, time: row.time, isTest: row.isTest },
    });
    return toSchedule(row);
  });
}

/** @throws AppError ALARM_SCHEDULE_NOT_FOUND */
export async function deleteSchedule(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  scheduleId: string,
): Promise<void> {
  await app.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(alarmSchedules)
      .where(and(eq(alarmSchedules.tenantId, tenantId), eq(alarmSchedules.id, scheduleId)))
      .for('update');
    if (!row) throw appError('ALARM_SCHEDULE_NOT_FOUND');
    await tx.delete(alarmSchedules).where(eq(alarmSchedules.id, scheduleId));
    await recordAudit(tx, tenantId, {
      action: 'alarm_schedule.deleted',
      actor,
      target: { type: 'alarm_schedule', id: scheduleId },
      details: { name: row.name },
    });
  });
}

/**
 * Raises every scheduled alarm that is due. Each due schedule is claimed (its next run
 * moved on) with SKIP LOCKED in one transaction, then raised, so a run happens once even
 * with several nodes; a run that fails to raise (e.g. nobody available) is logged and
 * audited, not retried.
 */
export async function runSchedules(app: FastifyInstance, now = new Date()): Promise<number> {
  const claimed = await app.db.transaction(async (tx) => {
    const due = await tx
      .select({ schedule: alarmSchedules, timezone: tenants.timezone })
      .from(alarmSchedules)
      .innerJoin(tenants, eq(tenants.id, alarmSchedules.tenantId))
      .where(and(eq(alarmSchedules.active, true), sql`${alarmSchedules.nextRunAt} <= ${now}`))
      .limit(20)
      .for('update', { skipLocked: true });
    for (const { schedule, timezone } of due) {
      await tx
        .update(alarmSchedules)
        .set({
          lastRunAt: now,
          nextRunAt: nextRun(schedule.weekdays, schedule.time, timezone, now),
          updatedAt: now,
        })
        .where(eq(alarmSchedules.id, schedule.id));
    }
    return due.map((d) => d.schedule);
  });
  let raised = 0;
  for (const schedule of claimed) {
    try {
      await triggerAlarm(
        app,
        schedule.tenantId,
        { userId: null },
        { templateId: schedule.templateId, isTest: schedule.isTest },
        { source: 'schedule' },
      );
      raised += 1;
    } catch (error) {
      app.log.warn({ err: error, scheduleId: schedule.id }, 'scheduled alarm not raised');
      await recordAudit(app.db, schedule.tenantId, {
        action: 'alarm_schedule.failed',
        target: { type: 'alarm_schedule', id: schedule.id },
        details: { code: (error as { code?: string }).code ?? 'INTERNAL_ERROR' },
      }).catch(() => undefined);
    }
  }
  return raised;
}
