/**
 * End-to-end encrypted chat as the backend speaks it. The server is an MLS (RFC 9420)
 * delivery service: it stores and relays opaque bytes (key packages, commits, welcomes,
 * application messages, encrypted blobs) and the metadata it needs to route them —
 * who is in a conversation, which device sent what and when, sizes. It never sees
 * content, file names or captions. The MLS client is `@trupp/chat-client`.
 *
 * One conversation is one MLS group whose members are devices (leaves), not users.
 * Every binary value travels as standard base64.
 *
 * A device, step by step:
 * 1. On first use it generates an MLS signature key and key packages and uploads them:
 *    `POST /api/chat/key-packages` (`ChatKeyPackageUpload`). It refills when
 *    `GET /api/chat/key-packages/count` runs low. Private keys never leave the device.
 * 2. `GET /api/chat/conversations` (`ChatConversation[]`). A conversation with
 *    `epoch: null` has no MLS group yet: any member device creates one (epoch 0) and
 *    commits the adds of `pending.add` (epoch 0 → 1). A conversation whose `pending`
 *    lists devices to add or remove is reconciled the same way by any member device
 *    that is in the group: it claims key packages (`POST /api/chat/key-packages/claim`),
 *    builds one commit with the adds and removes and sends it with the welcome
 *    (`POST /api/chat/conversations/:id/commits`, `ChatCommitUpload`). The server takes
 *    exactly one commit per epoch; the loser gets 409 `CHAT_EPOCH_CONFLICT`, drops its
 *    pending commit, fetches and processes the winner, and tries again if still needed.
 * 3. A device that was added finds a welcome in `GET /api/chat/welcomes` (also pushed
 *    as `chat.welcome`), joins the group with it and reads messages with
 *    `seq > welcome.seq` only: history before it joined is not readable on it.
 * 4. Messages: `chat.send` over the socket (or `POST /api/chat/conversations/:id/messages`)
 *    with the epoch they were encrypted in; the server refuses an epoch that is not the
 *    group's current one (409 `CHAT_EPOCH_STALE`: process the missing commits, encrypt
 *    again, resend with the same `clientId` — a retry never duplicates).
 * 5. Everything is persisted before it is pushed (`chat.message` to the group's member
 *    users). The truth is `GET /api/chat/conversations/:id/messages?after=SEQ`, read on
 *    (re)connect from the last seq the device processed; then
 *    `POST …/delivered { seq }` and, when the user has seen them, `POST …/read { seq }`.
 */

/** The only ciphersuite Trupp uses (RFC 9420 §17.1, id 1). */
export const CHAT_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;

export const CHAT_CONVERSATION_KINDS = ['direct', 'group', 'unit', 'alarm'] as const;
export type ChatConversationKind = (typeof CHAT_CONVERSATION_KINDS)[number];

export const CHAT_LIMITS = {
  /** Bytes of one MLS message (application, commit) after base64 decoding. */
  messageBytes: 256 * 1024,
  /**
   * Bytes of a message sent with the socket's `chat.send` (socket frames are capped at
   * 64 KB); a larger one goes by HTTP.
   */
  socketMessageBytes: 44 * 1024,
  /** Bytes of one welcome or ratchet tree. */
  welcomeBytes: 1024 * 1024,
  /** Key packages in one upload; a device keeps at most this many unused ones. */
  keyPackagesPerUpload: 100,
  /** A device refills its key packages when fewer than this many are left. */
  keyPackagesLow: 5,
  /** Members of one conversation (users). */
  members: 500,
  /** Messages per page of `GET …/messages`. */
  pageSize: 500,
  /** Default upload limit per blob (MiB) when the tenant sets none. */
  defaultUploadMb: 25,
} as const;

/** Keep chat ciphertext and blobs this many days unless the tenant or conversation says less. */
export const CHAT_DEFAULT_RETENTION_DAYS = 30;

/**
 * The MLS basic credential identity of a device: `trupp:<userId>:<deviceId>` in UTF-8.
 * Clients check it against the server's device list before trusting a leaf.
 */
export const chatIdentity = (userId: string, deviceId: string): string =>
  `trupp:${userId}:${deviceId}`;

export interface ChatKeyPackageUpload {
  /** Ed25519 public key of the device's MLS signature key pair (safety number source). */
  signaturePublicKey: string;
  /** Encoded MLS KeyPackages (`encodeMlsMessage` of an `mls_key_package` message). */
  keyPackages: string[];
  /** One more, handed out when the others are used up and never deleted by a claim. */
  lastResort?: string;
}

export interface ChatClaimedKeyPackage {
  deviceId: string;
  userId: string;
  /** sha256 (hex) of the key package bytes; the welcome for it carries the same ref. */
  ref: string;
  keyPackage: string;
}

/** A device in a conversation's MLS group or waiting to enter it. */
export interface ChatDevice {
  deviceId: string;
  userId: string;
  /** The device's label as its owner named it (e.g. "Pixel 7"). */
  label: string;
  /** base64 Ed25519 public key; the safety number is derived from it (chatSafetyNumber). */
  signaturePublicKey: string | null;
}

export interface ChatMember {
  userId: string;
  displayName: string;
  role: 'owner' | 'member';
}

export interface ChatConversation {
  id: string;
  kind: ChatConversationKind;
  /** Group name as set by its creator; null for 1:1 (the other person's name is shown). */
  title: string | null;
  unitId: string | null;
  /** Set when `kind` is 'unit' and membership follows the unit (sub-units included). */
  followUnit: boolean;
  alarmId: string | null;
  members: ChatMember[];
  /** Current MLS epoch as accepted by the server; null while no group exists yet. */
  epoch: number | null;
  /** Highest message seq in the conversation. */
  lastSeq: number;
  /** The caller's read position and the messages from others after it. */
  readSeq: number;
  unread: number;
  /** Days messages are kept (the shorter of the tenant's and the conversation's). */
  retentionDays: number;
  /** Devices in the MLS group now. */
  devices: ChatDevice[];
  /** Work for any member device in the group (see the protocol above). */
  pending: { add: ChatDevice[]; remove: ChatDevice[] };
  archived: boolean;
  createdAt: string;
}

export interface ChatConversationCreate {
  kind: 'direct' | 'group' | 'unit';
  title?: string;
  /** The other members (the caller is always a member). For 'direct' exactly one. */
  userIds?: string[];
  /** For 'unit': the unit whose members (sub-units included) belong to it. */
  unitId?: string;
  retentionDays?: number;
}

export type ChatMessageKind = 'application' | 'commit';

/** One stored MLS message as a device fetches it (ordered by `seq`). */
export interface ChatEnvelope {
  id: string;
  conversationId: string;
  seq: number;
  kind: ChatMessageKind;
  /** The epoch the message was created in; a commit moves the group to epoch + 1. */
  epoch: number;
  senderUserId: string;
  senderDeviceId: string;
  /** base64 `MLSMessage` bytes. */
  payload: string;
  createdAt: string;
}

export interface ChatSend {
  conversationId: string;
  /** Idempotency key chosen by the sending device (UUID). */
  clientId: string;
  epoch: number;
  payload: string;
}

export interface ChatSendResult {
  id: string;
  seq: number;
  createdAt: string;
}

export interface ChatCommitUpload {
  /** The epoch the commit was created in (0 for the commit right after creating the group). */
  epoch: number;
  /** base64 `MLSMessage` (the commit). */
  commit: string;
  /** base64 `MLSMessage` (the welcome) when devices are added. */
  welcome?: string;
  /** base64 encoded ratchet tree for joiners (public data). */
  ratchetTree?: string;
  /** Devices this commit adds, with the ref of the key package used for each. */
  adds: Array<{ deviceId: string; ref: string }>;
  /** Devices this commit removes. */
  removes: string[];
}

/** A welcome waiting for this device. */
export interface ChatWelcome {
  id: string;
  conversationId: string;
  /** The seq of the commit that added the device; read messages after it. */
  seq: number;
  /** The epoch the device enters (the commit's epoch + 1). */
  epoch: number;
  keyPackageRef: string;
  welcome: string;
  ratchetTree: string | null;
}

/** Delivery and read state of one message, counted over the other members. */
export interface ChatReceipt {
  seq: number;
  /** Member devices (not the sender's) that fetched it. */
  delivered: number;
  /** Members (not the sender) whose read position reached it. */
  read: number;
  /** Of how many: other member devices / other members. */
  devices: number;
  members: number;
}

/** Server → client socket events. */
export const CHAT_EVENTS = {
  /** A message or commit was stored: `ChatEnvelope`. */
  message: 'chat.message',
  /** A welcome for this device: `ChatWelcome`. */
  welcome: 'chat.welcome',
  /** Conversation list, membership or pending devices changed: `{ conversationId }`. */
  changed: 'chat.changed',
  /** Someone read up to a seq: `{ conversationId, userId, seq }`. */
  read: 'chat.read',
  /** A conversation was deleted or the user left it: `{ conversationId }`. */
  removed: 'chat.removed',
} as const;

/** Client → server socket events. */
export const CHAT_CLIENT_EVENTS = {
  /** `ChatSend` → `ChatSendResult`. */
  send: 'chat.send',
} as const;

/**
 * What a Trupp chat application message carries once decrypted (JSON, UTF-8). The server
 * never sees it. Edits and deletes are messages of their own pointing at `target`.
 */
export type ChatContent =
  | {
      v: 1;
      type: 'text';
      id: string;
      text: string;
      mentions?: string[];
      replyTo?: string;
    }
  | {
      v: 1;
      type: 'attachment';
      id: string;
      attachment: ChatAttachmentRef;
      caption?: string;
      mentions?: string[];
      replyTo?: string;
    }
  | { v: 1; type: 'edit'; id: string; target: string; text: string }
  | { v: 1; type: 'delete'; id: string; target: string };

/** An encrypted blob and what a member needs to open it. */
export interface ChatAttachmentRef {
  kind: 'image' | 'file' | 'voice';
  blobId: string;
  /** base64 raw AES-256-GCM key and 12-byte IV, fresh per blob. */
  key: string;
  iv: string;
  mime: string;
  name: string;
  /** Plaintext size in bytes. */
  size: number;
  durationMs?: number;
  width?: number;
  height?: number;
  /** A small JPEG data URL made on the sender's device. */
  thumbnail?: string;
}
