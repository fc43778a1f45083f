import { Type, type Static } from 'typebox';
import { CHAT_CONVERSATION_KINDS, CHAT_LIMITS } from '@trupp/shared';

/**
 * Schemas of the chat routes and socket events; the shapes match shared/src/chat.ts.
 * Binary values are base64 strings whose length is bounded here (4/3 of the byte limit)
 * and checked again after decoding.
 */

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const Iso = Type.String({ format: 'date-time' });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Base64 = (maxBytes: number) =>
  Type.String({
    minLength: 4,
    maxLength: Math.ceil(maxBytes / 3) * 4,
    pattern: '^[A-Za-z0-9+/]+={0,2}$',
  });
const RetentionDays = Type.Integer({ minimum: 1, maximum: 3650 });

export const ConversationIdParams = Type.Object({ conversationId: IdString });
export const BlobIdParams = Type.Object({ blobId: IdString });
export const WelcomeIdParams = Type.Object({ welcomeId: IdString });

export const ChatDevice = Type.Object({
  deviceId: Type.String(),
  userId: Type.String(),
  label: Type.String(),
  signaturePublicKey: Type.Union([Type.String(), Type.Null()]),
});

export const Conversation = Type.Object({
  id: Type.String(),
  kind: Type.Enum([...CHAT_CONVERSATION_KINDS]),
  title: Type.Union([Type.String(), Type.Null()]),
  unitId: Type.Union([Type.String(), Type.Null()]),
  followUnit: Type.Boolean(),
  alarmId: Type.Union([Type.String(), Type.Null()]),
  members: Type.Array(
    Type.Object({
      userId: Type.String(),
      displayName: Type.String(),
      role: Type.Enum(['owner', 'member']),
    }),
  ),
  epoch: Type.Union([Type.Integer(), Type.Null()]),
  lastSeq: Type.Integer(),
  readSeq: Type.Integer(),
  unread: Type.Integer(),
  retentionDays: Type.Integer(),
  devices: Type.Array(ChatDevice),
  pending: Type.Object({ add: Type.Array(ChatDevice), remove: Type.Array(ChatDevice) }),
  archived: Type.Boolean(),
  createdAt: Iso,
});

export const ConversationCreateBody = Type.Object(
  {
    kind: Type.Enum(['direct', 'group', 'unit']),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    userIds: Type.Optional(Type.Array(IdString, { maxItems: CHAT_LIMITS.members })),
    unitId: Type.Optional(IdString),
    retentionDays: Type.Optional(RetentionDays),
  },
  { additionalProperties: false },
);
export type ConversationCreateBody = Static<typeof ConversationCreateBody>;

export const ConversationPatchBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    addUserIds: Type.Optional(Type.Array(IdString, { maxItems: CHAT_LIMITS.members })),
    removeUserIds: Type.Optional(Type.Array(IdString, { maxItems: CHAT_LIMITS.members })),
    retentionDays: Type.Optional(Type.Union([RetentionDays, Type.Null()])),
  },
  { additionalProperties: false },
);
export type ConversationPatchBody = Static<typeof ConversationPatchBody>;

export const KeyPackageUploadBody = Type.Object(
  {
    signaturePublicKey: Base64(128),
    keyPackages: Type.Array(Base64(16 * 1024), { maxItems: CHAT_LIMITS.keyPackagesPerUpload }),
    lastResort: Type.Optional(Base64(16 * 1024)),
  },
  { additionalProperties: false },
);
export type KeyPackageUploadBody = Static<typeof KeyPackageUploadBody>;

export const KeyPackageClaimBody = Type.Object(
  { deviceIds: Type.Array(IdString, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
);

export const ClaimedKeyPackage = Type.Object({
  deviceId: Type.String(),
  userId: Type.String(),
  ref: Type.String(),
  keyPackage: Type.String(),
});

export const Envelope = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer(),
  kind: Type.Enum(['application', 'commit']),
  epoch: Type.Integer(),
  senderUserId: Type.String(),
  senderDeviceId: Type.String(),
  payload: Type.String(),
  createdAt: Iso,
});

export const MessagesQuery = Type.Object({
  after: Type.Optional(Seq),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CHAT_LIMITS.pageSize })),
});

const SendFields = {
  clientId: Type.String({ format: 'uuid' }),
  epoch: Seq,
  payload: Base64(CHAT_LIMITS.messageBytes),
};
export const SendBody = Type.Object(SendFields, { additionalProperties: false });
export const SendEvent = Type.Object(
  { conversationId: IdString, ...SendFields, payload: Base64(CHAT_LIMITS.socketMessageBytes) },
  { additionalProperties: false },
);
export type SendEvent = Static<typeof SendEvent>;

export const SendResult = Type.Object({ id: Type.String(), seq: Type.Integer(), createdAt: Iso });

export const CommitBody = Type.Object(
  {
    epoch: Seq,
    commit: Base64(CHAT_LIMITS.messageBytes),
    welcome: Type.Optional(Base64(CHAT_LIMITS.welcomeBytes)),
    ratchetTree: Type.Optional(Base64(CHAT_LIMITS.welcomeBytes)),
    adds: Type.Array(
      Type.Object(
        { deviceId: IdString, ref: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
    removes: Type.Array(IdString, { maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type CommitBody = Static<typeof CommitBody>;

export const CommitResult = Type.Object({ seq: Type.Integer(), epoch: Type.Integer() });

export const Welcome = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer(),
  epoch: Type.Integer(),
  keyPackageRef: Type.String(),
  welcome: Type.String(),
  ratchetTree: Type.Union([Type.String(), Type.Null()]),
});

export const SeqBody = Type.Object({ seq: Seq }, { additionalProperties: false });

export const ReceiptsQuery = Type.Object({
  from: Seq,
  to: Seq,
});
export const Receipt = Type.Object({
  seq: Type.Integer(),
  delivered: Type.Integer(),
  read: Type.Integer(),
  devices: Type.Integer(),
  members: Type.Integer(),
});

export const BlobCreated = Type.Object({ blobId: Type.String(), size: Type.Integer() });

export const MetadataConversation = Type.Object({
  id: Type.String(),
  kind: Type.Enum([...CHAT_CONVERSATION_KINDS]),
  memberUserIds: Type.Array(Type.String()),
  /** Display names of the members (auditors cannot read the directory). */
  memberNames: Type.Record(Type.String(), Type.String()),
  devices: Type.Integer(),
  messages: Type.Integer(),
  bytes: Type.Integer(),
  lastMessageAt: Type.Union([Iso, Type.Null()]),
  createdAt: Iso,
});

export const MetadataMessage = Type.Object({
  seq: Type.Integer(),
  kind: Type.Enum(['application', 'commit']),
  senderUserId: Type.String(),
  senderDisplayName: Type.String(),
  senderDeviceId: Type.String(),
  size: Type.Integer(),
  createdAt: Iso,
});
