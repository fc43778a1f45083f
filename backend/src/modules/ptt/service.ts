import { rm } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import {
  PTT_MAX_TALK_SECONDS,
  PTT_SERVER_EVENTS,
  type PttChannel,
  type PttEmergency,
  type PttMembers,
  type PttPosition,
} from '@trupp/shared';
import type { Db, DbOrTx } from '../../db/client.ts';
import {
  alarms,
  memberPositions,
  pttChannels,
  pttEmergencies,
  pttRecordings,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { boardRoom } from '../../realtime/gateway.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { assertUnitsInTenant } from '../units/repository.ts';
import {
  findAlarmChannel,
  findChannel,
  findEmergency,
  NO_MEMBERS,
  toChannel,
  toEmergencies,
  type ChannelRow,
  type EmergencyRow,
} from './repository.ts';
import type { ChannelCreateBody, ChannelPatchBody } from './schemas.ts';
import type { PttRuntime } from './runtime.ts';

/** Room of the sockets joined to a channel. Channel ids are UUIDs, unique across tenants. */
export const channelRoom = (channelId: string): string => `ptt:${channelId}`;

export interface PttDeps {
  app: FastifyInstance;
  runtime: PttRuntime;
}

function normaliseMembers(members: PttMembers): PttMembers {
  return {
    unitIds: [...new Set(members.unitIds)],
    roles: [...new Set(members.roles)],
    userIds: [...new Set(members.userIds)],
  };
}

/** @throws AppError UNIT_NOT_FOUND, USER_NOT_FOUND (also for another tenant's ids) */
async function assertMembersInTenant(db: DbOrTx, tenantId: string, members: PttMembers) {
  await assertUnitsInTenant(db, tenantId, members.unitIds);
  if (members.userIds.length > 0) {
    const found = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), inArray(users.id, members.userIds)));
    if (found.length !== members.userIds.length) throw appError('USER_NOT_FOUND');
  }
}

function announceChannels(app: FastifyInstance, tenantId: string): void {
  app.io.to(`tenant:${tenantId}`).emit(PTT_SERVER_EVENTS.channelsChanged, {});
}

/**
 * Creates a channel; audited.
 * @throws AppError UNIT_NOT_FOUND, USER_NOT_FOUND
 */
export async function createChannel(
  deps: PttDeps,
  tenantId: string,
  actor: AuditActor,
  body: ChannelCreateBody,
): Promise<PttChannel> {
  const { app } = deps;
  const members = normaliseMembers(body.members);
  const now = new Date();
  const row: ChannelRow = {
    id: newId(),
    tenantId,
    name: body.name.trim(),
    members,
    priority: body.priority ?? false,
    recorded: body.recorded ?? false,
    maxTalkSeconds: body.maxTalkSeconds ?? PTT_MAX_TALK_SECONDS.default,
    alarmId: null,
    archivedAt: null,
    createdBy: actor.userId ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await app.db.transaction(async (tx) => {
    await assertMembersInTenant(tx, tenantId, members);
    await tx.insert(pttChannels).values(row);
    await recordAudit(tx, tenantId, {
      action: 'ptt.channel_created',
      actor,
      target: { type: 'ptt_channel', id: row.id },
      details: {
        name: row.name,
        members,
        priority: row.priority,
        recorded: row.recorded,
        maxTalkSeconds: row.maxTalkSeconds,
      },
    });
  });
  announceChannels(app, tenantId);
  return toChannel(row);
}

/**
 * Changes a channel. Members who no longer belong are taken out at once; archiving takes
 * everyone out; a new maximum talk time applies from the next turn.
 * @throws AppError PTT_CHANNEL_NOT_FOUND, PTT_ALARM_CHANNEL, UNIT_NOT_FOUND, USER_NOT_FOUND
 */
export async function updateChannel(
  deps: PttDeps,
  tenantId: string,
  actor: AuditActor,
  channelId: string,
  patch: ChannelPatchBody,
): Promise<PttChannel> {
  const { app, runtime } = deps;
  const now = new Date();
  const { row, changes } = await app.db.transaction(async (tx) => {
    const current = await findChannel(tx, tenantId, channelId, { lock: true });
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const columns: Partial<ChannelRow> = {};
    const set = <K extends keyof ChannelRow>(key: K, value: ChannelRow[K], label: string = key) => {
      if (JSON.stringify(current[key]) === JSON.stringify(value)) return;
      changes[label] = { from: current[key], to: value };
      columns[key] = value;
    };
    if (patch.name !== undefined) set('name', patch.name.trim());
    if (patch.members !== undefined) {
      if (current.alarmId) throw appError('PTT_ALARM_CHANNEL');
      const members = normaliseMembers(patch.members);
      await assertMembersInTenant(tx, tenantId, members);
      set('members', members);
    }
    if (patch.priority !== undefined) set('priority', patch.priority);
    if (patch.recorded !== undefined) set('recorded', patch.recorded);
    if (patch.maxTalkSeconds !== undefined) set('maxTalkSeconds', patch.maxTalkSeconds);
    if (patch.archived !== undefined && patch.archived !== (current.archivedAt !== null)) {
      changes.archived = { from: current.archivedAt !== null, to: patch.archived };
      columns.archivedAt = patch.archived ? now : null;
    }
    if (Object.keys(changes).length === 0) return { row: current, changes };
    await tx
      .update(pttChannels)
      .set({ ...columns, updatedAt: now })
      .where(and(eq(pttChannels.tenantId, tenantId), eq(pttChannels.id, channelId)));
    await recordAudit(tx, tenantId, {
      action: 'ptt.channel_updated',
      actor,
      target: { type: 'ptt_channel', id: channelId },
      details: { changes },
    });
    return { row: { ...current, ...columns, updatedAt: now }, changes };
  });
  if (Object.keys(changes).length > 0) {
    if (row.archivedAt) await runtime.closeChannel(channelId, 'archived');
    else await runtime.channelChanged(channelId);
    announceChannels(app, tenantId);
  }
  return toChannel(row);
}

/** Resolves a stored path below the recordings directory; refuses one that leaves it. */
export function recordingFile(recordingsDir: string, storagePath: string): string | null {
  const file = normalize(join(recordingsDir, storagePath));
  const rel = relative(recordingsDir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) return null;
  return file;
}

/** Deletes recording files (missing ones are fine: the row is what lists them). */
export async function deleteRecordingFiles(recordingsDir: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    const file = recordingFile(recordingsDir, path);
    if (file) await rm(file, { force: true });
  }
}

/**
 * Deletes a channel with its recordings (rows and files); emergency calls made in it stay
 * (they are incident records with their own retention). Audited.
 * @throws AppError PTT_CHANNEL_NOT_FOUND
 */
export async function deleteChannel(
  deps: PttDeps,
  tenantId: string,
  actor: AuditActor,
  channelId: string,
): Promise<void> {
  const { app, runtime } = deps;
  const paths = await app.db.transaction(async (tx) => {
    const current = await findChannel(tx, tenantId, channelId, { lock: true });
    const recordings = await tx
      .select({ storagePath: pttRecordings.storagePath })
      .from(pttRecordings)
      .where(and(eq(pttRecordings.tenantId, tenantId), eq(pttRecordings.channelId, channelId)));
    await tx
      .delete(pttRecordings)
      .where(and(eq(pttRecordings.tenantId, tenantId), eq(pttRecordings.channelId, channelId)));
    await tx
      .delete(pttChannels)
      .where(and(eq(pttChannels.tenantId, tenantId), eq(pttChannels.id, channelId)));
    await recordAudit(tx, tenantId, {
      action: 'ptt.channel_deleted',
      actor,
      target: { type: 'ptt_channel', id: channelId },
      details: { name: current.name, recordingsDeleted: recordings.length },
    });
    return recordings.map((r) => r.storagePath);
  });
  await deleteRecordingFiles(app.config.recordingsDir, paths);
  await runtime.closeChannel(channelId, 'deleted');
  announceChannels(app, tenantId);
}

// ---------------------------------------------------------------- emergencies

/**
 * Stores an emergency call (with the position the device sent, else the member's last
 * known one) and audits it, in one transaction — before anyone is told.
 */
export async function raiseEmergency(
  db: Db,
  input: {
    tenantId: string;
    channelId: string;
    userId: string;
    actor: AuditActor;
    position: PttPosition | null;
  },
): Promise<EmergencyRow> {
  const now = new Date();
  return db.transaction(async (tx) => {
    let position: { lat: number; lon: number; accuracyM: number; at: Date } | null = null;
    if (input.position) {
      position = {
        lat: input.position.lat,
        lon: input.position.lon,
        accuracyM: Math.round(input.position.accuracy),
        at: now,
      };
    } else {
      const [last] = await tx
        .select()
        .from(memberPositions)
        .where(
          and(
            eq(memberPositions.tenantId, input.tenantId),
            eq(memberPositions.userId, input.userId),
          ),
        );
      if (last) {
        position = { lat: last.lat, lon: last.lon, accuracyM: last.accuracyM, at: last.recordedAt };
      }
    }
    const row: EmergencyRow = {
      id: newId(),
      tenantId: input.tenantId,
      channelId: input.channelId,
      userId: input.userId,
      lat: position?.lat ?? null,
      lon: position?.lon ?? null,
      accuracyM: position?.accuracyM ?? null,
      positionAt: position?.at ?? null,
      raisedAt: now,
      acknowledgedBy: null,
      acknowledgedAt: null,
    };
    await tx.insert(pttEmergencies).values(row);
    await recordAudit(tx, input.tenantId, {
      action: 'ptt.emergency_raised',
      actor: input.actor,
      target: { type: 'ptt_emergency', id: row.id },
      // Exact coordinates stay in the emergency row, not in the audit trail.
      details: { channelId: input.channelId, withPosition: position !== null },
    });
    return row;
  });
}

/** Tells the channel and the dispatch board about an emergency call (new or acknowledged). */
export function announceEmergency(
  app: FastifyInstance,
  emergency: PttEmergency,
  tenantId: string,
  event: string = PTT_SERVER_EVENTS.emergency,
): void {
  app.io.to([channelRoom(emergency.channelId), boardRoom(tenantId)]).emit(event, emergency);
}

/**
 * Dispatch has seen the emergency call and acts on it. Idempotent: the first
 * acknowledgement stays. Audited.
 * @throws AppError PTT_EMERGENCY_NOT_FOUND
 */
export async function acknowledgeEmergency(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor & { userId: string },
  emergencyId: string,
): Promise<PttEmergency> {
  const { row, changed } = await app.db.transaction(async (tx) => {
    const current = await findEmergency(tx, tenantId, emergencyId, { lock: true });
    if (current.acknowledgedAt) return { row: current, changed: false };
    const now = new Date();
    await tx
      .update(pttEmergencies)
      .set({ acknowledgedAt: now, acknowledgedBy: actor.userId })
      .where(and(eq(pttEmergencies.id, emergencyId), isNull(pttEmergencies.acknowledgedAt)));
    await recordAudit(tx, tenantId, {
      action: 'ptt.emergency_acknowledged',
      actor,
      target: { type: 'ptt_emergency', id: emergencyId },
      details: { channelId: current.channelId, userId: current.userId },
    });
    return {
      row: { ...current, acknowledgedAt: now, acknowledgedBy: actor.userId },
      changed: true,
    };
  });
  const [emergency] = await toEmergencies(app.db, [row]);
  if (changed)
    announceEmergency(app, emergency!, tenantId, PTT_SERVER_EVENTS.emergencyAcknowledged);
  return emergency!;
}

// ---------------------------------------------------------------- alarm channels

/**
 * The alarm hook: an alarm raised with a template that opens push-to-talk gets a channel
 * whose members are its recipients (also those added later by an update or escalation,
 * who are told to refresh their channel list); the channel is archived when the alarm
 * closes. Runs after the alarm's commit; creating twice is prevented by the unique
 * (tenant, alarm) index, so every node may run it.
 */
export async function onAlarmChanged(
  deps: PttDeps,
  event: {
    tenantId: string;
    alarmId: string;
    change: string;
    alertedUserIds: string[];
  },
): Promise<void> {
  const { app, runtime } = deps;
  const { tenantId, alarmId } = event;
  if (event.change === 'raised') {
    const [alarm] = await app.db
      .select()
      .from(alarms)
      .where(and(eq(alarms.tenantId, tenantId), eq(alarms.id, alarmId)));
    if (!alarm?.opensPtt || alarm.closedAt) return;
    const now = new Date();
    const name = `${alarm.keyword} · ${alarm.title}`.slice(0, 80);
    const id = newId();
    try {
      await app.db.transaction(async (tx) => {
        await tx.insert(pttChannels).values({
          id,
          tenantId,
          name,
          members: NO_MEMBERS,
          priority: false,
          recorded: false,
          maxTalkSeconds: PTT_MAX_TALK_SECONDS.default,
          alarmId,
          archivedAt: null,
          createdBy: alarm.createdBy,
          createdAt: now,
          updatedAt: now,
        });
        await recordAudit(tx, tenantId, {
          action: 'ptt.channel_created',
          target: { type: 'ptt_channel', id },
          details: { name, alarmId },
        });
      });
    } catch (error) {
      if (isDuplicateKey(error)) return;
      throw error;
    }
    announceChannels(app, tenantId);
    return;
  }
  const channel = await findAlarmChannel(app.db, tenantId, alarmId);
  if (!channel) return;
  if (event.change === 'closed') {
    if (channel.archivedAt) return;
    const now = new Date();
    await app.db.transaction(async (tx) => {
      await tx
        .update(pttChannels)
        .set({ archivedAt: now, updatedAt: now })
        .where(and(eq(pttChannels.tenantId, tenantId), eq(pttChannels.id, channel.id)));
      await recordAudit(tx, tenantId, {
        action: 'ptt.channel_updated',
        target: { type: 'ptt_channel', id: channel.id },
        details: { changes: { archived: { from: false, to: true } }, alarmId },
      });
    });
    await runtime.closeChannel(channel.id, 'archived');
    announceChannels(app, tenantId);
    return;
  }
  if (event.alertedUserIds.length > 0 && !channel.archivedAt) {
    app.io
      .to(event.alertedUserIds.map((userId) => `user:${userId}`))
      .emit(PTT_SERVER_EVENTS.channelsChanged, {});
  }
}
