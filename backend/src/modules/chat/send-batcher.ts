import type { FastifyInstance } from 'fastify';
import { and, eq, inArray } from 'drizzle-orm';
import { CHAT_EVENTS, CHAT_LIMITS, type ChatSendResult } from '@trupp/shared';
import { chatConversations, chatGroupDevices, chatMembers, chatMessages } from '../../db/schema.ts';
import { appError, type AppError } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import { userRoom } from '../../realtime/gateway.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { WIRE, isMlsMessage } from './mls-wire.ts';
import { toEnvelope, type MessageRow } from './repository.ts';
import type { SendEvent } from './schemas.ts';

export interface SendOutcome {
  result: ChatSendResult;
  /** False for a retry of a stored message (nothing was pushed again). */
  fresh: boolean;
  /** The conversation's members when the message was stored (for push). */
  members: string[];
}

interface Pending {
  auth: AuthContext;
  input: SendEvent;
  size: number;
  resolve: (outcome: SendOutcome) => void;
  reject: (error: unknown) => void;
}

/** Most messages of one conversation written by one transaction. */
const MAX_BATCH = 200;

/**
 * Stores application messages, per conversation in batches: while one transaction of a
 * conversation runs, the messages that arrive wait and go together in the next one.
 * Every transaction holds the conversation row lock (seqs without gaps, epoch checked
 * against the committed one, on every node), and its commit costs one log flush — so
 * under load a conversation pays one lock and one flush per batch, not per message,
 * and a single message still goes at once.
 */
export class ChatSendBatcher {
  readonly #queues = new Map<string, Pending[]>();
  readonly #running = new Set<string>();

  constructor(private readonly app: FastifyInstance) {}

  /**
   * Stores the message at the next seq and pushes it to the members. A retry with the
   * same `clientId` returns the stored message and pushes nothing.
   * @throws AppError CHAT_CONVERSATION_NOT_FOUND, CHAT_NOT_IN_GROUP, CHAT_EPOCH_STALE,
   *   VALIDATION_FAILED (not an MLS private message)
   */
  send(auth: AuthContext, input: SendEvent): Promise<SendOutcome> {
    const bytes = Buffer.from(input.payload, 'base64');
    if (!isMlsMessage(bytes, [WIRE.privateMessage]) || bytes.length > CHAT_LIMITS.messageBytes) {
      return Promise.reject(
        appError('VALIDATION_FAILED', 'The payload is not an encrypted MLS message.'),
      );
    }
    return new Promise((resolve, reject) => {
      const key = `${auth.tenantId}:${input.conversationId}`;
      const queue = this.#queues.get(key) ?? [];
      queue.push({ auth, input, size: bytes.length, resolve, reject });
      this.#queues.set(key, queue);
      if (!this.#running.has(key)) void this.#drain(key);
    });
  }

  async #drain(key: string): Promise<void> {
    this.#running.add(key);
    try {
      for (;;) {
        const queue = this.#queues.get(key);
        if (!queue || queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        if (queue.length === 0) this.#queues.delete(key);
        try {
          await this.#write(batch);
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.#running.delete(key);
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    const { tenantId } = batch[0]!.auth;
    const conversationId = batch[0]!.input.conversationId;
    const outcomes = new Map<Pending, SendOutcome | AppError>();
    const fresh: MessageRow[] = [];
    let members: string[] = [];
    await this.app.db.transaction(async (tx) => {
      const [conversation] = await tx
        .select()
        .from(chatConversations)
        .where(
          and(eq(chatConversations.tenantId, tenantId), eq(chatConversations.id, conversationId)),
        )
        .for('update');
      const deviceIds = [...new Set(batch.map((p) => p.auth.deviceId))];
      const memberRows = conversation
        ? await tx
            .select({ userId: chatMembers.userId })
            .from(chatMembers)
            .where(eq(chatMembers.conversationId, conversationId))
        : [];
      members = memberRows.map((m) => m.userId);
      const inGroup = conversation
        ? new Set(
            (
              await tx
                .select({ deviceId: chatGroupDevices.deviceId })
                .from(chatGroupDevices)
                .where(
                  and(
                    eq(chatGroupDevices.conversationId, conversationId),
                    inArray(chatGroupDevices.deviceId, deviceIds),
                  ),
                )
            ).map((d) => d.deviceId),
          )
        : new Set<string>();
      // Retries: the same device's clientId stored before (in this batch or earlier).
      const stored = conversation
        ? await tx
            .select()
            .from(chatMessages)
            .where(
              and(
                eq(chatMessages.conversationId, conversationId),
                inArray(chatMessages.senderDeviceId, deviceIds),
                inArray(
                  chatMessages.clientId,
                  batch.map((p) => p.input.clientId),
                ),
              ),
            )
        : [];
      const byClient = new Map(stored.map((m) => [`${m.senderDeviceId}:${m.clientId}`, m]));
      let seq = conversation?.lastSeq ?? 0;
      const now = new Date();
      const readers = new Set<string>();
      for (const p of batch) {
        if (!conversation || !members.includes(p.auth.userId)) {
          outcomes.set(p, appError('CHAT_CONVERSATION_NOT_FOUND'));
          continue;
        }
        if (!inGroup.has(p.auth.deviceId)) {
          outcomes.set(p, appError('CHAT_NOT_IN_GROUP'));
          continue;
        }
        const retry = byClient.get(`${p.auth.deviceId}:${p.input.clientId}`);
        if (retry) {
          outcomes.set(p, { result: resultOf(retry), fresh: false, members: [] });
          continue;
        }
        if (conversation.epoch === null || p.input.epoch !== conversation.epoch) {
          outcomes.set(p, appError('CHAT_EPOCH_STALE', undefined, { epoch: conversation.epoch }));
          continue;
        }
        seq += 1;
        const message: MessageRow = {
          id: newId(),
          tenantId,
          conversationId,
          seq,
          kind: 'application',
          epoch: conversation.epoch,
          senderUserId: p.auth.userId,
          senderDeviceId: p.auth.deviceId,
          clientId: p.input.clientId,
          payload: p.input.payload,
          size: p.size,
          createdAt: now,
        };
        fresh.push(message);
        byClient.set(`${p.auth.deviceId}:${p.input.clientId}`, message);
        readers.add(p.auth.userId);
        outcomes.set(p, { result: resultOf(message), fresh: true, members });
      }
      if (fresh.length === 0) return;
      await tx.insert(chatMessages).values(fresh);
      await tx
        .update(chatConversations)
        .set({ lastSeq: seq })
        .where(eq(chatConversations.id, conversationId));
      // Whoever writes has read what came before.
      for (const userId of readers) {
        const last = fresh.filter((m) => m.senderUserId === userId).at(-1)!.seq;
        await tx
          .update(chatMembers)
          .set({ readSeq: last })
          .where(
            and(eq(chatMembers.conversationId, conversationId), eq(chatMembers.userId, userId)),
          );
      }
    });
    // Committed: push in seq order, then answer the senders.
    if (fresh.length > 0) {
      const rooms = members.map(userRoom);
      for (const message of fresh) {
        this.app.io.to(rooms).emit(CHAT_EVENTS.message, toEnvelope(message));
      }
    }
    for (const p of batch) {
      const outcome = outcomes.get(p)!;
      if (outcome instanceof Error) p.reject(outcome);
      else p.resolve(outcome);
    }
  }
}

const resultOf = (row: MessageRow): ChatSendResult => ({
  id: row.id,
  seq: row.seq,
  createdAt: row.createdAt.toISOString(),
});
