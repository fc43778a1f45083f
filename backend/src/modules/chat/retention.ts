import { and, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { chatBlobs, chatConversations, chatMessages, chatWelcomes } from '../../db/schema.ts';
import { deleteBlobFiles } from './service.ts';

const DAY_MS = 86_400_000;
const BATCH = 5000;

const affectedRows = (result: unknown): number =>
  Number((result as [{ affectedRows?: number }])[0]?.affectedRows ?? 0);

export interface ChatRetentionResult {
  chatMessagesDeleted: number;
  chatBlobsDeleted: number;
}

/**
 * Deletes chat ciphertext, welcomes and encrypted attachments older than the tenant's
 * `retentionChatDays`, or a conversation's own shorter period. Clients delete their local
 * copies by the same rule (they know `retentionDays` of each conversation). Ciphertext
 * that every device in the group has fetched is dropped earlier: the row stays (seq,
 * sender, size — metadata for unread counts and receipts), the payload goes.
 * Blob files go before their rows, so a failure leaves a row to retry, never a file
 * nobody lists.
 */
export async function applyChatRetention(
  db: Db,
  blobsDir: string,
  tenant: { id: string; retentionChatDays: number },
  now: Date,
): Promise<ChatRetentionResult> {
  const tenantCutoff = new Date(now.getTime() - tenant.retentionChatDays * DAY_MS);
  const shorter = await db
    .select({ id: chatConversations.id, days: chatConversations.retentionDays })
    .from(chatConversations)
    .where(
      and(
        eq(chatConversations.tenantId, tenant.id),
        isNotNull(chatConversations.retentionDays),
        lt(chatConversations.retentionDays, tenant.retentionChatDays),
      ),
    );
  const scopes = [
    { conversationId: null as string | null, cutoff: tenantCutoff },
    ...shorter.map((c) => ({
      conversationId: c.id,
      cutoff: new Date(now.getTime() - c.days! * DAY_MS),
    })),
  ];

  let chatMessagesDeleted = 0;
  let chatBlobsDeleted = 0;
  for (const { conversationId, cutoff } of scopes) {
    const inScope = <T extends typeof chatMessages | typeof chatBlobs | typeof chatWelcomes>(
      table: T,
    ) =>
      conversationId === null
        ? eq(table.tenantId, tenant.id)
        : and(eq(table.tenantId, tenant.id), eq(table.conversationId, conversationId));
    for (;;) {
      const deleted = affectedRows(
        await db
          .delete(chatMessages)
          .where(and(inScope(chatMessages), lt(chatMessages.createdAt, cutoff)))
          .limit(BATCH),
      );
      chatMessagesDeleted += deleted;
      if (deleted < BATCH) break;
    }
    await db
      .delete(chatWelcomes)
      .where(and(inScope(chatWelcomes), lt(chatWelcomes.createdAt, cutoff)));
    for (;;) {
      const old = await db
        .select({ id: chatBlobs.id, tenantId: chatBlobs.tenantId })
        .from(chatBlobs)
        .where(and(inScope(chatBlobs), lt(chatBlobs.createdAt, cutoff)))
        .limit(BATCH);
      if (old.length === 0) break;
      await deleteBlobFiles(blobsDir, old);
      chatBlobsDeleted += affectedRows(
        await db.delete(chatBlobs).where(
          inArray(
            chatBlobs.id,
            old.map((b) => b.id),
          ),
        ),
      );
      if (old.length < BATCH) break;
    }
  }

  // Fetched by every device of the group: the server has no reason to keep the bytes.
  await db.execute(sql`
    UPDATE ${chatMessages} m
       SET m.payload = ''
     WHERE m.tenant_id = ${tenant.id}
       AND m.payload <> ''
       AND m.seq <= (SELECT MIN(g.delivered_seq) FROM chat_group_devices g
                      WHERE g.conversation_id = m.conversation_id)`);
  return { chatMessagesDeleted, chatBlobsDeleted };
}
