import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { and, asc, count, eq, gt, inArray, isNull, lte, sql } from 'drizzle-orm';
import {
  CHAT_EVENTS,
  CHAT_LIMITS,
  type ChatClaimedKeyPackage,
  type ChatConversation,
  type ChatEnvelope,
  type ChatReceipt,
  type ChatWelcome,
} from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import {
  alarmRecipients,
  alarms,
  chatBlobs,
  chatConversations,
  chatDeviceKeys,
  chatGroupDevices,
  chatKeyPackages,
  chatMembers,
  chatMessages,
  chatWelcomes,
  devices,
  units,
  userUnits,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { WIRE, isMlsMessage } from './mls-wire.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { userRoom } from '../../realtime/gateway.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { withSubUnits } from '../alarms/targets.ts';
import { recordAudit } from '../audit/service.ts';
import {
  chatCapableDevices,
  conversationIdsOfUser,
  conversationOfMember,
  describeConversations,
  groupDevice,
  memberIds,
  tenantChatSettings,
  toEnvelope,
  type ConversationRow,
} from './repository.ts';
import type {
  CommitBody,
  ConversationCreateBody,
  ConversationPatchBody,
  KeyPackageUploadBody,
} from './schemas.ts';

/*
 * The chat delivery service. Invariants:
 * - Every write that takes a seq or moves the epoch holds the conversation row lock
 *   (SELECT … FOR UPDATE), so seqs have no gaps and exactly one commit wins per epoch,
 *   with one backend node or several.
 * - Everything is committed before it is pushed; the socket push is only the fast path,
 *   `GET …/messages?after=` is the truth.
 * - Nothing here can read content: payloads are base64 MLS messages, blobs are AES-GCM
 *   ciphertext made on a client.
 */

const decode64 = (value: string): Buffer => Buffer.from(value, 'base64');

async function toConversations(
  db: DbOrTx,
  auth: AuthContext,
  rows: ConversationRow[],
): Promise<ChatConversation[]> {
  return describeConversations(db, auth.tenantId, auth.userId, rows);
}

/** Tells every member's devices to reload the conversation (membership, pending devices). */
export function announceChanged(app: FastifyInstance, conversationId: string, userIds: string[]) {
  if (userIds.length === 0) return;
  app.io.to(userIds.map(userRoom)).emit(CHAT_EVENTS.changed, { conversationId });
}

export async function listConversations(
  app: FastifyInstance,
  auth: AuthContext,
): Promise<ChatConversation[]> {
  const rows = await app.db
    .select({ conversation: chatConversations })
    .from(chatConversations)
    .innerJoin(
      chatMembers,
      and(
        eq(chatMembers.conversationId, chatConversations.id),
        eq(chatMembers.userId, auth.userId),
      ),
    )
    .where(eq(chatConversations.tenantId, auth.tenantId))
    .orderBy(asc(chatConversations.createdAt));
  return toConversations(
    app.db,
    auth,
    rows.map((r) => r.conversation),
  );
}

export async function getConversation(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
): Promise<ChatConversation> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  const [conversation] = await toConversations(app.db, auth, [row]);
  return conversation!;
}

/** Active users of the tenant among `userIds`. @throws AppError USER_NOT_FOUND */
async function assertUsers(db: DbOrTx, tenantId: string, userIds: string[]): Promise<void> {
  const unique = [...new Set(userIds)];
  if (unique.length === 0) return;
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), inArray(users.id, unique), eq(users.active, true)));
  if (rows.length !== unique.length) throw appError('USER_NOT_FOUND');
}

async function unitMemberIds(db: DbOrTx, tenantId: string, unitId: string): Promise<string[]> {
  const unitIds = await withSubUnits(db, tenantId, [unitId]);
  const rows = await db
    .select({ userId: userUnits.userId })
    .from(userUnits)
    .innerJoin(users, eq(users.id, userUnits.userId))
    .where(
      and(
        eq(userUnits.tenantId, tenantId),
        inArray(userUnits.unitId, unitIds),
        eq(users.active, true),
      ),
    );
  return [...new Set(rows.map((r) => r.userId))];
}

/**
 * Creates a conversation (no MLS group yet: the first member device that sees it creates
 * the group and adds everyone). A 1:1 conversation that exists already is returned as is
 * (`created: false`), so "write to Max" never makes a second one.
 * @throws AppError USER_NOT_FOUND, UNIT_NOT_FOUND, AUTH_FORBIDDEN, VALIDATION_FAILED
 */
export async function createConversation(
  app: FastifyInstance,
  auth: AuthContext,
  body: ConversationCreateBody,
  canManage: boolean,
): Promise<{ conversation: ChatConversation; created: boolean }> {
  const { tenantId } = auth;
  const others = [...new Set(body.userIds ?? [])].filter((id) => id !== auth.userId);
  let memberUserIds: string[];
  let title: string | null = body.title ?? null;
  let directKey: string | null = null;
  if (body.unitId !== undefined && body.kind !== 'unit') {
    throw appError('VALIDATION_FAILED', 'Only a unit chat names a unit.');
  }
  if (body.kind === 'direct') {
    if (others.length !== 1 || (body.userIds ?? []).length !== 1) {
      throw appError('VALIDATION_FAILED', 'A 1:1 conversation needs exactly one other person.');
    }
    await assertUsers(app.db, tenantId, others);
    directKey = [auth.userId, others[0]!].sort().join(':');
    title = null;
    memberUserIds = [auth.userId, others[0]!];
  } else if (body.kind === 'group') {
    if (!title) throw appError('VALIDATION_FAILED', 'A group needs a name.');
    await assertUsers(app.db, tenantId, others);
    memberUserIds = [auth.userId, ...others];
  } else {
    if (!canManage) throw appError('AUTH_FORBIDDEN');
    if (!body.unitId) throw appError('VALIDATION_FAILED', 'A unit chat needs a unit.');
    const [unit] = await app.db
      .select({ name: units.name })
      .from(units)
      .where(and(eq(units.tenantId, tenantId), eq(units.id, body.unitId)));
    if (!unit) throw appError('UNIT_NOT_FOUND');
    title = title ?? unit.name;
    memberUserIds = [
      ...new Set([auth.userId, ...(await unitMemberIds(app.db, tenantId, body.unitId))]),
    ];
  }
  if (memberUserIds.length > CHAT_LIMITS.members) {
    throw appError(
      'VALIDATION_FAILED',
      `A conversation has at most ${CHAT_LIMITS.members} members.`,
    );
  }
  const id = newId();
  const now = new Date();
  try {
    await app.db.transaction(async (tx) => {
      await tx.insert(chatConversations).values({
        id,
        tenantId,
        kind: body.kind,
        title,
        unitId: body.kind === 'unit' ? body.unitId! : null,
        followUnit: body.kind === 'unit',
        alarmId: null,
        directKey,
        retentionDays: body.retentionDays ?? null,
        epoch: null,
        lastSeq: 0,
        createdBy: auth.userId,
        archivedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await tx.insert(chatMembers).values(
        memberUserIds.map((userId) => ({
          conversationId: id,
          userId,
          tenantId,
          role: userId === auth.userId ? ('owner' as const) : ('member' as const),
          readSeq: 0,
          joinedAt: now,
        })),
      );
      await recordAudit(tx, tenantId, {
        action: 'chat.conversation_created',
        actor: { userId: auth.userId, deviceId: auth.deviceId },
        target: { type: 'chat_conversation', id },
        details: { kind: body.kind, members: memberUserIds.length },
      });
    });
  } catch (error) {
    if (directKey && isDuplicateKey(error)) {
      const [existing] = await app.db
        .select()
        .from(chatConversations)
        .where(
          and(eq(chatConversations.tenantId, tenantId), eq(chatConversations.directKey, directKey)),
        );
      if (existing) {
        const [conversation] = await toConversations(app.db, auth, [existing]);
        return { conversation: conversation!, created: false };
      }
    }
    throw error;
  }
  announceChanged(app, id, memberUserIds);
  return { conversation: await getConversation(app, auth, id), created: true };
}

/**
 * Renames a group, changes its members or retention (its owner or a chat manager).
 * Members of unit and alarm chats follow the unit or alarm.
 * @throws AppError CHAT_CONVERSATION_NOT_FOUND, AUTH_FORBIDDEN, CHAT_MEMBERS_MANAGED, USER_NOT_FOUND
 */
export async function updateConversation(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  body: ConversationPatchBody,
  canManage: boolean,
): Promise<ChatConversation> {
  const { tenantId } = auth;
  const before = await memberIdsOf(app, auth, conversationId);
  await app.db.transaction(async (tx) => {
    const row = await conversationOfMember(tx, tenantId, conversationId, auth.userId, true);
    const [me] = await tx
      .select({ role: chatMembers.role })
      .from(chatMembers)
      .where(and(eq(chatMembers.conversationId, row.id), eq(chatMembers.userId, auth.userId)));
    if (me?.role !== 'owner' && !canManage) throw appError('AUTH_FORBIDDEN');
    const changesMembers = (body.addUserIds?.length ?? 0) + (body.removeUserIds?.length ?? 0) > 0;
    if (changesMembers && row.kind !== 'group') throw appError('CHAT_MEMBERS_MANAGED');
    if (body.title !== undefined && row.kind === 'direct') {
      throw appError('VALIDATION_FAILED', 'A 1:1 conversation has no name.');
    }
    const add = [...new Set(body.addUserIds ?? [])].filter((id) => !before.includes(id));
    await assertUsers(tx, tenantId, add);
    if (before.length + add.length > CHAT_LIMITS.members) {
      throw appError(
        'VALIDATION_FAILED',
        `A conversation has at most ${CHAT_LIMITS.members} members.`,
      );
    }
    const now = new Date();
    if (add.length > 0) {
      await tx.insert(chatMembers).values(
        add.map((userId) => ({
          conversationId: row.id,
          userId,
          tenantId,
          role: 'member' as const,
          readSeq: row.lastSeq,
          joinedAt: now,
        })),
      );
    }
    const remove = (body.removeUserIds ?? []).filter((id) => before.includes(id));
    if (remove.length > 0) {
      await tx
        .delete(chatMembers)
        .where(and(eq(chatMembers.conversationId, row.id), inArray(chatMembers.userId, remove)));
    }
    await tx
      .update(chatConversations)
      .set({
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(body.retentionDays !== undefined ? { retentionDays: body.retentionDays } : {}),
        updatedAt: now,
      })
      .where(eq(chatConversations.id, row.id));
    await recordAudit(tx, tenantId, {
      action: 'chat.conversation_updated',
      actor: { userId: auth.userId, deviceId: auth.deviceId },
      target: { type: 'chat_conversation', id: row.id },
      details: { added: add.length, removed: remove.length, retentionDays: body.retentionDays },
    });
  });
  const after = await memberIds(app.db, conversationId);
  announceChanged(app, conversationId, [...new Set([...before, ...after])]);
  const gone = before.filter((id) => !after.includes(id));
  if (gone.length > 0) {
    app.io.to(gone.map(userRoom)).emit(CHAT_EVENTS.removed, { conversationId });
  }
  return getConversation(app, auth, conversationId);
}

async function memberIdsOf(app: FastifyInstance, auth: AuthContext, conversationId: string) {
  await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  return memberIds(app.db, conversationId);
}

/**
 * Leaves a group (1:1, unit and alarm chats follow their rule). The member's devices
 * then show up as `pending.remove` and the next member device commits their removal.
 * @throws AppError CHAT_CONVERSATION_NOT_FOUND, CHAT_MEMBERS_MANAGED
 */
export async function leaveConversation(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
): Promise<void> {
  const before = await memberIdsOf(app, auth, conversationId);
  await app.db.transaction(async (tx) => {
    const row = await conversationOfMember(tx, auth.tenantId, conversationId, auth.userId, true);
    if (row.kind !== 'group') throw appError('CHAT_MEMBERS_MANAGED');
    await tx
      .delete(chatMembers)
      .where(and(eq(chatMembers.conversationId, row.id), eq(chatMembers.userId, auth.userId)));
  });
  announceChanged(app, conversationId, before);
  app.io.to(userRoom(auth.userId)).emit(CHAT_EVENTS.removed, { conversationId });
}

// ---------------------------------------------------------------------------------------
// Key packages

/**
 * Stores a device's key packages (and its last-resort one, replacing the previous) and
 * its signature public key. A device registering keys for the first time becomes
 * pending in every conversation of its user, so those members are told.
 * @throws AppError CHAT_KEY_PACKAGE_INVALID
 */
export async function uploadKeyPackages(
  app: FastifyInstance,
  auth: AuthContext,
  body: KeyPackageUploadBody,
): Promise<{ available: number }> {
  const signatureKey = decode64(body.signaturePublicKey);
  if (signatureKey.length !== 32) throw appError('CHAT_KEY_PACKAGE_INVALID');
  const packages = body.keyPackages.map(decode64);
  const lastResort = body.lastResort ? decode64(body.lastResort) : null;
  for (const bytes of [...packages, ...(lastResort ? [lastResort] : [])]) {
    if (!isMlsMessage(bytes, [WIRE.keyPackage])) throw appError('CHAT_KEY_PACKAGE_INVALID');
  }
  const now = new Date();
  const row = (bytes: Buffer, isLastResort: boolean) => ({
    id: newId(),
    tenantId: auth.tenantId,
    deviceId: auth.deviceId,
    ref: createHash('sha256').update(bytes).digest('hex'),
    keyPackage: bytes.toString('base64'),
    lastResort: isLastResort,
    createdAt: now,
  });
  const firstKeys = await app.db.transaction(async (tx) => {
    // The upsert takes the device's row lock first, so two uploads of one device (a
    // refill racing the first one) run one after the other instead of deadlocking.
    const upserted = await tx
      .insert(chatDeviceKeys)
      .values({
        deviceId: auth.deviceId,
        tenantId: auth.tenantId,
        userId: auth.userId,
        signaturePublicKey: body.signaturePublicKey,
        createdAt: now,
      })
      .onDuplicateKeyUpdate({ set: { signaturePublicKey: body.signaturePublicKey } });
    const inserted = (upserted as unknown as [{ affectedRows: number }])[0].affectedRows === 1;
    const [{ unused }] = (await tx
      .select({ unused: count() })
      .from(chatKeyPackages)
      .where(
        and(eq(chatKeyPackages.deviceId, auth.deviceId), eq(chatKeyPackages.lastResort, false)),
      )) as [{ unused: number }];
    const room = Math.max(0, CHAT_LIMITS.keyPackagesPerUpload - unused);
    const fresh = packages.slice(0, room).map((bytes) => row(bytes, false));
    if (fresh.length > 0) await tx.insert(chatKeyPackages).ignore().values(fresh);
    if (lastResort) {
      await tx
        .delete(chatKeyPackages)
        .where(
          and(eq(chatKeyPackages.deviceId, auth.deviceId), eq(chatKeyPackages.lastResort, true)),
        );
      await tx.insert(chatKeyPackages).values(row(lastResort, true));
    }
    return inserted;
  });
  if (firstKeys) {
    for (const conversationId of await conversationIdsOfUser(app.db, auth.tenantId, auth.userId)) {
      announceChanged(app, conversationId, await memberIds(app.db, conversationId));
    }
  }
  return { available: await keyPackageCount(app, auth) };
}

export async function keyPackageCount(app: FastifyInstance, auth: AuthContext): Promise<number> {
  const [row] = await app.db
    .select({ n: count() })
    .from(chatKeyPackages)
    .where(and(eq(chatKeyPackages.deviceId, auth.deviceId), eq(chatKeyPackages.lastResort, false)));
  return row?.n ?? 0;
}

/**
 * Hands out one key package per device for adding it to a group: a one-time package
 * (deleted as it is handed out, SKIP LOCKED so two claimers never get the same one) or,
 * when none is left, the device's last-resort package. Devices of other tenants, revoked
 * devices and devices without keys are left out.
 */
export async function claimKeyPackages(
  app: FastifyInstance,
  auth: AuthContext,
  deviceIds: string[],
): Promise<ChatClaimedKeyPackage[]> {
  const targets = await app.db
    .select({ id: devices.id, userId: devices.userId })
    .from(devices)
    .where(
      and(
        eq(devices.tenantId, auth.tenantId),
        inArray(devices.id, [...new Set(deviceIds)]),
        isNull(devices.revokedAt),
      ),
    );
  // Unknown, revoked or another tenant's: the caller's view of the group is out of date.
  if (targets.length !== new Set(deviceIds).size) throw appError('DEVICE_NOT_FOUND');
  const claimed: ChatClaimedKeyPackage[] = [];
  for (const device of targets) {
    const one = await app.db.transaction(async (tx) => {
      const [oneTime] = await tx
        .select()
        .from(chatKeyPackages)
        .where(and(eq(chatKeyPackages.deviceId, device.id), eq(chatKeyPackages.lastResort, false)))
        .orderBy(asc(chatKeyPackages.createdAt))
        .limit(1)
        .for('update', { skipLocked: true });
      if (oneTime) {
        await tx.delete(chatKeyPackages).where(eq(chatKeyPackages.id, oneTime.id));
        return oneTime;
      }
      const [lastResort] = await tx
        .select()
        .from(chatKeyPackages)
        .where(and(eq(chatKeyPackages.deviceId, device.id), eq(chatKeyPackages.lastResort, true)));
      return lastResort;
    });
    if (one) {
      claimed.push({
        deviceId: device.id,
        userId: device.userId,
        ref: one.ref,
        keyPackage: one.keyPackage,
      });
    }
  }
  return claimed;
}

// ---------------------------------------------------------------------------------------
// Messages and commits

/** Moves the conversation to `seq` (and `epoch`); the sender has delivered and read it. */
async function advance(
  tx: DbOrTx,
  conversationId: string,
  seq: number,
  auth: AuthContext,
  set: { epoch: number },
): Promise<void> {
  await tx
    .update(chatConversations)
    .set({ lastSeq: seq, epoch: set.epoch })
    .where(eq(chatConversations.id, conversationId));
  await tx
    .update(chatGroupDevices)
    .set({ deliveredSeq: seq })
    .where(
      and(
        eq(chatGroupDevices.conversationId, conversationId),
        eq(chatGroupDevices.deviceId, auth.deviceId),
      ),
    );
  await tx
    .update(chatMembers)
    .set({ readSeq: seq })
    .where(
      and(eq(chatMembers.conversationId, conversationId), eq(chatMembers.userId, auth.userId)),
    );
}

/**
 * Accepts a commit if it was made in the group's current epoch (or creates the group:
 * epoch 0 on a conversation without one) — the first one wins, a later one for the same
 * epoch gets CHAT_EPOCH_CONFLICT. Records which devices the commit adds and removes and
 * stores one welcome per added device.
 * @throws AppError CHAT_CONVERSATION_NOT_FOUND, CHAT_NOT_IN_GROUP, CHAT_EPOCH_CONFLICT,
 *   VALIDATION_FAILED (adds a device that may not be in the group)
 */
export async function commitGroup(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  body: CommitBody,
): Promise<{ seq: number; epoch: number }> {
  const commitBytes = decode64(body.commit);
  if (!isMlsMessage(commitBytes, [WIRE.publicMessage, WIRE.privateMessage])) {
    throw appError('VALIDATION_FAILED', 'The commit is not an MLS message.');
  }
  if (
    body.adds.length > 0 &&
    (!body.welcome || !isMlsMessage(decode64(body.welcome), [WIRE.welcome]))
  ) {
    throw appError('VALIDATION_FAILED', 'Adding devices needs their welcome.');
  }
  const result = await app.db.transaction(async (tx) => {
    const row = await conversationOfMember(tx, auth.tenantId, conversationId, auth.userId, true);
    const creating = row.epoch === null;
    if (creating) {
      if (body.epoch !== 0 || body.removes.length > 0) {
        throw appError('CHAT_EPOCH_CONFLICT', undefined, { epoch: row.epoch });
      }
    } else {
      if (!(await groupDevice(tx, row.id, auth.deviceId))) throw appError('CHAT_NOT_IN_GROUP');
      if (body.epoch !== row.epoch)
        throw appError('CHAT_EPOCH_CONFLICT', undefined, { epoch: row.epoch });
    }
    const members = await memberIds(tx, row.id);
    const allowed = await chatCapableDevices(tx, auth.tenantId, members);
    const inGroup = await tx
      .select({ deviceId: chatGroupDevices.deviceId })
      .from(chatGroupDevices)
      .where(eq(chatGroupDevices.conversationId, row.id));
    const inGroupIds = new Set(inGroup.map((d) => d.deviceId));
    const addIds = body.adds.map((a) => a.deviceId);
    if (new Set(addIds).size !== addIds.length) {
      throw appError('VALIDATION_FAILED', 'A device is added twice.');
    }
    for (const add of body.adds) {
      if (inGroupIds.has(add.deviceId) || add.deviceId === auth.deviceId) {
        throw appError('VALIDATION_FAILED', 'A device is in the group already.');
      }
      if (!allowed.some((d) => d.deviceId === add.deviceId)) {
        throw appError(
          'VALIDATION_FAILED',
          'A device that is not a member device cannot be added.',
        );
      }
    }
    if (body.removes.some((id) => !inGroupIds.has(id) || id === auth.deviceId)) {
      throw appError('VALIDATION_FAILED', 'Only other devices in the group can be removed.');
    }
    const seq = row.lastSeq + 1;
    const epoch = body.epoch + 1;
    const now = new Date();
    const message = {
      id: newId(),
      tenantId: auth.tenantId,
      conversationId: row.id,
      seq,
      kind: 'commit' as const,
      epoch: body.epoch,
      senderUserId: auth.userId,
      senderDeviceId: auth.deviceId,
      clientId: null,
      payload: body.commit,
      size: commitBytes.length,
      createdAt: now,
    };
    await tx.insert(chatMessages).values(message);
    if (creating) {
      await tx.insert(chatGroupDevices).values({
        conversationId: row.id,
        deviceId: auth.deviceId,
        tenantId: auth.tenantId,
        userId: auth.userId,
        addedSeq: seq,
        deliveredSeq: seq,
      });
    }
    if (body.removes.length > 0) {
      await tx
        .delete(chatGroupDevices)
        .where(
          and(
            eq(chatGroupDevices.conversationId, row.id),
            inArray(chatGroupDevices.deviceId, body.removes),
          ),
        );
    }
    let welcomes: Array<typeof chatWelcomes.$inferSelect> = [];
    if (body.adds.length > 0) {
      await tx.insert(chatGroupDevices).values(
        body.adds.map((add) => ({
          conversationId: row.id,
          deviceId: add.deviceId,
          tenantId: auth.tenantId,
          userId: allowed.find((d) => d.deviceId === add.deviceId)!.userId,
          addedSeq: seq,
          deliveredSeq: seq,
        })),
      );
      welcomes = body.adds.map((add) => ({
        id: newId(),
        tenantId: auth.tenantId,
        conversationId: row.id,
        deviceId: add.deviceId,
        seq,
        epoch,
        keyPackageRef: add.ref,
        welcome: body.welcome!,
        ratchetTree: body.ratchetTree ?? null,
        createdAt: now,
      }));
      await tx.insert(chatWelcomes).values(welcomes);
    }
    await advance(tx, row.id, seq, auth, { epoch });
    return { message, members, welcomes, seq, epoch };
  });
  app.io.to(result.members.map(userRoom)).emit(CHAT_EVENTS.message, toEnvelope(result.message));
  for (const welcome of result.welcomes) {
    app.io.to(`device:${welcome.deviceId}`).emit(CHAT_EVENTS.welcome, toWelcome(welcome));
  }
  announceChanged(app, conversationId, result.members);
  return { seq: result.seq, epoch: result.epoch };
}

const toWelcome = (row: typeof chatWelcomes.$inferSelect): ChatWelcome => ({
  id: row.id,
  conversationId: row.conversationId,
  seq: row.seq,
  epoch: row.epoch,
  keyPackageRef: row.keyPackageRef,
  welcome: row.welcome,
  ratchetTree: row.ratchetTree,
});

/**
 * The messages after `after` for this device. A device reads only what was sent after
 * the commit that added it; a device that is not in the group gets CHAT_NOT_IN_GROUP.
 * Payloads already fetched by every device may have been dropped (empty string).
 */
export async function fetchMessages(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  after: number,
  limit: number,
): Promise<ChatEnvelope[]> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  const device = await groupDevice(app.db, row.id, auth.deviceId);
  if (!device) throw appError('CHAT_NOT_IN_GROUP');
  const rows = await app.db
    .select()
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.conversationId, row.id),
        gt(chatMessages.seq, Math.max(after, device.addedSeq)),
      ),
    )
    .orderBy(asc(chatMessages.seq))
    .limit(limit);
  return rows.map(toEnvelope);
}

export async function fetchWelcomes(
  app: FastifyInstance,
  auth: AuthContext,
): Promise<ChatWelcome[]> {
  const rows = await app.db
    .select()
    .from(chatWelcomes)
    .where(and(eq(chatWelcomes.tenantId, auth.tenantId), eq(chatWelcomes.deviceId, auth.deviceId)))
    .orderBy(asc(chatWelcomes.createdAt));
  return rows.map(toWelcome);
}

/** The device joined with the welcome (or gave up on it): forget it. */
export async function acknowledgeWelcome(
  app: FastifyInstance,
  auth: AuthContext,
  welcomeId: string,
): Promise<void> {
  await app.db
    .delete(chatWelcomes)
    .where(and(eq(chatWelcomes.id, welcomeId), eq(chatWelcomes.deviceId, auth.deviceId)));
}

/** This device has processed everything up to `seq` (never moves back). */
export async function markDelivered(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  seq: number,
): Promise<void> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  const upTo = Math.min(seq, row.lastSeq);
  await app.db
    .update(chatGroupDevices)
    .set({ deliveredSeq: sql`GREATEST(${chatGroupDevices.deliveredSeq}, ${upTo})` })
    .where(
      and(
        eq(chatGroupDevices.conversationId, row.id),
        eq(chatGroupDevices.deviceId, auth.deviceId),
      ),
    );
}

/** The member has seen everything up to `seq`; the other members see the read receipt. */
export async function markRead(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  seq: number,
): Promise<void> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  const upTo = Math.min(seq, row.lastSeq);
  await app.db
    .update(chatMembers)
    .set({ readSeq: sql`GREATEST(${chatMembers.readSeq}, ${upTo})` })
    .where(and(eq(chatMembers.conversationId, row.id), eq(chatMembers.userId, auth.userId)));
  const members = await memberIds(app.db, row.id);
  app.io
    .to(members.map(userRoom))
    .emit(CHAT_EVENTS.read, { conversationId: row.id, userId: auth.userId, seq: upTo });
}

/**
 * Delivery and read state of messages `from`..`to` (at most 500), counted from the
 * devices' and members' positions — so it needs no row per message and reader.
 */
export async function receipts(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  from: number,
  to: number,
): Promise<ChatReceipt[]> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  const last = Math.min(to, from + CHAT_LIMITS.pageSize - 1);
  const messages = await app.db
    .select({ seq: chatMessages.seq, sender: chatMessages.senderUserId })
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.conversationId, row.id),
        eq(chatMessages.kind, 'application'),
        gt(chatMessages.seq, from - 1),
        lte(chatMessages.seq, last),
      ),
    );
  const groupRows = await app.db
    .select({ userId: chatGroupDevices.userId, delivered: chatGroupDevices.deliveredSeq })
    .from(chatGroupDevices)
    .where(eq(chatGroupDevices.conversationId, row.id));
  const memberRows = await app.db
    .select({ userId: chatMembers.userId, read: chatMembers.readSeq })
    .from(chatMembers)
    .where(eq(chatMembers.conversationId, row.id));
  return messages.map((m) => {
    const otherDevices = groupRows.filter((d) => d.userId !== m.sender);
    const otherMembers = memberRows.filter((u) => u.userId !== m.sender);
    return {
      seq: m.seq,
      delivered: otherDevices.filter((d) => d.delivered >= m.seq).length,
      read: otherMembers.filter((u) => u.read >= m.seq).length,
      devices: otherDevices.length,
      members: otherMembers.length,
    };
  });
}

// ---------------------------------------------------------------------------------------
// Encrypted attachments

const blobPath = (dir: string, tenantId: string, blobId: string) => join(dir, tenantId, blobId);

/**
 * Stores an encrypted attachment (opaque bytes) for a conversation.
 * @throws AppError CHAT_CONVERSATION_NOT_FOUND, CHAT_NOT_IN_GROUP, CHAT_BLOB_TOO_LARGE
 */
export async function saveBlob(
  app: FastifyInstance,
  auth: AuthContext,
  conversationId: string,
  bytes: Buffer,
): Promise<{ blobId: string; size: number }> {
  const row = await conversationOfMember(app.db, auth.tenantId, conversationId, auth.userId);
  if (!(await groupDevice(app.db, row.id, auth.deviceId))) throw appError('CHAT_NOT_IN_GROUP');
  const { chatUploadMb } = await tenantChatSettings(app.db, auth.tenantId);
  if (bytes.length > chatUploadMb * 1024 * 1024) {
    throw appError('CHAT_BLOB_TOO_LARGE', undefined, { maxMb: chatUploadMb });
  }
  if (bytes.length === 0) throw appError('VALIDATION_FAILED', 'The attachment is empty.');
  const blobId = newId();
  const file = blobPath(app.config.chatBlobsDir, auth.tenantId, blobId);
  await mkdir(join(app.config.chatBlobsDir, auth.tenantId), { recursive: true });
  // File first, row second: a crash in between leaves an orphan file (swept by
  // retention), never a row without its bytes.
  await writeFile(file, bytes, { flag: 'wx' });
  try {
    await app.db.insert(chatBlobs).values({
      id: blobId,
      tenantId: auth.tenantId,
      conversationId: row.id,
      uploaderUserId: auth.userId,
      uploaderDeviceId: auth.deviceId,
      size: bytes.length,
      createdAt: new Date(),
    });
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { blobId, size: bytes.length };
}

/** @throws AppError CHAT_BLOB_NOT_FOUND (also for a conversation the caller is not in) */
export async function readBlob(
  app: FastifyInstance,
  auth: AuthContext,
  blobId: string,
): Promise<Buffer> {
  const [blob] = await app.db
    .select()
    .from(chatBlobs)
    .innerJoin(
      chatMembers,
      and(
        eq(chatMembers.conversationId, chatBlobs.conversationId),
        eq(chatMembers.userId, auth.userId),
      ),
    )
    .where(and(eq(chatBlobs.tenantId, auth.tenantId), eq(chatBlobs.id, blobId)));
  if (!blob) throw appError('CHAT_BLOB_NOT_FOUND');
  try {
    return await readFile(blobPath(app.config.chatBlobsDir, auth.tenantId, blobId));
  } catch {
    throw appError('CHAT_BLOB_NOT_FOUND');
  }
}

/** Deletes blob files (rows are deleted by the caller). */
export async function deleteBlobFiles(
  dir: string,
  blobs: Array<{ tenantId: string; id: string }>,
): Promise<void> {
  for (const blob of blobs) await rm(blobPath(dir, blob.tenantId, blob.id), { force: true });
}

/** Whether the blob store holds a file (tests and the retention check use it). */
export async function blobFileExists(dir: string, tenantId: string, blobId: string) {
  try {
    await (await open(blobPath(dir, tenantId, blobId))).close();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Membership that follows units and alarms; revoked devices

/** Brings the members of every unit chat of the tenant in line with its unit tree. */
export async function syncUnitChats(app: FastifyInstance, tenantId: string): Promise<void> {
  const followers = await app.db
    .select()
    .from(chatConversations)
    .where(
      and(
        eq(chatConversations.tenantId, tenantId),
        eq(chatConversations.followUnit, true),
        isNull(chatConversations.archivedAt),
      ),
    );
  for (const conversation of followers) {
    const wanted = new Set(await unitMemberIds(app.db, tenantId, conversation.unitId!));
    if (conversation.createdBy) wanted.add(conversation.createdBy);
    await setMembers(app, conversation, [...wanted]);
  }
}

/** Adds and removes member rows so that exactly `wanted` are members; tells everyone. */
async function setMembers(app: FastifyInstance, conversation: ConversationRow, wanted: string[]) {
  const current = await memberIds(app.db, conversation.id);
  const add = wanted.filter((id) => !current.includes(id));
  const remove = current.filter((id) => !wanted.includes(id));
  if (add.length === 0 && remove.length === 0) return;
  const now = new Date();
  await app.db.transaction(async (tx) => {
    if (add.length > 0) {
      await tx
        .insert(chatMembers)
        .ignore()
        .values(
          add.map((userId) => ({
            conversationId: conversation.id,
            userId,
            tenantId: conversation.tenantId,
            role: 'member' as const,
            readSeq: conversation.lastSeq,
            joinedAt: now,
          })),
        );
    }
    if (remove.length > 0) {
      await tx
        .delete(chatMembers)
        .where(
          and(eq(chatMembers.conversationId, conversation.id), inArray(chatMembers.userId, remove)),
        );
    }
  });
  announceChanged(app, conversation.id, [...new Set([...current, ...add])]);
  if (remove.length > 0) {
    app.io.to(remove.map(userRoom)).emit(CHAT_EVENTS.removed, { conversationId: conversation.id });
  }
}

/**
 * The alarm hook: an alarm raised from a template that opens a chat gets a conversation
 * for its recipients and the dispatcher who raised it; members alerted later join; the
 * chat is archived (kept readable, by retention) when the alarm closes.
 */
export async function onAlarmChanged(
  app: FastifyInstance,
  event: { tenantId: string; alarmId: string; change: string },
): Promise<void> {
  const { tenantId, alarmId } = event;
  const [alarm] = await app.db
    .select()
    .from(alarms)
    .where(and(eq(alarms.tenantId, tenantId), eq(alarms.id, alarmId)));
  if (!alarm?.opensChat) return;
  const [existing] = await app.db
    .select()
    .from(chatConversations)
    .where(and(eq(chatConversations.tenantId, tenantId), eq(chatConversations.alarmId, alarmId)));
  if (event.change === 'closed') {
    if (existing && !existing.archivedAt) {
      await app.db
        .update(chatConversations)
        .set({ archivedAt: new Date(), updatedAt: new Date() })
        .where(eq(chatConversations.id, existing.id));
      announceChanged(app, existing.id, await memberIds(app.db, existing.id));
    }
    return;
  }
  if (alarm.closedAt) return;
  const recipients = await app.db
    .select({ userId: alarmRecipients.userId })
    .from(alarmRecipients)
    .where(and(eq(alarmRecipients.tenantId, tenantId), eq(alarmRecipients.alarmId, alarmId)));
  const wanted = [
    ...new Set([...recipients.map((r) => r.userId), ...(alarm.createdBy ? [alarm.createdBy] : [])]),
  ];
  let conversation = existing;
  if (!conversation) {
    const now = new Date();
    const row: ConversationRow = {
      id: newId(),
      tenantId,
      kind: 'alarm',
      title: `${alarm.keyword} · ${alarm.title}`.slice(0, 120),
      unitId: null,
      followUnit: false,
      alarmId,
      directKey: null,
      retentionDays: null,
      epoch: null,
      lastSeq: 0,
      createdBy: alarm.createdBy,
      archivedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await app.db.insert(chatConversations).values(row);
    } catch (error) {
      // Another node handled the same event first.
      if (!isDuplicateKey(error)) throw error;
      return;
    }
    conversation = row;
  }
  await setMembers(app, conversation, wanted.slice(0, CHAT_LIMITS.members));
}

/**
 * A revoked device is dropped from key package hand-out and welcomes at once; the
 * members of its conversations are told, and the next member device online commits its
 * removal (it is listed in `pending.remove`). Until then it cannot fetch anything: its
 * token no longer works.
 */
export async function onDeviceRevoked(
  app: FastifyInstance,
  event: { tenantId: string; deviceId: string },
): Promise<void> {
  await app.db.delete(chatKeyPackages).where(eq(chatKeyPackages.deviceId, event.deviceId));
  await app.db.delete(chatWelcomes).where(eq(chatWelcomes.deviceId, event.deviceId));
  const rows = await app.db
    .select({ conversationId: chatGroupDevices.conversationId })
    .from(chatGroupDevices)
    .where(eq(chatGroupDevices.deviceId, event.deviceId));
  for (const { conversationId } of rows) {
    announceChanged(app, conversationId, await memberIds(app.db, conversationId));
  }
}
