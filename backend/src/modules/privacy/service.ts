import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { PERMISSION_MATRIX, type Permission, type Role } from '@trupp/shared';
import type { Db } from '../../db/client.ts';
import {
  alarmRecipients,
  alarms,
  auditLog,
  chatConversations,
  chatMembers,
  chatMessages,
  devices,
  memberAvailability,
  positionPoints,
  pttChannels,
  pttEmergencies,
  pttRecordings,
  qualifications,
  recoveryCodes,
  units,
  userQualifications,
  userUnits,
  webauthnCredentials,
} from '../../db/schema.ts';
import { toAuditRecord } from '../audit/repository.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import { connectionsOfUser } from '../connections/repository.ts';
import { findTenant } from '../tenants/repository.ts';
import { findUser } from '../users/repository.ts';
import type { CategoryKey, DataExport, PrivacyCategory, PrivacyInfo } from './schemas.ts';

/**
 * What is stored about a user, by category, and which permission lets others see it.
 * Retention `null` means "as long as the account exists"; the others name the tenant
 * setting that bounds them. Generated from the real settings and the permission matrix,
 * so the notice cannot drift from what the system does.
 */
const CATEGORIES: ReadonlyArray<{
  key: CategoryKey;
  fields: string[];
  permission: Permission;
  retention:
    | null
    | 'connectionDays'
    | 'auditDays'
    | 'inactiveDeviceDays'
    | 'alarmDays'
    | 'trackHours'
    | 'recordingDays'
    | 'chatDays';
}> = [
  {
    key: 'profile',
    fields: ['displayName', 'role', 'units', 'qualifications', 'active'],
    permission: 'directory.read',
    retention: null,
  },
  {
    key: 'account',
    fields: ['email', 'locale', 'passwordHash', 'lastLoginAt', 'createdAt'],
    permission: 'users.read_private',
    retention: null,
  },
  {
    key: 'second_factors',
    fields: ['totpSecret', 'recoveryCodeHashes', 'passkeyPublicKeys'],
    permission: 'users.read_private',
    retention: null,
  },
  {
    key: 'devices',
    fields: ['deviceName', 'userAgent', 'lastIp', 'lastSeenAt', 'createdAt', 'revokedAt'],
    permission: 'devices.manage',
    retention: 'inactiveDeviceDays',
  },
  {
    key: 'connections',
    fields: ['ip', 'userAgent', 'deviceId', 'connectedAt', 'disconnectedAt'],
    permission: 'connections.read',
    retention: 'connectionDays',
  },
  {
    key: 'audit',
    fields: ['action', 'at', 'ip', 'deviceId', 'target', 'details'],
    permission: 'audit.read',
    retention: 'auditDays',
  },
  {
    key: 'alarms',
    fields: ['alarmsReceived', 'deliveredAt', 'readAt', 'response', 'etaMinutes', 'respondedAt'],
    permission: 'alarms.board',
    retention: 'alarmDays',
  },
  {
    key: 'availability',
    fields: ['status', 'until', 'weeklyPlan'],
    permission: 'availability.read',
    retention: null,
  },
  {
    key: 'positions',
    fields: [
      'lat',
      'lon',
      'accuracy',
      'heading',
      'speed',
      'recordedAt',
      'areasInside',
      'onlyWhileSharing',
    ],
    permission: 'alarms.board',
    retention: 'trackHours',
  },
  {
    // Recorded transmissions (recorded channels only) and emergency calls; emergency calls
    // are kept like alarms, recordings for the recording period shown here.
    key: 'ptt',
    fields: ['recordedTransmissions', 'emergencyCalls', 'emergencyPosition'],
    permission: 'ptt.manage',
    retention: 'recordingDays',
  },
  {
    // End-to-end encrypted: the server keeps who talks in which conversation, when and how
    // much, and devices' public keys — never content, which it cannot read. Auditors see
    // this metadata; messages and attachments go after the chat period.
    key: 'chat',
    fields: ['conversations', 'messageMetadata', 'attachmentMetadata', 'deviceKeys'],
    permission: 'chat.metadata',
    retention: 'chatDays',
  },
];

/** The privacy notice for the signed-in user, from their tenant's settings. */
export async function privacyInfo(db: Db, tenantId: string): Promise<PrivacyInfo> {
  const tenant = await findTenant(db, tenantId);
  const retention = {
    connectionDays: tenant.retentionConnectionDays,
    auditDays: tenant.retentionAuditDays,
    inactiveDeviceDays: tenant.retentionInactiveDeviceDays,
    alarmDays: tenant.retentionAlarmDays,
    trackHours: tenant.retentionTrackHours,
    recordingDays: tenant.retentionRecordingDays,
    chatDays: tenant.retentionChatDays,
  };
  const categories: PrivacyCategory[] = CATEGORIES.map((c) => ({
    key: c.key,
    fields: c.fields,
    ...(c.retention === 'trackHours'
      ? { retention: null, retentionHours: retention.trackHours }
      : { retention: c.retention === null ? null : retention[c.retention] }),
    visibleTo: [...(PERMISSION_MATRIX[c.permission] as readonly Role[])],
  }));
  return { tenantName: tenant.name, retention, categories };
}

/** Records that the user looked at what is stored about them. */
export async function recordPrivacyView(
  db: Db,
  tenantId: string,
  actor: AuditActor & { userId: string },
): Promise<void> {
  await recordAudit(db, tenantId, {
    action: 'privacy.info_viewed',
    actor,
    target: { type: 'user', id: actor.userId },
  });
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/**
 * Everything stored about the caller, for download (right of access). Secrets are
 * described, not included: no password hash, TOTP secret, recovery code hashes, token
 * hashes or passkey public keys. The download itself is audited first, so it shows in
 * the file.
 * @throws AppError USER_NOT_FOUND
 */
export async function exportUserData(
  db: Db,
  tenantId: string,
  actor: AuditActor & { userId: string },
): Promise<DataExport> {
  const userId = actor.userId;
  await recordAudit(db, tenantId, {
    action: 'privacy.export_downloaded',
    actor,
    target: { type: 'user', id: userId },
  });
  const [user, tenant] = await Promise.all([
    findUser(db, tenantId, userId),
    findTenant(db, tenantId),
  ]);
  const [unitRows, qualificationRows, deviceRows, passkeyRows, codeRows, connectionRows] =
    await Promise.all([
      db
        .select({ id: units.id, name: units.name })
        .from(userUnits)
        .innerJoin(units, and(eq(units.id, userUnits.unitId), eq(units.tenantId, tenantId)))
        .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.userId, userId)))
        .orderBy(asc(units.name)),
      db
        .select({ id: qualifications.id, name: qualifications.name })
        .from(userQualifications)
        .innerJoin(
          qualifications,
          and(
            eq(qualifications.id, userQualifications.qualificationId),
            eq(qualifications.tenantId, tenantId),
          ),
        )
        .where(
          and(eq(userQualifications.tenantId, tenantId), eq(userQualifications.userId, userId)),
        )
        .orderBy(asc(qualifications.name)),
      db
        .select()
        .from(devices)
        .where(and(eq(devices.tenantId, tenantId), eq(devices.userId, userId)))
        .orderBy(asc(devices.createdAt)),
      db
        .select()
        .from(webauthnCredentials)
        .where(
          and(eq(webauthnCredentials.tenantId, tenantId), eq(webauthnCredentials.userId, userId)),
        )
        .orderBy(asc(webauthnCredentials.createdAt)),
      db
        .select({ createdAt: recoveryCodes.createdAt, usedAt: recoveryCodes.usedAt })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.tenantId, tenantId), eq(recoveryCodes.userId, userId)))
        .orderBy(asc(recoveryCodes.createdAt)),
      connectionsOfUser(db, tenantId, userId),
    ]);

  const deviceIds = deviceRows.map((d) => d.id);
  const auditRows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenantId, tenantId),
        or(
          eq(auditLog.actorUserId, userId),
          and(eq(auditLog.targetType, 'user'), eq(auditLog.targetId, userId)),
          deviceIds.length === 0
            ? undefined
            : and(eq(auditLog.targetType, 'device'), inArray(auditLog.targetId, deviceIds)),
        ),
      ),
    )
    .orderBy(asc(auditLog.seq));

  const [alarmRows, availabilityRows, pointRows] = await Promise.all([
    db
      .select({ alarm: alarms, mine: alarmRecipients })
      .from(alarmRecipients)
      .innerJoin(alarms, eq(alarms.id, alarmRecipients.alarmId))
      .where(and(eq(alarmRecipients.tenantId, tenantId), eq(alarmRecipients.userId, userId)))
      .orderBy(asc(alarms.createdAt)),
    db
      .select()
      .from(memberAvailability)
      .where(and(eq(memberAvailability.tenantId, tenantId), eq(memberAvailability.userId, userId))),
    db
      .select()
      .from(positionPoints)
      .where(and(eq(positionPoints.tenantId, tenantId), eq(positionPoints.userId, userId)))
      .orderBy(asc(positionPoints.recordedAt)),
  ]);
  const availability = availabilityRows[0];
  const [recordingRows, emergencyRows] = await Promise.all([
    db
      .select({ recording: pttRecordings, channelName: pttChannels.name })
      .from(pttRecordings)
      .leftJoin(pttChannels, eq(pttChannels.id, pttRecordings.channelId))
      .where(and(eq(pttRecordings.tenantId, tenantId), eq(pttRecordings.talkerUserId, userId)))
      .orderBy(asc(pttRecordings.startedAt)),
    db
      .select({ emergency: pttEmergencies, channelName: pttChannels.name })
      .from(pttEmergencies)
      .leftJoin(pttChannels, eq(pttChannels.id, pttEmergencies.channelId))
      .where(and(eq(pttEmergencies.tenantId, tenantId), eq(pttEmergencies.userId, userId)))
      .orderBy(asc(pttEmergencies.raisedAt)),
  ]);

  // Metadata only: the payload column holds ciphertext the server cannot read.
  const [conversationRows, messageRows] = await Promise.all([
    db
      .select({
        id: chatConversations.id,
        kind: chatConversations.kind,
        title: chatConversations.title,
        joinedAt: chatMembers.joinedAt,
      })
      .from(chatMembers)
      .innerJoin(
        chatConversations,
        and(
          eq(chatConversations.id, chatMembers.conversationId),
          eq(chatConversations.tenantId, tenantId),
        ),
      )
      .where(and(eq(chatMembers.tenantId, tenantId), eq(chatMembers.userId, userId)))
      .orderBy(asc(chatMembers.joinedAt)),
    db
      .select({
        conversationId: chatMessages.conversationId,
        seq: chatMessages.seq,
        kind: chatMessages.kind,
        size: chatMessages.size,
        createdAt: chatMessages.createdAt,
      })
      .from(chatMessages)
      .where(and(eq(chatMessages.tenantId, tenantId), eq(chatMessages.senderUserId, userId)))
      .orderBy(asc(chatMessages.createdAt), asc(chatMessages.seq)),
  ]);

  return {
    exportedAt: new Date().toISOString(),
    alarms: alarmRows.map(({ alarm, mine }) => ({
      alarmId: alarm.id,
      keyword: alarm.keyword,
      createdAt: alarm.createdAt.toISOString(),
      sentAt: mine.sentAt.toISOString(),
      deliveredAt: iso(mine.deliveredAt),
      readAt: iso(mine.readAt),
      response: mine.response,
      etaMinutes: mine.etaMinutes,
      respondedAt: iso(mine.respondedAt),
    })),
    availability: availability
      ? {
          status: availability.status,
          until: iso(availability.until),
          weeklyPlan: availability.schedule ?? [],
        }
      : null,
    positions: pointRows.map((p) => ({
      lat: p.lat,
      lon: p.lon,
      accuracyM: p.accuracyM,
      recordedAt: p.recordedAt.toISOString(),
    })),
    pttRecordings: recordingRows.map(({ recording, channelName }) => ({
      id: recording.id,
      channelId: recording.channelId,
      channelName: channelName ?? '',
      startedAt: recording.startedAt.toISOString(),
      durationMs: recording.durationMs,
      bytes: recording.bytes,
    })),
    pttEmergencies: emergencyRows.map(({ emergency, channelName }) => ({
      id: emergency.id,
      channelId: emergency.channelId,
      channelName: channelName ?? '',
      raisedAt: emergency.raisedAt.toISOString(),
      lat: emergency.lat,
      lon: emergency.lon,
      accuracyM: emergency.accuracyM,
      acknowledgedAt: iso(emergency.acknowledgedAt),
    })),
    account: {
      id: user.id,
      tenantId: user.tenantId,
      tenantName: tenant.name,
      email: user.email,
      displayName: user.displayName,
      role: user.role,
      isSuperadmin: user.isSuperadmin,
      active: user.active,
      locale: user.locale,
      hasPassword: user.passwordHash !== null,
      totpEnabledAt: iso(user.totpEnabledAt),
      lastLoginAt: iso(user.lastLoginAt),
      createdAt: user.createdAt.toISOString(),
      updatedAt: user.updatedAt.toISOString(),
    },
    units: unitRows,
    qualifications: qualificationRows,
    devices: deviceRows.map((d) => ({
      id: d.id,
      name: d.name,
      userAgent: d.userAgent,
      createdAt: d.createdAt.toISOString(),
      lastSeenAt: d.lastSeenAt.toISOString(),
      lastIp: d.lastIp,
      revokedAt: iso(d.revokedAt),
      revokeReason: d.revokeReason,
      wipeRequested: d.wipeRequested,
      wipeConfirmedAt: iso(d.wipeConfirmedAt),
    })),
    passkeys: passkeyRows.map((p) => ({
      id: p.id,
      name: p.name,
      createdAt: p.createdAt.toISOString(),
      lastUsedAt: iso(p.lastUsedAt),
      transports: p.transports,
      backedUp: p.backedUp,
    })),
    recoveryCodes: codeRows.map((c) => ({
      createdAt: c.createdAt.toISOString(),
      usedAt: iso(c.usedAt),
    })),
    // Where someone else acted on the user (an admin), that person's address and device
    // are their personal data, not the user's: left out.
    auditRecords: auditRows.map((row) => {
      const record = toAuditRecord(row);
      return row.actorUserId === userId
        ? record
        : { ...record, actorIp: null, actorDeviceId: null };
    }),
    connections: connectionRows.map((c) => ({
      id: c.id,
      deviceId: c.deviceId,
      ip: c.ip,
      userAgent: c.userAgent,
      connectedAt: c.connectedAt.toISOString(),
      disconnectedAt: iso(c.disconnectedAt),
      disconnectReason: c.disconnectReason,
    })),
    chat: {
      conversations: conversationRows.map((c) => ({ ...c, joinedAt: c.joinedAt.toISOString() })),
      messagesSent: messageRows.map((m) => ({ ...m, createdAt: m.createdAt.toISOString() })),
    },
  };
}
