import { and, eq, or } from 'drizzle-orm';
import type { AlarmPriority, AlarmTargets, Role } from '@trupp/shared';
import { ROLES } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import { alarmTemplates, alarms, qualifications, units, users } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { CapAlert, CapArea, CapInfo, CapSeverity, CapUrgency } from '../alarms/cap.ts';
import type { AlarmRow } from '../alarms/repository.ts';
import type { TriggerBody } from '../alarms/schemas.ts';

/*
 * CAP 1.2 ↔ alarm. The first <info> block is the alarm:
 *   event → keyword (or the template named by parameter trupp:template), headline → title,
 *   description → text, severity + urgency → priority, status Exercise/Test → test alarm,
 *   first area: circle centre or polygon centroid → location, areaDesc → address,
 *   parameters trupp:unit / trupp:role / trupp:qualification / trupp:user → targets.
 * The export writes the same elements, so an exported alarm parses back to itself.
 */

export const CAP_PARAM = {
  template: 'trupp:template',
  unit: 'trupp:unit',
  role: 'trupp:role',
  qualification: 'trupp:qualification',
  user: 'trupp:user',
} as const;

const KEYWORD_MAX = 80;
const TITLE_MAX = 200;
const TEXT_MAX = 4000;
const ADDRESS_MAX = 300;
const EXTERNAL_ID_MAX = 200;

function invalid(message: string): Error {
  return appError('CAP_INVALID', `CAP: ${message}`);
}

/** Extreme/Severe and Immediate is critical; otherwise Extreme/Severe is high; else normal. */
export function capPriority(severity: CapSeverity, urgency: CapUrgency): AlarmPriority {
  const severe = severity === 'Extreme' || severity === 'Severe';
  if (severe && urgency === 'Immediate') return 'critical';
  return severe ? 'high' : 'normal';
}

/** The inverse of capPriority: each priority maps to a pair that maps back to it. */
export function priorityToCap(priority: AlarmPriority): {
  severity: CapSeverity;
  urgency: CapUrgency;
} {
  if (priority === 'critical') return { severity: 'Extreme', urgency: 'Immediate' };
  if (priority === 'high') return { severity: 'Severe', urgency: 'Expected' };
  return { severity: 'Moderate', urgency: 'Expected' };
}

/** Area centroid of a closed ring of [lat, lon] (planar; fine at the size of an incident area). */
export function polygonCentroid(ring: ReadonlyArray<readonly [number, number]>): {
  lat: number;
  lon: number;
} {
  let twiceArea = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < ring.length - 1; i += 1) {
    const [y0, x0] = ring[i]!;
    const [y1, x1] = ring[i + 1]!;
    const cross = x0 * y1 - x1 * y0;
    twiceArea += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  if (Math.abs(twiceArea) < 1e-12) {
    // Degenerate ring (all points on a line): the mean of its distinct points.
    const points = ring.slice(0, -1);
    return {
      lat: points.reduce((s, p) => s + p[0], 0) / points.length,
      lon: points.reduce((s, p) => s + p[1], 0) / points.length,
    };
  }
  return { lat: cy / (3 * twiceArea), lon: cx / (3 * twiceArea) };
}

function areaLocation(area: CapArea | undefined): { lat: number; lon: number } | null {
  if (!area) return null;
  const circle = area.circles[0];
  if (circle) return { lat: circle.lat, lon: circle.lon };
  const polygon = area.polygons[0];
  return polygon ? polygonCentroid(polygon) : null;
}

function params(info: CapInfo, name: string): string[] {
  return info.parameters
    .filter((p) => p.valueName === name)
    .map((p) => p.value.trim())
    .filter((v) => v !== '');
}

function bounded(value: string | undefined, max: number, element: string): string | undefined {
  if (value !== undefined && value.length > max) {
    throw invalid(`<${element}> is longer than ${max} characters`);
  }
  return value;
}

/** What an alert asks for, before names are looked up in the tenant. */
export interface CapAlarmDraft {
  externalId: string;
  keyword: string;
  title?: string;
  text?: string;
  priority: AlarmPriority;
  isTest: boolean;
  location: { lat: number; lon: number } | null;
  address?: string;
  templateKeyword?: string;
  targetRefs: { units: string[]; roles: string[]; qualifications: string[]; users: string[] };
}

/** The <info> block the alarm is made of. @throws AppError CAP_INVALID when there is none */
export function alarmInfo(alert: CapAlert): CapInfo {
  const info = alert.infos[0];
  if (!info) throw invalid('<info> is missing; it carries the event that raises the alarm');
  return info;
}

/** @throws AppError CAP_INVALID (too long values, unknown role names) */
export function capToDraft(alert: CapAlert): CapAlarmDraft {
  if (alert.identifier.length > EXTERNAL_ID_MAX) {
    throw invalid(`<identifier> is longer than ${EXTERNAL_ID_MAX} characters`);
  }
  const info = alarmInfo(alert);
  const roles = params(info, CAP_PARAM.role);
  const unknownRole = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (unknownRole !== undefined) {
    throw invalid(`${CAP_PARAM.role} "${unknownRole}" must be one of ${ROLES.join(', ')}`);
  }
  const area = info.areas[0];
  const templateKeyword = params(info, CAP_PARAM.template)[0];
  return {
    externalId: alert.identifier,
    keyword: bounded(info.event, KEYWORD_MAX, 'event')!,
    title: bounded(info.headline, TITLE_MAX, 'headline'),
    text: bounded(info.description, TEXT_MAX, 'description'),
    priority: capPriority(info.severity, info.urgency),
    isTest: alert.status === 'Exercise' || alert.status === 'Test',
    location: areaLocation(area),
    address: area?.areaDesc.slice(0, ADDRESS_MAX),
    ...(templateKeyword !== undefined ? { templateKeyword } : {}),
    targetRefs: {
      units: params(info, CAP_PARAM.unit),
      roles,
      qualifications: params(info, CAP_PARAM.qualification),
      users: params(info, CAP_PARAM.user),
    },
  };
}

/** Resolves one reference by id first, then by name; refuses unknown and ambiguous names. */
async function resolveRefs(
  refs: string[],
  parameter: string,
  lookup: (ref: string) => Promise<Array<{ id: string }>>,
): Promise<string[]> {
  const ids: string[] = [];
  for (const ref of refs) {
    const found = await lookup(ref);
    const byId = found.find((row) => row.id === ref);
    if (byId) ids.push(byId.id);
    else if (found.length === 1) ids.push(found[0]!.id);
    else if (found.length === 0) {
      throw invalid(`${parameter} "${ref}" names nothing in this organisation`);
    } else throw invalid(`${parameter} "${ref}" is ambiguous; give the id instead`);
  }
  return [...new Set(ids)];
}

/**
 * Turns a draft into the body of a trigger request, looking names up in the tenant.
 * @throws AppError CAP_INVALID (unknown names, no targets and no template)
 */
export async function draftToTrigger(
  db: DbOrTx,
  tenantId: string,
  draft: CapAlarmDraft,
): Promise<TriggerBody> {
  let templateId: string | undefined;
  if (draft.templateKeyword !== undefined) {
    const [template] = await db
      .select({ id: alarmTemplates.id })
      .from(alarmTemplates)
      .where(
        and(
          eq(alarmTemplates.tenantId, tenantId),
          eq(alarmTemplates.keyword, draft.templateKeyword),
        ),
      )
      .limit(1);
    if (!template) {
      throw invalid(`${CAP_PARAM.template} "${draft.templateKeyword}" is no template keyword`);
    }
    templateId = template.id;
  }
  const refs = draft.targetRefs;
  const targets: AlarmTargets = {
    unitIds: await resolveRefs(refs.units, CAP_PARAM.unit, (ref) =>
      db
        .select({ id: units.id })
        .from(units)
        .where(and(eq(units.tenantId, tenantId), or(eq(units.id, ref), eq(units.name, ref)))),
    ),
    roles: [...new Set(refs.roles)] as Role[],
    qualificationIds: await resolveRefs(refs.qualifications, CAP_PARAM.qualification, (ref) =>
      db
        .select({ id: qualifications.id })
        .from(qualifications)
        .where(
          and(
            eq(qualifications.tenantId, tenantId),
            or(eq(qualifications.id, ref), eq(qualifications.name, ref)),
          ),
        ),
    ),
    userIds: await resolveRefs(refs.users, CAP_PARAM.user, (ref) =>
      db
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.tenantId, tenantId), or(eq(users.id, ref), eq(users.email, ref)))),
    ),
  };
  const named = Object.values(targets).some((list) => list.length > 0);
  if (!named && templateId === undefined) {
    throw invalid(
      `no targets: add a <parameter> ${CAP_PARAM.unit}, ${CAP_PARAM.role}, ` +
        `${CAP_PARAM.qualification} or ${CAP_PARAM.user} (or ${CAP_PARAM.template})`,
    );
  }
  return {
    ...(templateId !== undefined ? { templateId } : { keyword: draft.keyword }),
    ...(draft.title !== undefined ? { title: draft.title } : {}),
    ...(draft.text !== undefined ? { text: draft.text } : {}),
    priority: draft.priority,
    ...(named ? { targets } : {}),
    location: draft.location,
    ...(draft.address !== undefined ? { address: draft.address } : {}),
    isTest: draft.isTest,
  };
}

/**
 * The open or closed alarm an Update or Cancel refers to: the first `references` entry
 * whose identifier is an alarm's CAP identifier or, for alerts Trupp exported, its id.
 * @throws AppError CAP_INVALID (no references), ALARM_NOT_FOUND
 */
export async function referencedAlarm(
  db: DbOrTx,
  tenantId: string,
  alert: CapAlert,
): Promise<AlarmRow> {
  if (alert.references === undefined) {
    throw invalid(`<references> is required for msgType ${alert.msgType}`);
  }
  for (const entry of alert.references.split(/[ \t\r\n]+/)) {
    const identifier = entry.split(',')[1]!;
    const [row] = await db
      .select()
      .from(alarms)
      .where(
        and(
          eq(alarms.tenantId, tenantId),
          or(eq(alarms.externalId, identifier), eq(alarms.id, identifier)),
        ),
      )
      .limit(1);
    if (row) return row;
  }
  throw appError('ALARM_NOT_FOUND', 'None of the referenced alerts is an alarm here.');
}

/**
 * The alarm as a CAP 1.2 alert: identifier is the original CAP identifier or the alarm id,
 * scope Restricted to the organisation, category Fire (CAP: "fire suppression and rescue"),
 * certainty Observed, and the targets as trupp:* parameters so it parses back to itself.
 */
export function alarmToCap(alarm: AlarmRow, tenant: { name: string; slug: string }): CapAlert {
  const { severity, urgency } = priorityToCap(alarm.priority);
  const location = alarm.lat !== null && alarm.lon !== null;
  const areaDesc = alarm.address.trim() || (location ? `${alarm.lat}, ${alarm.lon}` : '');
  const t = alarm.targets;
  return {
    identifier: alarm.externalId ?? alarm.id,
    sender: `trupp@${tenant.slug}`,
    sent: alarm.createdAt,
    status: alarm.isTest ? 'Exercise' : 'Actual',
    msgType: 'Alert',
    scope: 'Restricted',
    restriction: `Members of ${tenant.name} only`,
    ...(alarm.closedAt ? { note: `Closed at ${alarm.closedAt.toISOString()}` } : {}),
    infos: [
      {
        language: 'de-DE',
        category: ['Fire'],
        event: alarm.keyword,
        urgency,
        severity,
        certainty: 'Observed',
        senderName: tenant.name,
        headline: alarm.title,
        ...(alarm.text.trim() !== '' ? { description: alarm.text } : {}),
        parameters: [
          ...t.unitIds.map((value) => ({ valueName: CAP_PARAM.unit, value })),
          ...t.roles.map((value) => ({ valueName: CAP_PARAM.role, value })),
          ...t.qualificationIds.map((value) => ({ valueName: CAP_PARAM.qualification, value })),
          ...t.userIds.map((value) => ({ valueName: CAP_PARAM.user, value })),
        ],
        areas:
          areaDesc === ''
            ? []
            : [
                {
                  areaDesc,
                  polygons: [],
                  circles: location ? [{ lat: alarm.lat!, lon: alarm.lon!, radiusKm: 0 }] : [],
                },
              ],
      },
    ],
  };
}
