import type { FastifyInstance } from 'fastify';
import type { AlarmBoard } from '@trupp/shared';
import { appError } from '../../errors.ts';
import { parseCap, toCapXml } from '../alarms/cap.ts';
import { findAlarm } from '../alarms/repository.ts';
import type { UpdateBody } from '../alarms/schemas.ts';
import { closeAlarm, triggerAlarm, updateAlarm } from '../alarms/service.ts';
import type { AuditActor } from '../audit/service.ts';
import { findTenant } from '../tenants/repository.ts';
import {
  alarmInfo,
  alarmToCap,
  capToDraft,
  draftToTrigger,
  referencedAlarm,
} from './cap-mapping.ts';

export interface CapOutcome {
  /** 'raised' for Alert, 'updated' for Update, 'closed' for Cancel. */
  outcome: 'raised' | 'updated' | 'closed';
  board: AlarmBoard;
}

/**
 * Acts on a CAP 1.2 document: Alert raises an alarm (its identifier may raise only one),
 * Update changes title, text and place of the referenced alarm, Cancel closes it.
 * Everything is checked before anything is written.
 * @throws AppError CAP_TOO_LARGE, CAP_INVALID (not CAP, a replayed identifier, status
 *   System/Draft, msgType Ack/Error, unknown target names, no targets), ALARM_NOT_FOUND
 *   (Update/Cancel of an unknown alarm), ALARM_CLOSED, ALARM_NO_RECIPIENTS
 */
export async function receiveCap(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  xml: string,
): Promise<CapOutcome> {
  const alert = parseCap(xml);
  if (alert.status === 'System' || alert.status === 'Draft') {
    throw appError('CAP_INVALID', `CAP: alerts with status ${alert.status} raise no alarm.`);
  }
  switch (alert.msgType) {
    case 'Alert': {
      const draft = capToDraft(alert);
      const body = await draftToTrigger(app.db, tenantId, draft);
      const board = await triggerAlarm(app, tenantId, actor, body, {
        source: 'cap',
        externalId: draft.externalId,
      });
      return { outcome: 'raised', board };
    }
    case 'Update': {
      const alarm = await referencedAlarm(app.db, tenantId, alert);
      const draft = capToDraft({ ...alert, identifier: alarm.id });
      const info = alarmInfo(alert);
      const changes: UpdateBody = {
        ...(draft.title !== undefined ? { title: draft.title } : {}),
        ...(draft.text !== undefined ? { text: draft.text } : {}),
        ...(info.areas.length > 0 ? { location: draft.location, address: draft.address } : {}),
      };
      return {
        outcome: 'updated',
        board: await updateAlarm(app, tenantId, actor, alarm.id, changes),
      };
    }
    case 'Cancel': {
      const alarm = await referencedAlarm(app.db, tenantId, alert);
      return { outcome: 'closed', board: await closeAlarm(app, tenantId, actor, alarm.id) };
    }
    default:
      throw appError('CAP_INVALID', `CAP: msgType ${alert.msgType} is not acted on.`);
  }
}

/** The alarm as a CAP 1.2 document. @throws AppError ALARM_NOT_FOUND */
export async function exportCap(
  app: FastifyInstance,
  tenantId: string,
  alarmId: string,
): Promise<string> {
  const alarm = await findAlarm(app.db, tenantId, alarmId);
  const tenant = await findTenant(app.db, tenantId);
  return toCapXml(alarmToCap(alarm, tenant));
}
