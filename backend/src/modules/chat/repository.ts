import { and, eq, gt, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { ChatConversation, ChatDevice, ChatEnvelope, ChatMember } from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  chatConversations,
  chatDeviceKeys,
  chatGroupDevices,
  chatMembers,
  chatMessages,
  devices,
  tenants,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';

export type ConversationRow = typeof chatConversations.$inferSelect;
export type MessageRow = typeof chatMessages.$inferSelect;

export const toEnvelope = (row: MessageRow): ChatEnvelope => ({
  id: row.id,
  conversationId: row.conversationId,
  seq: row.seq,
  kind: row.kind,
  epoch: row.epoch,
  senderUserId: row.senderUserId,
  senderDeviceId: row.senderDeviceId,
  payload: row.payload,
  createdAt: row.createdAt.toISOString(),
});

/**
 * The conversation if the user is one of its members — otherwise, like an unknown id or
 * another tenant's, CHAT_CONVERSATION_NOT_FOUND (no hint that it exists).
 * `forUpdate` locks the conversation row: every write that takes a seq or an epoch holds
 * it, which is what makes "one commit per epoch" and gap-free seqs true on every node.
 * @throws AppError CHAT_CONVERSATION_NOT_FOUND
 */
export async function conversationOfMember(
  db: DbOrTx,
  tenantId: string,
  conversationId: string,
  userId: string,
  forUpdate = false,
): Promise<ConversationRow> {
  const query = db
    .select({ conversation: chatConversations })
    .from(chatConversations)
    .innerJoin(
      chatMembers,
      and(eq(chatMembers.conversationId, chatConversations.id), eq(chatMembers.userId, userId)),
    )
    .where(and(eq(chatConversations.tenantId, tenantId), eq(chatConversations.id, conversationId)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw appError('CHAT_CONVERSATION_NOT_FOUND');
  return row.conversation;
}

export async function groupDevice(
  db: DbOrTx,
  conversationId: string,
  deviceId: string,
): Promise<typeof chatGroupDevices.$inferSelect | undefined> {
  const [row] = await db
    .select()
    .from(chatGroupDevices)
    .where(
      and(
        eq(chatGroupDevices.conversationId, conversationId),
        eq(chatGroupDevices.deviceId, deviceId),
      ),
    );
  return row;
}

/** Signed-in devices (not revoked) of these users that registered chat keys. */
export async function chatCapableDevices(
  db: DbOrTx,
  tenantId: string,
  userIds: string[],
): Promise<ChatDevice[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .select({
      deviceId: devices.id,
      userId: devices.userId,
      label: devices.name,
      signaturePublicKey: chatDeviceKeys.signaturePublicKey,
    })
    .from(devices)
    .innerJoin(chatDeviceKeys, eq(chatDeviceKeys.deviceId, devices.id))
    .where(
      and(
        eq(devices.tenantId, tenantId),
        inArray(devices.userId, userIds),
        isNull(devices.revokedAt),
      ),
    );
  return rows;
}

/** Member user ids of a conversation. */
export async function memberIds(db: DbOrTx, conversationId: string): Promise<string[]> {
  const rows = await db
    .select({ userId: chatMembers.userId })
    .from(chatMembers)
    .where(eq(chatMembers.conversationId, conversationId));
  return rows.map((r) => r.userId);
}

/** Conversation ids a user belongs to. */
export async function conversationIdsOfUser(
  db: DbOrTx,
  tenantId: string,
  userId: string,
): Promise<string[]> {
  const rows = await db
    .select({ id: chatMembers.conversationId })
    .from(chatMembers)
    .where(and(eq(chatMembers.tenantId, tenantId), eq(chatMembers.userId, userId)));
  return rows.map((r) => r.id);
}

export async function tenantChatSettings(
  db: DbOrTx,
  tenantId: string,
): Promise<{ retentionChatDays: number; chatUploadMb: number }> {
  const [row] = await db
    .select({ retentionChatDays: tenants.retentionChatDays, chatUploadMb: tenants.chatUploadMb })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return row ?? { retentionChatDays: 30, chatUploadMb: 25 };
}

/**
 * The conversations as `viewerId` sees them: members, the MLS group's devices and the
 * devices still to add or remove (the reconcile work any member device may do), unread
 * counts. A handful of queries for any number of conversations.
 */
export async function describeConversations(
  db: DbOrTx,
  tenantId: string,
  viewerId: string,
  rows: ConversationRow[],
): Promise<ChatConversation[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const settings = await tenantChatSettings(db, tenantId);
  const memberRows = await db
    .select({
      conversationId: chatMembers.conversationId,
      userId: chatMembers.userId,
      role: chatMembers.role,
      readSeq: chatMembers.readSeq,
      displayName: users.displayName,
    })
    .from(chatMembers)
    .innerJoin(users, eq(users.id, chatMembers.userId))
    .where(inArray(chatMembers.conversationId, ids));
  const inGroup = await db
    .select({
      conversationId: chatGroupDevices.conversationId,
      deviceId: chatGroupDevices.deviceId,
      userId: chatGroupDevices.userId,
      label: devices.name,
      signaturePublicKey: chatDeviceKeys.signaturePublicKey,
    })
    .from(chatGroupDevices)
    .leftJoin(devices, eq(devices.id, chatGroupDevices.deviceId))
    .leftJoin(chatDeviceKeys, eq(chatDeviceKeys.deviceId, chatGroupDevices.deviceId))
    .where(inArray(chatGroupDevices.conversationId, ids));
  const unreadRows = await db
    .select({
      conversationId: chatMessages.conversationId,
      unread: sql<number>`count(*)`.mapWith(Number),
    })
    .from(chatMessages)
    .innerJoin(
      chatMembers,
      and(
        eq(chatMembers.conversationId, chatMessages.conversationId),
        eq(chatMembers.userId, viewerId),
      ),
    )
    .where(
      and(
        inArray(chatMessages.conversationId, ids),
        eq(chatMessages.kind, 'application'),
        ne(chatMessages.senderUserId, viewerId),
        gt(chatMessages.seq, chatMembers.readSeq),
      ),
    )
    .groupBy(chatMessages.conversationId);
  const allMemberIds = [...new Set(memberRows.map((m) => m.userId))];
  const capable = await chatCapableDevices(db, tenantId, allMemberIds);
  const unread = new Map(unreadRows.map((r) => [r.conversationId, r.unread]));

  return rows.map((row) => {
    const members = memberRows.filter((m) => m.conversationId === row.id);
    const memberSet = new Set(members.map((m) => m.userId));
    const group = inGroup.filter((d) => d.conversationId === row.id);
    const groupIds = new Set(group.map((d) => d.deviceId));
    const wanted = capable.filter((d) => memberSet.has(d.userId));
    const wantedIds = new Set(wanted.map((d) => d.deviceId));
    const asDevice = (d: (typeof group)[number]): ChatDevice => ({
      deviceId: d.deviceId,
      userId: d.userId,
      label: d.label ?? '',
      signaturePublicKey: d.signaturePublicKey,
    });
    const viewer = members.find((m) => m.userId === viewerId);
    return {
      id: row.id,
      kind: row.kind,
      title: row.title,
      unitId: row.unitId,
      followUnit: row.followUnit,
      alarmId: row.alarmId,
      members: members.map((m): ChatMember => ({
        userId: m.userId,
        displayName: m.displayName,
        role: m.role,
      })),
      epoch: row.epoch,
      lastSeq: row.lastSeq,
      readSeq: viewer?.readSeq ?? 0,
      unread: unread.get(row.id) ?? 0,
      retentionDays: Math.min(settings.retentionChatDays, row.retentionDays ?? Infinity),
      devices: group.map(asDevice),
      pending: {
        // Nothing to add before the group exists: its creator adds everyone at once.
        add: wanted.filter((d) => !groupIds.has(d.deviceId)),
        remove: group.filter((d) => !wantedIds.has(d.deviceId)).map(asDevice),
      },
      archived: row.archivedAt !== null,
      createdAt: row.createdAt.toISOString(),
    };
  });
}
