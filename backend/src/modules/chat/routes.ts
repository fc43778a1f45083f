import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, count, eq, gt, inArray, max, sum } from 'drizzle-orm';
import { Type } from 'typebox';
import { CHAT_CLIENT_EVENTS, CHAT_LIMITS, roleHas } from '@trupp/shared';
import {
  chatConversations,
  chatGroupDevices,
  chatMembers,
  chatMessages,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import type { AuthContext } from '../auth/access-token.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { pushToUsers } from '../push/service.ts';
import {
  BlobCreated,
  BlobIdParams,
  ClaimedKeyPackage,
  CommitBody,
  CommitResult,
  Conversation,
  ConversationCreateBody,
  ConversationIdParams,
  ConversationPatchBody,
  Envelope,
  KeyPackageClaimBody,
  KeyPackageUploadBody,
  MessagesQuery,
  MetadataConversation,
  MetadataMessage,
  Receipt,
  ReceiptsQuery,
  SendBody,
  SendEvent,
  SendResult,
  SeqBody,
  Welcome,
  WelcomeIdParams,
} from './schemas.ts';
import { ChatSendBatcher } from './send-batcher.ts';
import {
  acknowledgeWelcome,
  claimKeyPackages,
  commitGroup,
  createConversation,
  fetchMessages,
  fetchWelcomes,
  getConversation,
  keyPackageCount,
  leaveConversation,
  listConversations,
  markDelivered,
  markRead,
  onAlarmChanged,
  onDeviceRevoked,
  readBlob,
  receipts,
  saveBlob,
  syncUnitChats,
  updateConversation,
  uploadKeyPackages,
} from './service.ts';

/** Largest upload body accepted at all; the tenant's own limit is checked after. */
const BLOB_BODY_LIMIT = 200 * 1024 * 1024;
/** At most one content-free push per conversation and member in this window. */
const PUSH_COALESCE_MS = 5000;

/**
 * End-to-end encrypted chat: the MLS delivery service (protocol in shared/src/chat.ts).
 * Conversations and membership, key packages, commits (one per epoch), messages by
 * seq, welcomes, receipts, encrypted attachments; metadata for auditors; hooks that keep
 * unit and alarm chats' members in step and drop revoked devices.
 */
const chatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['chat'];

  // Pushes carry no content, only the conversation id; a burst of messages to one
  // conversation wakes each member once.
  const pushTimers = new Map<string, NodeJS.Timeout>();
  const schedulePush = (tenantId: string, conversationId: string, userIds: string[]) => {
    if (userIds.length === 0 || pushTimers.has(conversationId)) return;
    pushTimers.set(
      conversationId,
      setTimeout(() => {
        pushTimers.delete(conversationId);
        void pushToUsers(app, tenantId, userIds, { type: 'chat', id: conversationId }).catch(
          (err: unknown) => app.log.warn({ err }, 'chat push failed'),
        );
      }, PUSH_COALESCE_MS),
    );
  };
  app.addHook('onClose', async () => {
    for (const timer of pushTimers.values()) clearTimeout(timer);
    pushTimers.clear();
  });

  const batcher = new ChatSendBatcher(app);
  const send = async (auth: AuthContext, input: SendEvent) => {
    const outcome = await batcher.send(auth, input);
    if (outcome.fresh) {
      schedulePush(
        auth.tenantId,
        input.conversationId,
        outcome.members.filter((id) => id !== auth.userId),
      );
    }
    return outcome.result;
  };

  const hook =
    <T>(name: string, run: (event: T) => Promise<void>) =>
    (event: T) => {
      void run(event).catch((err: unknown) => app.log.error({ err }, `chat ${name} hook failed`));
    };
  const offs = [
    app.bus.on(
      'alarm.changed',
      hook('alarm', (e) => onAlarmChanged(app, e)),
    ),
    app.bus.on(
      'device.revoked',
      hook('device', (e) => onDeviceRevoked(app, e)),
    ),
    app.bus.on(
      'directory.changed',
      hook('directory', (e) => syncUnitChats(app, e.tenantId)),
    ),
  ];
  app.addHook('preClose', async () => offs.forEach((off) => off()));

  // Encrypted attachments arrive as raw bytes.
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: BLOB_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  // ---- conversations

  app.get(
    '/api/chat/conversations',
    {
      schema: { tags, response: { 200: Type.Array(Conversation), ...errorResponses(401, 403) } },
      config: { access: 'chat.use' },
    },
    async (request) => listConversations(app, caller(request)),
  );

  app.post(
    '/api/chat/conversations',
    {
      schema: {
        tags,
        body: ConversationCreateBody,
        response: {
          200: Conversation,
          201: Conversation,
          ...errorResponses(400, 401, 403, 404),
        },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const { conversation, created } = await createConversation(
        app,
        auth,
        request.body,
        roleHas(auth.role, 'chat.manage'),
      );
      return reply.code(created ? 201 : 200).send(conversation);
    },
  );

  app.get(
    '/api/chat/conversations/:conversationId',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        response: { 200: Conversation, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.use' },
    },
    async (request) => getConversation(app, caller(request), request.params.conversationId),
  );

  app.patch(
    '/api/chat/conversations/:conversationId',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        body: ConversationPatchBody,
        response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'chat.use' },
    },
    async (request) => {
      const auth = caller(request);
      return updateConversation(
        app,
        auth,
        request.params.conversationId,
        request.body,
        roleHas(auth.role, 'chat.manage'),
      );
    },
  );

  app.delete(
    '/api/chat/conversations/:conversationId/members/me',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      await leaveConversation(app, caller(request), request.params.conversationId);
      return reply.code(204).send(null);
    },
  );

  // ---- key packages

  app.post(
    '/api/chat/key-packages',
    {
      schema: {
        tags,
        body: KeyPackageUploadBody,
        response: {
          200: Type.Object({ available: Type.Integer() }),
          ...errorResponses(400, 401, 403),
        },
      },
      config: { access: 'chat.use' },
    },
    async (request) => uploadKeyPackages(app, caller(request), request.body),
  );

  app.get(
    '/api/chat/key-packages/count',
    {
      schema: {
        tags,
        response: { 200: Type.Object({ available: Type.Integer() }), ...errorResponses(401, 403) },
      },
      config: { access: 'chat.use' },
    },
    async (request) => ({ available: await keyPackageCount(app, caller(request)) }),
  );

  app.post(
    '/api/chat/key-packages/claim',
    {
      schema: {
        tags,
        body: KeyPackageClaimBody,
        response: { 200: Type.Array(ClaimedKeyPackage), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.use' },
    },
    async (request) => claimKeyPackages(app, caller(request), request.body.deviceIds),
  );

  // ---- messages, commits, welcomes

  app.get(
    '/api/chat/conversations/:conversationId/messages',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        querystring: MessagesQuery,
        response: { 200: Type.Array(Envelope), ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'chat.use' },
    },
    async (request) =>
      fetchMessages(
        app,
        caller(request),
        request.params.conversationId,
        request.query.after ?? 0,
        request.query.limit ?? CHAT_LIMITS.pageSize,
      ),
  );

  app.post(
    '/api/chat/conversations/:conversationId/messages',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        body: SendBody,
        response: { 200: SendResult, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'chat.use' },
    },
    async (request) =>
      send(caller(request), { conversationId: request.params.conversationId, ...request.body }),
  );

  app.realtime.on(
    CHAT_CLIENT_EVENTS.send,
    { schema: SendEvent, access: 'chat.use' },
    async ({ auth }, body) => send(auth, body),
  );

  app.post(
    '/api/chat/conversations/:conversationId/commits',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        body: CommitBody,
        response: { 200: CommitResult, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'chat.use' },
    },
    async (request) =>
      commitGroup(app, caller(request), request.params.conversationId, request.body),
  );

  app.get(
    '/api/chat/welcomes',
    {
      schema: { tags, response: { 200: Type.Array(Welcome), ...errorResponses(401, 403) } },
      config: { access: 'chat.use' },
    },
    async (request) => fetchWelcomes(app, caller(request)),
  );

  app.delete(
    '/api/chat/welcomes/:welcomeId',
    {
      schema: {
        tags,
        params: WelcomeIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      await acknowledgeWelcome(app, caller(request), request.params.welcomeId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/chat/conversations/:conversationId/delivered',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        body: SeqBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      await markDelivered(app, caller(request), request.params.conversationId, request.body.seq);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/chat/conversations/:conversationId/read',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        body: SeqBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      await markRead(app, caller(request), request.params.conversationId, request.body.seq);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/chat/conversations/:conversationId/receipts',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        querystring: ReceiptsQuery,
        response: { 200: Type.Array(Receipt), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.use' },
    },
    async (request) =>
      receipts(
        app,
        caller(request),
        request.params.conversationId,
        request.query.from,
        request.query.to,
      ),
  );

  // ---- encrypted attachments

  app.post(
    '/api/chat/conversations/:conversationId/blobs',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        response: { 201: BlobCreated, ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
      config: { access: 'chat.use' },
      bodyLimit: BLOB_BODY_LIMIT,
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) throw appError('UNSUPPORTED_MEDIA_TYPE');
      const blob = await saveBlob(
        app,
        caller(request),
        request.params.conversationId,
        request.body,
      );
      return reply.code(201).send(blob);
    },
  );

  app.get(
    '/api/chat/blobs/:blobId',
    {
      schema: {
        tags,
        params: BlobIdParams,
        produces: ['application/octet-stream'],
        response: {
          200: Type.Unsafe<Buffer>({
            type: 'string',
            format: 'binary',
            description: 'AES-256-GCM ciphertext; the key travels inside the MLS message',
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
      config: { access: 'chat.use' },
    },
    async (request, reply) => {
      const bytes = await readBlob(app, caller(request), request.params.blobId);
      return reply
        .type('application/octet-stream')
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(bytes);
    },
  );

  // ---- metadata for auditors (DSK: connection data), never content

  app.get(
    '/api/chat/metadata/conversations',
    {
      schema: {
        tags,
        response: { 200: Type.Array(MetadataConversation), ...errorResponses(401, 403) },
      },
      config: { access: 'chat.metadata' },
    },
    async (request) => {
      const auth = caller(request);
      const rows = await app.db
        .select()
        .from(chatConversations)
        .where(eq(chatConversations.tenantId, auth.tenantId))
        .orderBy(asc(chatConversations.createdAt));
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return [];
      const members = await app.db
        .select({
          conversationId: chatMembers.conversationId,
          userId: chatMembers.userId,
          displayName: users.displayName,
        })
        .from(chatMembers)
        .innerJoin(users, eq(users.id, chatMembers.userId))
        .where(inArray(chatMembers.conversationId, ids));
      const groupDevices = await app.db
        .select({ conversationId: chatGroupDevices.conversationId, n: count() })
        .from(chatGroupDevices)
        .where(inArray(chatGroupDevices.conversationId, ids))
        .groupBy(chatGroupDevices.conversationId);
      const stats = await app.db
        .select({
          conversationId: chatMessages.conversationId,
          n: count(),
          bytes: sum(chatMessages.size).mapWith(Number),
          last: max(chatMessages.createdAt),
        })
        .from(chatMessages)
        .where(and(inArray(chatMessages.conversationId, ids), eq(chatMessages.kind, 'application')))
        .groupBy(chatMessages.conversationId);
      await recordAudit(app.db, auth.tenantId, {
        action: 'chat.metadata_read',
        actor: requestActor(request),
        details: { conversations: ids.length },
      });
      return rows.map((r) => {
        const s = stats.find((x) => x.conversationId === r.id);
        return {
          id: r.id,
          kind: r.kind,
          memberUserIds: members.filter((m) => m.conversationId === r.id).map((m) => m.userId),
          memberNames: Object.fromEntries(
            members.filter((m) => m.conversationId === r.id).map((m) => [m.userId, m.displayName]),
          ),
          devices: groupDevices.find((d) => d.conversationId === r.id)?.n ?? 0,
          messages: s?.n ?? 0,
          bytes: s?.bytes ?? 0,
          lastMessageAt: s?.last ? new Date(s.last).toISOString() : null,
          createdAt: r.createdAt.toISOString(),
        };
      });
    },
  );

  app.get(
    '/api/chat/metadata/conversations/:conversationId/messages',
    {
      schema: {
        tags,
        params: ConversationIdParams,
        querystring: MessagesQuery,
        response: { 200: Type.Array(MetadataMessage), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'chat.metadata' },
    },
    async (request) => {
      const auth = caller(request);
      const [conversation] = await app.db
        .select({ id: chatConversations.id })
        .from(chatConversations)
        .where(
          and(
            eq(chatConversations.tenantId, auth.tenantId),
            eq(chatConversations.id, request.params.conversationId),
          ),
        );
      if (!conversation) throw appError('CHAT_CONVERSATION_NOT_FOUND');
      const rows = await app.db
        .select({
          seq: chatMessages.seq,
          kind: chatMessages.kind,
          senderUserId: chatMessages.senderUserId,
          senderDisplayName: users.displayName,
          senderDeviceId: chatMessages.senderDeviceId,
          size: chatMessages.size,
          createdAt: chatMessages.createdAt,
        })
        .from(chatMessages)
        .innerJoin(users, eq(users.id, chatMessages.senderUserId))
        .where(
          and(
            eq(chatMessages.conversationId, conversation.id),
            gt(chatMessages.seq, request.query.after ?? 0),
          ),
        )
        .orderBy(asc(chatMessages.seq))
        .limit(request.query.limit ?? CHAT_LIMITS.pageSize);
      await recordAudit(app.db, auth.tenantId, {
        action: 'chat.metadata_read',
        actor: requestActor(request),
        target: { type: 'chat_conversation', id: conversation.id },
      });
      return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }));
    },
  );
};

export default chatRoutes;
