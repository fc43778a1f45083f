import { and, asc, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import type { PttChannel, PttEmergency, PttMembers, PttMyChannel, Role } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  alarmRecipients,
  pttChannels,
  pttEmergencies,
  pttRecordings,
  users,
  userUnits,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { listUnits } from '../units/repository.ts';

export type ChannelRow = typeof pttChannels.$inferSelect;
export type RecordingRow = typeof pttRecordings.$inferSelect;
export type EmergencyRow = typeof pttEmergencies.$inferSelect;

export const NO_MEMBERS: PttMembers = { unitIds: [], roles: [], userIds: [] };

export function toChannel(row: ChannelRow): PttChannel {
  return {
    id: row.id,
    name: row.name,
    members: row.members,
    priority: row.priority,
    recorded: row.recorded,
    maxTalkSeconds: row.maxTalkSeconds,
    alarmId: row.alarmId,
    archived: row.archivedAt !== null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toMyChannel(row: ChannelRow): PttMyChannel {
  return {
    id: row.id,
    name: row.name,
    priority: row.priority,
    recorded: row.recorded,
    maxTalkSeconds: row.maxTalkSeconds,
    alarmId: row.alarmId,
  };
}

/** @throws AppError PTT_CHANNEL_NOT_FOUND (also for another tenant's channel) */
export async function findChannel(
  db: DbOrTx,
  tenantId: string,
  channelId: string,
  options: { lock?: boolean } = {},
): Promise<ChannelRow> {
  const query = db
    .select()
    .from(pttChannels)
    .where(and(eq(pttChannels.tenantId, tenantId), eq(pttChannels.id, channelId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('PTT_CHANNEL_NOT_FOUND');
  return row;
}

export async function listChannels(
  db: DbOrTx,
  tenantId: string,
  options: { archived?: boolean } = {},
): Promise<ChannelRow[]> {
  const rows = await db
    .select()
    .from(pttChannels)
    .where(eq(pttChannels.tenantId, tenantId))
    .orderBy(asc(pttChannels.name));
  if (options.archived === undefined) return rows;
  return rows.filter((r) => (r.archivedAt !== null) === options.archived);
}

export async function findAlarmChannel(
  db: DbOrTx,
  tenantId: string,
  alarmId: string,
): Promise<ChannelRow | null> {
  const [row] = await db
    .select()
    .from(pttChannels)
    .where(and(eq(pttChannels.tenantId, tenantId), eq(pttChannels.alarmId, alarmId)))
    .limit(1);
  return row ?? null;
}

export interface MemberFacts {
  userId: string;
  role: Role;
  /** The member's units and every unit above them: a channel naming a unit includes its sub-units. */
  unitIdsWithAncestors: Set<string>;
}

/** What membership checks need to know about a user. */
export async function memberFacts(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  role: Role,
): Promise<MemberFacts> {
  const own = await db
    .select({ unitId: userUnits.unitId })
    .from(userUnits)
    .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.userId, userId)));
  const out = new Set<string>();
  if (own.length > 0) {
    const parents = new Map((await listUnits(db, tenantId)).map((u) => [u.id, u.parentId]));
    for (const { unitId } of own) {
      let next: string | null | undefined = unitId;
      while (next && !out.has(next)) {
        out.add(next);
        next = parents.get(next);
      }
    }
  }
  return { userId, role, unitIdsWithAncestors: out };
}

/** Membership of a regular channel (not an alarm channel) by its stored member list. */
export function namedMember(channel: ChannelRow, facts: MemberFacts): boolean {
  const m = channel.members;
  return (
    m.userIds.includes(facts.userId) ||
    m.roles.includes(facts.role) ||
    m.unitIds.some((id) => facts.unitIdsWithAncestors.has(id))
  );
}

/** Alarms (of `alarmIds`) the user was alerted for. */
export async function alarmsOfRecipient(
  db: DbOrTx,
  tenantId: string,
  userId: string,
  alarmIds: string[],
): Promise<Set<string>> {
  if (alarmIds.length === 0) return new Set();
  const rows = await db
    .select({ alarmId: alarmRecipients.alarmId })
    .from(alarmRecipients)
    .where(
      and(
        eq(alarmRecipients.tenantId, tenantId),
        eq(alarmRecipients.userId, userId),
        inArray(alarmRecipients.alarmId, alarmIds),
      ),
    );
  return new Set(rows.map((r) => r.alarmId));
}

/**
 * Whether the user belongs to the channel: for an alarm channel, as one of the alarm's
 * recipients (so members added to the alarm later belong too); otherwise by the channel's
 * units (with sub-units), roles and users.
 */
export async function isMember(
  db: DbOrTx,
  channel: ChannelRow,
  user: { userId: string; role: Role },
): Promise<boolean> {
  if (channel.alarmId) {
    const alerted = await alarmsOfRecipient(db, channel.tenantId, user.userId, [channel.alarmId]);
    return alerted.has(channel.alarmId);
  }
  return namedMember(channel, await memberFacts(db, channel.tenantId, user.userId, user.role));
}

/** The open (not archived) channels the user belongs to. */
export async function channelsOfMember(
  db: DbOrTx,
  tenantId: string,
  user: { userId: string; role: Role },
): Promise<ChannelRow[]> {
  const open = await listChannels(db, tenantId, { archived: false });
  const facts = await memberFacts(db, tenantId, user.userId, user.role);
  const alarmIds = open.map((c) => c.alarmId).filter((id): id is string => id !== null);
  const alerted = await alarmsOfRecipient(db, tenantId, user.userId, alarmIds);
  return open.filter((c) => (c.alarmId ? alerted.has(c.alarmId) : namedMember(c, facts)));
}

// ---------------------------------------------------------------- recordings

export async function findRecording(
  db: DbOrTx,
  tenantId: string,
  recordingId: string,
): Promise<RecordingRow> {
  const [row] = await db
    .select()
    .from(pttRecordings)
    .where(and(eq(pttRecordings.tenantId, tenantId), eq(pttRecordings.id, recordingId)))
    .limit(1);
  if (!row) throw appError('PTT_RECORDING_NOT_FOUND');
  return row;
}

export async function listRecordings(
  db: DbOrTx,
  tenantId: string,
  channelId: string,
  options: { limit: number; before?: Date },
): Promise<Array<RecordingRow & { talkerDisplayName: string | null }>> {
  const rows = await db
    .select({ recording: pttRecordings, talkerDisplayName: users.displayName })
    .from(pttRecordings)
    .leftJoin(
      users,
      and(eq(users.id, pttRecordings.talkerUserId), eq(users.tenantId, pttRecordings.tenantId)),
    )
    .where(
      and(
        eq(pttRecordings.tenantId, tenantId),
        eq(pttRecordings.channelId, channelId),
        options.before ? lt(pttRecordings.startedAt, options.before) : undefined,
      ),
    )
    .orderBy(desc(pttRecordings.startedAt))
    .limit(options.limit);
  return rows.map((r) => ({ ...r.recording, talkerDisplayName: r.talkerDisplayName }));
}

// ---------------------------------------------------------------- emergencies

export async function findEmergency(
  db: DbOrTx,
  tenantId: string,
  emergencyId: string,
  options: { lock?: boolean } = {},
): Promise<EmergencyRow> {
  const query = db
    .select()
    .from(pttEmergencies)
    .where(and(eq(pttEmergencies.tenantId, tenantId), eq(pttEmergencies.id, emergencyId)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw appError('PTT_EMERGENCY_NOT_FOUND');
  return row;
}

export async function listEmergencies(
  db: DbOrTx,
  tenantId: string,
  options: { open?: boolean; limit: number },
): Promise<EmergencyRow[]> {
  return db
    .select()
    .from(pttEmergencies)
    .where(
      and(
        eq(pttEmergencies.tenantId, tenantId),
        options.open ? isNull(pttEmergencies.acknowledgedAt) : undefined,
      ),
    )
    .orderBy(desc(pttEmergencies.raisedAt))
    .limit(options.limit);
}

/** Emergency rows as dispatch sees them, with names of the channel, caller and acknowledger. */
export async function toEmergencies(db: DbOrTx, rows: EmergencyRow[]): Promise<PttEmergency[]> {
  if (rows.length === 0) return [];
  const tenantId = rows[0]!.tenantId;
  const userIds = [
    ...new Set(rows.flatMap((r) => [r.userId, r.acknowledgedBy].filter((x): x is string => !!x))),
  ];
  const channelIds = [...new Set(rows.map((r) => r.channelId))];
  const [people, channels] = await Promise.all([
    db
      .select({ id: users.id, displayName: users.displayName })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), inArray(users.id, userIds))),
    db
      .select({ id: pttChannels.id, name: pttChannels.name })
      .from(pttChannels)
      .where(and(eq(pttChannels.tenantId, tenantId), inArray(pttChannels.id, channelIds))),
  ]);
  const name = new Map(people.map((p) => [p.id, p.displayName]));
  const channelName = new Map(channels.map((c) => [c.id, c.name]));
  return rows.map((r) => ({
    id: r.id,
    channelId: r.channelId,
    channelName: channelName.get(r.channelId) ?? '',
    userId: r.userId,
    displayName: name.get(r.userId) ?? '',
    position:
      r.lat !== null && r.lon !== null
        ? {
            lat: r.lat,
            lon: r.lon,
            accuracy: r.accuracyM ?? 0,
            recordedAt: r.positionAt?.toISOString() ?? null,
          }
        : null,
    raisedAt: r.raisedAt.toISOString(),
    acknowledgedAt: r.acknowledgedAt?.toISOString() ?? null,
    acknowledgedByUserId: r.acknowledgedBy,
    acknowledgedByName: r.acknowledgedBy ? (name.get(r.acknowledgedBy) ?? '') : null,
  }));
}
