import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import {
  ALARM_SERVER_EVENTS,
  DEFAULT_TRAVEL_SPEED_KMH,
  alarmTotals,
  requirementStatus,
  type AlarmBoard,
  type AlarmBoardDelta,
  type AlarmResponse,
  type AlarmSummary,
  type AlarmTargets,
} from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import { alarmRecipients, alarmTemplates, alarms } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { boardRoom, userRoom } from '../../realtime/gateway.ts';
import { AnswerBatcher } from './answer-batcher.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { findTenant } from '../tenants/repository.ts';
import { distancesTo, type DistanceEta } from '../positions/eta.ts';
import { positionService } from '../positions/service.ts';
import {
  findAlarm,
  findRecipient,
  findTemplate,
  insertRecipients,
  memberFacts,
  nextAlarmVersion,
  qualificationNames,
  recipientsOf,
  toRecipientState,
  toSummary,
  toTemplate,
  type AlarmRow,
  type RecipientRow,
} from './repository.ts';
import type { Template, TemplateBody, TriggerBody, UpdateBody } from './schemas.ts';
import {
  NO_TARGETS,
  assertTargetsInTenant,
  hasTargets,
  mergeTargets,
  resolveRecipients,
} from './targets.ts';

/** Where an alarm came from; kept on the alarm and in the audit record. */
export type AlarmSource = 'console' | 'api' | 'cap' | 'schedule';

const DEFAULT_REQUIREMENTS = { minMembers: 0, qualifications: [] };

/** Everything an alarm needs that a template or the trigger request can give. */
function normaliseTargets(targets: Partial<AlarmTargets> | undefined): AlarmTargets {
  return {
    unitIds: [...new Set(targets?.unitIds ?? [])],
    roles: [...new Set(targets?.roles ?? [])],
    userIds: [...new Set(targets?.userIds ?? [])],
    qualificationIds: [...new Set(targets?.qualificationIds ?? [])],
    area: targets?.area ?? null,
    geofenceIds: [...new Set(targets?.geofenceIds ?? [])],
  };
}

// ---------------------------------------------------------------- templates

async function assertTemplateIdsInTenant(
  tx: DbOrTx,
  tenantId: string,
  body: TemplateBody,
): Promise<void> {
  await assertTargetsInTenant(tx, tenantId, normaliseTargets(body.targets));
  if (body.escalation) {
    await assertTargetsInTenant(tx, tenantId, normaliseTargets(body.escalation.extendTargets));
  }
  await assertTargetsInTenant(tx, tenantId, {
    ...NO_TARGETS,
    qualificationIds: (body.requirements?.qualifications ?? []).map((q) => q.qualificationId),
  });
}

async function uniqueKeyword<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKey(error)) throw appError('ALARM_TEMPLATE_KEYWORD_TAKEN');
    throw error;
  }
}

function templateValues(body: TemplateBody) {
  return {
    keyword: body.keyword.trim(),
    title: body.title.trim(),
    text: body.text ?? '',
    priority: body.priority,
    targets: normaliseTargets(body.targets),
    requirements: body.requirements ?? DEFAULT_REQUIREMENTS,
    escalation: body.escalation
      ? { ...body.escalation, extendTargets: normaliseTargets(body.escalation.extendTargets) }
      : null,
    sound: body.sound ?? 'siren',
    opensChat: body.opensChat ?? false,
    opensPtt: body.opensPtt ?? false,
  };
}

/**
 * @throws AppError ALARM_TEMPLATE_KEYWORD_TAKEN, UNIT_NOT_FOUND, USER_NOT_FOUND,
 *   QUALIFICATION_NOT_FOUND
 */
export async function saveTemplate(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  templateId: string | null,
  body: TemplateBody,
): Promise<Template> {
  return app.db.transaction(async (tx) => {
    await findTenant(tx, tenantId, { lock: true });
    await assertTemplateIdsInTenant(tx, tenantId, body);
    const values = templateValues(body);
    const now = new Date();
    let id = templateId;
    if (id === null) {
      id = newId();
      const row = { id, tenantId, ...values, createdAt: now, updatedAt: now };
      await uniqueKeyword(() => tx.insert(alarmTemplates).values(row));
    } else {
      await findTemplate(tx, tenantId, id);
      await uniqueKeyword(() =>
        tx
          .update(alarmTemplates)
          .set({ ...values, updatedAt: now })
          .where(and(eq(alarmTemplates.tenantId, tenantId), eq(alarmTemplates.id, id!))),
      );
    }
    await recordAudit(tx, tenantId, {
      action: templateId === null ? 'alarm_template.created' : 'alarm_template.updated',
      actor,
      target: { type: 'alarm_template', id },
      details: { keyword: values.keyword },
    });
    return toTemplate(await findTemplate(tx, tenantId, id));
  });
}

/** @throws AppError ALARM_TEMPLATE_NOT_FOUND */
export async function deleteTemplate(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  templateId: string,
): Promise<void> {
  await app.db.transaction(async (tx) => {
    const template = await findTemplate(tx, tenantId, templateId);
    await tx
      .delete(alarmTemplates)
      .where(and(eq(alarmTemplates.tenantId, tenantId), eq(alarmTemplates.id, templateId)));
    await recordAudit(tx, tenantId, {
      action: 'alarm_template.deleted',
      actor,
      target: { type: 'alarm_template', id: templateId },
      details: { keyword: template.keyword },
    });
  });
}

// ---------------------------------------------------------------- fan-out

/**
 * Sends the alarm to every listed member's devices (on every node, through the adapter).
 * Members are grouped by alert count, so a re-alerted member's device alerts again.
 */
function fanOut(
  app: FastifyInstance,
  alarm: AlarmRow,
  recipients: ReadonlyArray<Pick<RecipientRow, 'userId' | 'alertCount'>>,
): void {
  const byCount = new Map<number, string[]>();
  for (const r of recipients) {
    let rooms = byCount.get(r.alertCount);
    if (!rooms) byCount.set(r.alertCount, (rooms = []));
    rooms.push(userRoom(r.userId));
  }
  for (const [alertCount, rooms] of byCount) {
    const summary: AlarmSummary = { ...toSummary(alarm), alertCount };
    app.io.to(rooms).emit(ALARM_SERVER_EVENTS.raised, summary);
  }
}

/** Text changes and closing reach the recipients (without their own answer) and dispatch. */
async function announceUpdate(app: FastifyInstance, alarm: AlarmRow): Promise<void> {
  const recipients = await recipientsOf(app.db, alarm.tenantId, alarm.id);
  const summary = toSummary(alarm);
  const rooms = recipients.map((r) => userRoom(r.userId));
  if (rooms.length > 0) app.io.to(rooms).emit(ALARM_SERVER_EVENTS.updated, summary);
  app.io.to(boardRoom(alarm.tenantId)).emit(ALARM_SERVER_EVENTS.updated, summary);
}

export function emitBoardDelta(app: FastifyInstance, tenantId: string, delta: AlarmBoardDelta) {
  app.io.to(boardRoom(tenantId)).emit(ALARM_SERVER_EVENTS.board, delta);
}

// ---------------------------------------------------------------- trigger

interface ResolvedAlarm {
  templateId: string | null;
  keyword: string;
  title: string;
  text: string;
  priority: AlarmRow['priority'];
  sound: string;
  targets: AlarmTargets;
  requirements: AlarmRow['requirements'];
  escalation: AlarmRow['escalation'];
  opensChat: boolean;
  opensPtt: boolean;
}

/** The template's settings with the request's overrides; a request without template names all. */
async function resolveTrigger(
  tx: DbOrTx,
  tenantId: string,
  body: TriggerBody,
): Promise<ResolvedAlarm> {
  const template = body.templateId ? await findTemplate(tx, tenantId, body.templateId) : null;
  const keyword = (body.keyword ?? template?.keyword ?? '').trim();
  const title = (body.title ?? template?.title ?? keyword).trim();
  if (keyword === '') {
    throw appError('VALIDATION_FAILED', 'Choose a template or give a keyword.');
  }
  const escalation =
    body.escalation !== undefined ? body.escalation : (template?.escalation ?? null);
  return {
    templateId: template?.id ?? null,
    keyword,
    title,
    text: body.text ?? template?.text ?? '',
    priority: body.priority ?? template?.priority ?? 'high',
    sound: body.sound ?? template?.sound ?? 'siren',
    targets: normaliseTargets(body.targets ?? template?.targets),
    requirements: body.requirements ?? template?.requirements ?? DEFAULT_REQUIREMENTS,
    escalation: escalation
      ? { ...escalation, extendTargets: normaliseTargets(escalation.extendTargets) }
      : null,
    opensChat: template?.opensChat ?? false,
    opensPtt: template?.opensPtt ?? false,
  };
}

export interface TriggerOptions {
  source: AlarmSource;
  /** Identifier of the CAP alert behind it; a second alarm with the same one is refused. */
  externalId?: string | null;
}

/**
 * Raises an alarm. The alarm and one recipient row per member are committed before
 * anything is sent, so a node that dies during fan-out loses nothing: each device gets
 * the alarm on reconnect through the `alarms` sync source.
 * @throws AppError ALARM_NO_RECIPIENTS, ALARM_TEMPLATE_NOT_FOUND, UNIT_NOT_FOUND,
 *   USER_NOT_FOUND, QUALIFICATION_NOT_FOUND, VALIDATION_FAILED
 */
export async function triggerAlarm(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  body: TriggerBody,
  options: TriggerOptions,
): Promise<AlarmBoard> {
  // Area targets read last positions from MariaDB, which the position writer fills in
  // batches: write what is pending first, so a fix from a moment ago counts.
  await positionService(app).flush();
  const now = new Date();
  const { alarm, recipients } = await app.db.transaction(async (tx) => {
    const resolved = await resolveTrigger(tx, tenantId, body);
    await assertTargetsInTenant(tx, tenantId, resolved.targets);
    if (!hasTargets(resolved.targets)) throw appError('ALARM_NO_RECIPIENTS');
    const allHands = body.allHands ?? false;
    const { userIds, skippedUnavailable } = await resolveRecipients(
      tx,
      tenantId,
      resolved.targets,
      {
        allHands,
        now,
      },
    );
    if (userIds.length === 0) throw appError('ALARM_NO_RECIPIENTS');
    const version = await nextAlarmVersion(tx, tenantId);
    const row: AlarmRow = {
      id: newId(),
      tenantId,
      ...resolved,
      isTest: body.isTest ?? false,
      allHands,
      lat: body.location?.lat ?? null,
      lon: body.location?.lon ?? null,
      address: (body.address ?? '').trim(),
      escalationStage: 0,
      escalateAt: resolved.escalation
        ? new Date(now.getTime() + resolved.escalation.afterSeconds * 1000)
        : null,
      source: options.source,
      externalId: options.externalId ?? null,
      createdBy: actor.userId ?? null,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      closedBy: null,
      version,
    };
    try {
      await tx.insert(alarms).values(row);
    } catch (error) {
      if (isDuplicateKey(error))
        throw appError('CAP_INVALID', 'CAP: this alert was received already.');
      throw error;
    }
    const recipientRows: RecipientRow[] = userIds.map((userId) => ({
      alarmId: row.id,
      userId,
      tenantId,
      stage: 0,
      alertCount: 1,
      sentAt: now,
      deliveredAt: null,
      readAt: null,
      response: null,
      etaMinutes: null,
      respondedAt: null,
    }));
    await insertRecipients(tx, recipientRows);
    await recordAudit(tx, tenantId, {
      action: 'alarm.raised',
      actor,
      target: { type: 'alarm', id: row.id },
      details: {
        keyword: row.keyword,
        source: options.source,
        isTest: row.isTest,
        allHands,
        recipients: userIds.length,
        skippedUnavailable: skippedUnavailable.length,
      },
    });
    return { alarm: row, recipients: recipientRows };
  });
  fanOut(app, alarm, recipients);
  app.io.to(boardRoom(tenantId)).emit(ALARM_SERVER_EVENTS.updated, toSummary(alarm));
  app.bus.emit('alarm.changed', {
    tenantId,
    alarmId: alarm.id,
    change: 'raised',
    alertedUserIds: recipients.map((r) => r.userId),
  });
  return buildBoard(app.db, alarm, recipients, app.config.positionTravelSpeedKmh);
}

// ---------------------------------------------------------------- board

export async function buildBoard(
  db: DbOrTx,
  alarm: AlarmRow,
  recipientRows?: RecipientRow[],
  travelSpeedKmh = DEFAULT_TRAVEL_SPEED_KMH,
): Promise<AlarmBoard> {
  const rows = recipientRows ?? (await recipientsOf(db, alarm.tenantId, alarm.id));
  const facts = await memberFacts(
    db,
    alarm.tenantId,
    rows.map((r) => r.userId),
  );
  const names = await qualificationNames(db, alarm.tenantId);
  // Members coming to an open alarm with a location: how far away their last position is.
  const distances =
    alarm.lat !== null && alarm.lon !== null && alarm.closedAt === null
      ? await distancesTo(
          db,
          alarm.tenantId,
          { lat: alarm.lat, lon: alarm.lon },
          rows.filter((r) => r.response === 'coming').map((r) => r.userId),
          travelSpeedKmh,
        )
      : new Map<string, DistanceEta>();
  const recipients = rows
    .map((r) => {
      const f = facts.get(r.userId);
      const d = distances.get(r.userId);
      return {
        ...toRecipientState(r, f?.displayName ?? '?', f?.qualificationIds ?? []),
        distanceKm: d?.distanceKm ?? null,
        positionEtaMinutes: d?.positionEtaMinutes ?? null,
      };
    })
    .sort(byEta);
  return {
    alarm: {
      ...toSummary(alarm),
      targets: alarm.targets,
      requirements: alarm.requirements,
      escalation: alarm.escalation ?? null,
      escalationStage: alarm.escalationStage,
      allHands: alarm.allHands,
      source: alarm.source,
    },
    recipients,
    totals: alarmTotals(recipients),
    requirements: requirementStatus(alarm.requirements, recipients, (id) => names.get(id) ?? '?'),
  };
}

/** Coming first by ETA, then later, then no answer, then not coming. */
function byEta(
  a: { response: AlarmResponse | null; etaMinutes: number | null; displayName: string },
  b: typeof a,
): number {
  const rank = (r: typeof a) =>
    r.response === 'coming' ? 0 : r.response === 'later' ? 1 : r.response === null ? 2 : 3;
  return (
    rank(a) - rank(b) ||
    (a.etaMinutes ?? 9999) - (b.etaMinutes ?? 9999) ||
    a.displayName.localeCompare(b.displayName)
  );
}

/** @throws AppError ALARM_NOT_FOUND */
export async function loadBoard(
  app: FastifyInstance,
  tenantId: string,
  alarmId: string,
): Promise<AlarmBoard> {
  return buildBoard(
    app.db,
    await findAlarm(app.db, tenantId, alarmId),
    undefined,
    app.config.positionTravelSpeedKmh,
  );
}

// ---------------------------------------------------------------- update and close

/**
 * Changes text or location and alerts added targets (members alerted already are not
 * alerted twice).
 * @throws AppError ALARM_NOT_FOUND, ALARM_CLOSED, UNIT_NOT_FOUND, USER_NOT_FOUND,
 *   QUALIFICATION_NOT_FOUND
 */
export async function updateAlarm(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  alarmId: string,
  body: UpdateBody,
): Promise<AlarmBoard> {
  if (body.addTargets) await positionService(app).flush();
  const now = new Date();
  const { alarm, added } = await app.db.transaction(async (tx) => {
    const version = await nextAlarmVersion(tx, tenantId);
    const current = await findAlarm(tx, tenantId, alarmId, { lock: true });
    if (current.closedAt) throw appError('ALARM_CLOSED');
    const addTargets = normaliseTargets(body.addTargets);
    await assertTargetsInTenant(tx, tenantId, addTargets);
    const changes: Partial<AlarmRow> = {
      ...(body.title !== undefined ? { title: body.title.trim() } : {}),
      ...(body.text !== undefined ? { text: body.text } : {}),
      ...(body.address !== undefined ? { address: body.address.trim() } : {}),
      ...(body.location !== undefined
        ? { lat: body.location?.lat ?? null, lon: body.location?.lon ?? null }
        : {}),
      targets: mergeTargets(current.targets, addTargets),
      updatedAt: now,
      version,
    };
    await tx.update(alarms).set(changes).where(eq(alarms.id, alarmId));
    const added = await addRecipients(tx, { ...current, ...changes }, addTargets, now);
    await recordAudit(tx, tenantId, {
      action: 'alarm.updated',
      actor,
      target: { type: 'alarm', id: alarmId },
      details: {
        fields: Object.keys(body).filter((k) => k !== 'addTargets'),
        addedRecipients: added.length,
      },
    });
    return { alarm: { ...current, ...changes } as AlarmRow, added };
  });
  await announceUpdate(app, alarm);
  fanOut(app, alarm, added);
  app.bus.emit('alarm.changed', {
    tenantId,
    alarmId,
    change: 'updated',
    alertedUserIds: added.map((r) => r.userId),
  });
  const board = await buildBoard(app.db, alarm, undefined, app.config.positionTravelSpeedKmh);
  emitBoardDelta(app, tenantId, { alarmId, recipients: board.recipients });
  return board;
}

/** Adds recipient rows for members the targets name who are not recipients yet. */
async function addRecipients(
  tx: DbOrTx,
  alarm: AlarmRow,
  targets: AlarmTargets,
  now: Date,
): Promise<RecipientRow[]> {
  if (!hasTargets(targets)) return [];
  const { userIds } = await resolveRecipients(tx, alarm.tenantId, targets, {
    allHands: alarm.allHands,
    now,
  });
  const existing = new Set((await recipientsOf(tx, alarm.tenantId, alarm.id)).map((r) => r.userId));
  const rows: RecipientRow[] = userIds
    .filter((id) => !existing.has(id))
    .map((userId) => ({
      alarmId: alarm.id,
      userId,
      tenantId: alarm.tenantId,
      stage: alarm.escalationStage,
      alertCount: 1,
      sentAt: now,
      deliveredAt: null,
      readAt: null,
      response: null,
      etaMinutes: null,
      respondedAt: null,
    }));
  await insertRecipients(tx, rows);
  return rows;
}

/**
 * Closes the alarm; later answers are refused with ALARM_CLOSED. Closing twice is a no-op.
 * @throws AppError ALARM_NOT_FOUND
 */
export async function closeAlarm(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  alarmId: string,
): Promise<AlarmBoard> {
  const now = new Date();
  const { alarm, changed } = await app.db.transaction(async (tx) => {
    const version = await nextAlarmVersion(tx, tenantId);
    const current = await findAlarm(tx, tenantId, alarmId, { lock: true });
    if (current.closedAt) return { alarm: current, changed: false };
    const changes = {
      closedAt: now,
      closedBy: actor.userId ?? null,
      escalateAt: null,
      updatedAt: now,
      version,
    };
    await tx.update(alarms).set(changes).where(eq(alarms.id, alarmId));
    await recordAudit(tx, tenantId, {
      action: 'alarm.closed',
      actor,
      target: { type: 'alarm', id: alarmId },
      details: { keyword: current.keyword },
    });
    return { alarm: { ...current, ...changes }, changed: true };
  });
  if (changed) {
    app.bus.emit('alarm.changed', { tenantId, alarmId, change: 'closed', alertedUserIds: [] });
    await announceUpdate(app, alarm);
    emitBoardDelta(app, tenantId, { alarmId, recipients: [], closedAt: now.toISOString() });
  }
  return buildBoard(app.db, alarm, undefined, app.config.positionTravelSpeedKmh);
}

// ---------------------------------------------------------------- member side

/**
 * Records a member's answer. Repeating the same answer changes nothing (double taps,
 * retried requests); a different answer replaces the previous one while the alarm is open.
 * @throws AppError ALARM_NOT_FOUND (not alerted), ALARM_CLOSED, ALARM_RESPONSE_INVALID
 */
export async function respond(
  app: FastifyInstance,
  tenantId: string,
  userId: string,
  alarmId: string,
  response: AlarmResponse,
  etaMinutes: number | null | undefined,
): Promise<AlarmSummary> {
  if (response === 'later' && (etaMinutes === null || etaMinutes === undefined || etaMinutes < 1)) {
    throw appError('ALARM_RESPONSE_INVALID');
  }
  const eta = response === 'not_coming' ? null : (etaMinutes ?? null);
  const result = await answers(app).submit(tenantId, alarmId, userId, {
    response,
    etaMinutes: eta,
  });
  if (result.changed) {
    boardDeltas(app).add(tenantId, alarmId, {
      userId,
      response: result.summary.myResponse,
      etaMinutes: result.summary.myEtaMinutes,
      respondedAt: result.respondedAt?.toISOString() ?? null,
      deliveredAt: result.deliveredAt?.toISOString() ?? null,
      readAt: result.readAt?.toISOString() ?? null,
    });
    app.bus.emit('alarm.changed', {
      tenantId,
      alarmId,
      change: 'responded',
      alertedUserIds: [],
      userId,
    });
    // The member's other devices show the answer too.
    app.io.to(userRoom(userId)).emit(ALARM_SERVER_EVENTS.updated, result.summary);
  }
  return result.summary;
}

const batchers = new WeakMap<FastifyInstance, AnswerBatcher>();

/** The app's answer batcher (one per app instance; flushed on close). */
export function answers(app: FastifyInstance): AnswerBatcher {
  let batcher = batchers.get(app);
  if (!batcher) {
    batcher = new AnswerBatcher(app);
    batchers.set(app, batcher);
  }
  return batcher;
}

/** Board deltas gathered per alarm and sent every BOARD_FLUSH_MS: one event per batch. */
const BOARD_FLUSH_MS = 50;
const coalescers = new WeakMap<FastifyInstance, BoardDeltaCoalescer>();

class BoardDeltaCoalescer {
  readonly #pending = new Map<
    string,
    { tenantId: string; rows: Map<string, AlarmBoardDelta['recipients'][number]> }
  >();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly app: FastifyInstance) {}

  add(tenantId: string, alarmId: string, row: AlarmBoardDelta['recipients'][number]): void {
    let entry = this.#pending.get(alarmId);
    if (!entry) this.#pending.set(alarmId, (entry = { tenantId, rows: new Map() }));
    entry.rows.set(row.userId, { ...entry.rows.get(row.userId), ...row });
    this.#timer ??= setTimeout(() => this.flush(), BOARD_FLUSH_MS);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const [alarmId, { tenantId, rows }] of this.#pending) {
      emitBoardDelta(this.app, tenantId, { alarmId, recipients: [...rows.values()] });
    }
    this.#pending.clear();
  }
}

/** The app's board delta coalescer (one per app instance; flushed on close). */
export function boardDeltas(app: FastifyInstance): BoardDeltaCoalescer {
  let coalescer = coalescers.get(app);
  if (!coalescer) {
    coalescer = new BoardDeltaCoalescer(app);
    coalescers.set(app, coalescer);
  }
  return coalescer;
}

/** The member's alarm, with their answer. @throws AppError ALARM_NOT_FOUND */
export async function myAlarm(
  app: FastifyInstance,
  tenantId: string,
  userId: string,
  alarmId: string,
): Promise<AlarmSummary> {
  const mine = await findRecipient(app.db, tenantId, alarmId, userId);
  return toSummary(await findAlarm(app.db, tenantId, alarmId), mine);
}

/**
 * Marks delivery or reading; only the first time counts. Returns the members whose row
 * changed, so only real changes reach the board (acks for alarms a member was not
 * alerted for, or repeated ones, change nothing and announce nothing).
 */
export async function markSeen(
  app: FastifyInstance,
  tenantId: string,
  alarmId: string,
  userIds: string[],
  what: 'delivered' | 'read',
  at: Date,
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const column = what === 'delivered' ? alarmRecipients.deliveredAt : alarmRecipients.readAt;
  return app.db.transaction(async (tx) => {
    const unseen = await tx
      .select({ userId: alarmRecipients.userId })
      .from(alarmRecipients)
      .where(
        and(
          eq(alarmRecipients.tenantId, tenantId),
          eq(alarmRecipients.alarmId, alarmId),
          inArray(alarmRecipients.userId, userIds),
          isNull(column),
        ),
      )
      .for('update');
    const changed = unseen.map((r) => r.userId);
    if (changed.length === 0) return [];
    await tx
      .update(alarmRecipients)
      .set(
        what === 'delivered'
          ? { deliveredAt: at }
          : { readAt: at, deliveredAt: sql`COALESCE(${alarmRecipients.deliveredAt}, ${at})` },
      )
      .where(
        and(
          eq(alarmRecipients.tenantId, tenantId),
          eq(alarmRecipients.alarmId, alarmId),
          inArray(alarmRecipients.userId, changed),
        ),
      );
    return changed;
  });
}
