import { and, eq, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { ALARM_SERVER_EVENTS, requirementStatus } from '@trupp/shared';
import { alarmRecipients, alarms } from '../../db/schema.ts';
import { userRoom } from '../../realtime/gateway.ts';
import { recordAudit } from '../audit/service.ts';
import {
  lockDueEscalations,
  memberFacts,
  nextAlarmVersion,
  recipientsOf,
  toSummary,
  type AlarmRow,
  type RecipientRow,
} from './repository.ts';
import { buildBoard, emitBoardDelta } from './service.ts';
import { hasTargets, resolveRecipients } from './targets.ts';

/** Escalation steps: 1 re-alerts those who have not answered, 2 extends to the next targets. */
export const LAST_ESCALATION_STAGE = 2;

interface Step {
  alarm: AlarmRow;
  realerted: RecipientRow[];
  added: RecipientRow[];
}

/**
 * Looks at every open alarm whose escalation check is due. If fewer than `minComing`
 * come or a requirement is unmet, takes the next step: first re-alert members who have
 * not answered, then alert the template's next target set. Each step is audited and
 * shown on the board. Rows are locked with SKIP LOCKED, so several nodes can run this.
 */
export async function runEscalations(app: FastifyInstance, now = new Date()): Promise<number> {
  const steps: Step[] = [];
  await app.db.transaction(async (tx) => {
    const due = await lockDueEscalations(tx, now, 50);
    for (const alarm of due) {
      const rule = alarm.escalation;
      const recipients = await recipientsOf(tx, alarm.tenantId, alarm.id);
      const facts = await memberFacts(
        tx,
        alarm.tenantId,
        recipients.map((r) => r.userId),
      );
      const states = recipients.map((r) => ({
        response: r.response,
        qualificationIds: facts.get(r.userId)?.qualificationIds ?? [],
      }));
      const coming = states.filter((s) => s.response === 'coming').length;
      const unmet = requirementStatus(alarm.requirements, states, () => '').filter((s) => !s.met);
      const satisfied = !rule || (coming >= rule.minComing && unmet.length === 0);
      const stage = alarm.escalationStage + 1;
      if (satisfied || stage > LAST_ESCALATION_STAGE) {
        await tx.update(alarms).set({ escalateAt: null }).where(eq(alarms.id, alarm.id));
        continue;
      }
      const version = await nextAlarmVersion(tx, alarm.tenantId);
      let realerted: RecipientRow[] = [];
      let added: RecipientRow[] = [];
      if (stage === 1) {
        realerted = recipients
          .filter((r) => r.response === null)
          .map((r) => ({ ...r, alertCount: r.alertCount + 1, sentAt: now }));
        await tx
          .update(alarmRecipients)
          .set({ alertCount: sql`${alarmRecipients.alertCount} + 1`, sentAt: now })
          .where(and(eq(alarmRecipients.alarmId, alarm.id), isNull(alarmRecipients.response)));
      } else if (hasTargets(rule!.extendTargets)) {
        const { userIds } = await resolveRecipients(tx, alarm.tenantId, rule!.extendTargets, {
          allHands: alarm.allHands,
          now,
        });
        const existing = new Set(recipients.map((r) => r.userId));
        added = userIds
          .filter((id) => !existing.has(id))
          .map((userId) => ({
            alarmId: alarm.id,
            userId,
            tenantId: alarm.tenantId,
            stage,
            alertCount: 1,
            sentAt: now,
            deliveredAt: null,
            readAt: null,
            response: null,
            etaMinutes: null,
            respondedAt: null,
          }));
        if (added.length > 0) await tx.insert(alarmRecipients).values(added);
      }
      const changes = {
        escalationStage: stage,
        escalateAt:
          stage < LAST_ESCALATION_STAGE
            ? new Date(now.getTime() + rule!.afterSeconds * 1000)
            : null,
        updatedAt: now,
        version,
      };
      await tx.update(alarms).set(changes).where(eq(alarms.id, alarm.id));
      await recordAudit(tx, alarm.tenantId, {
        action: 'alarm.escalated',
        target: { type: 'alarm', id: alarm.id },
        details: {
          stage,
          coming,
          minComing: rule!.minComing,
          unmet: unmet.map((u) => u.qualificationId ?? 'members'),
          realerted: realerted.length,
          added: added.length,
        },
      });
      steps.push({ alarm: { ...alarm, ...changes }, realerted, added });
    }
  });
  for (const step of steps) await announceStep(app, step);
  return steps.length;
}

async function announceStep(app: FastifyInstance, { alarm, realerted, added }: Step) {
  app.bus.emit('alarm.changed', {
    tenantId: alarm.tenantId,
    alarmId: alarm.id,
    change: 'escalated',
    alertedUserIds: [...realerted, ...added].map((r) => r.userId),
  });
  for (const r of [...realerted, ...added]) {
    app.io
      .to(userRoom(r.userId))
      .emit(ALARM_SERVER_EVENTS.raised, { ...toSummary(alarm), alertCount: r.alertCount });
  }
  const board = await buildBoard(app.db, alarm, undefined, app.config.positionTravelSpeedKmh);
  emitBoardDelta(app, alarm.tenantId, {
    alarmId: alarm.id,
    escalationStage: alarm.escalationStage,
    recipients: board.recipients.filter((r) =>
      [...realerted, ...added].some((x) => x.userId === r.userId),
    ),
  });
}

/** Runs `runEscalations` every ALARM_ESCALATION_INTERVAL_MS (0 = never, tests tick by hand). */
export default async function escalationJob(app: FastifyInstance) {
  const intervalMs = app.config.alarmEscalationIntervalMs;
  if (intervalMs === 0) return;
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= runEscalations(app)
      .catch((err: unknown) => app.log.error({ err }, 'alarm escalation run failed'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
