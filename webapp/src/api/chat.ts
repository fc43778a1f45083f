/**
 * End-to-end encrypted chat over HTTP and the socket: conversations, read positions,
 * receipts and encrypted attachments, plus the transport the MLS engine
 * (`@trupp/chat-client`) speaks through. Everything sent here is either metadata the
 * server needs for routing or ciphertext; content is encrypted before it reaches this file.
 */
import {
  CHAT_CLIENT_EVENTS,
  type ChatConversation,
  type ChatConversationCreate,
  type ChatConversationKind,
  type ChatMessageKind,
  type ChatReceipt,
  type ChatSend,
  type ChatSendResult,
} from '@trupp/shared';
import { httpChatTransport, type ChatRequest, type ChatTransport } from '@trupp/chat-client';
import { isApiError, request, requestFile } from './http.ts';
import { emitWithAck, isConnected } from '../realtime/socket.ts';

const id = (value: string) => encodeURIComponent(value);

export interface ChatConversationPatch {
  title?: string;
  addUserIds?: string[];
  removeUserIds?: string[];
  retentionDays?: number | null;
}

export function listConversations(): Promise<ChatConversation[]> {
  return request<ChatConversation[]>('GET', '/api/chat/conversations');
}

/** Resolves to the existing conversation for a 1:1 that exists already (HTTP 200). */
export function createConversation(body: ChatConversationCreate): Promise<ChatConversation> {
  return request<ChatConversation>('POST', '/api/chat/conversations', { body });
}

export function updateConversation(
  conversationId: string,
  patch: ChatConversationPatch,
): Promise<ChatConversation> {
  return request<ChatConversation>('PATCH', `/api/chat/conversations/${id(conversationId)}`, {
    body: patch,
  });
}

export function leaveConversation(conversationId: string): Promise<void> {
  return request<void>('DELETE', `/api/chat/conversations/${id(conversationId)}/members/me`);
}

/** Delivery and read counts of messages `from`..`to` (the server answers at most 500). */
export function receipts(conversationId: string, from: number, to: number): Promise<ChatReceipt[]> {
  return request<ChatReceipt[]>('GET', `/api/chat/conversations/${id(conversationId)}/receipts`, {
    query: { from, to },
  });
}

export function markRead(conversationId: string, seq: number): Promise<void> {
  return request<void>('POST', `/api/chat/conversations/${id(conversationId)}/read`, {
    body: { seq },
  });
}

/** Uploads an encrypted attachment (AES-GCM ciphertext, never plaintext). */
export function uploadBlob(
  conversationId: string,
  ciphertext: Uint8Array,
): Promise<{ blobId: string; size: number }> {
  // A copy into a plain ArrayBuffer: the bytes may be a view into a larger buffer.
  const copy = new Uint8Array(ciphertext.byteLength);
  copy.set(ciphertext);
  return request('POST', `/api/chat/conversations/${id(conversationId)}/blobs`, {
    raw: { data: new Blob([copy]), contentType: 'application/octet-stream' },
  });
}

/** The encrypted bytes of an attachment. */
export async function downloadBlob(blobId: string): Promise<Uint8Array> {
  const { blob } = await requestFile(`/api/chat/blobs/${id(blobId)}`, blobId);
  return new Uint8Array(await blob.arrayBuffer());
}

/** What the server knows of a conversation (auditors and admins); never content. */
export interface ChatMetadataConversation {
  id: string;
  kind: ChatConversationKind;
  memberUserIds: string[];
  /** Display names of the members, by user id. */
  memberNames: Record<string, string>;
  /** Devices in the MLS group, i.e. the devices that can decrypt it. */
  devices: number;
  /** Application messages only; commits are group bookkeeping, not messages. */
  messages: number;
  /** Ciphertext bytes of those messages. */
  bytes: number;
  lastMessageAt: string | null;
  createdAt: string;
}

/** One stored message as the server sees it: who sent it from where, when, how big. */
export interface ChatMetadataMessage {
  seq: number;
  kind: ChatMessageKind;
  senderUserId: string;
  senderDisplayName: string;
  senderDeviceId: string;
  /** Ciphertext bytes. */
  size: number;
  createdAt: string;
}

/** Every conversation of the tenant with counts; the server audits the read. */
export function listMetadataConversations(): Promise<ChatMetadataConversation[]> {
  return request<ChatMetadataConversation[]>('GET', '/api/chat/metadata/conversations');
}

/**
 * Message metadata after `after` (a seq), oldest first, at most `limit` (the server caps
 * it at `CHAT_LIMITS.pageSize`); the server audits each read.
 */
export function listMetadataMessages(
  conversationId: string,
  after: number,
  limit: number,
): Promise<ChatMetadataMessage[]> {
  return request<ChatMetadataMessage[]>(
    'GET',
    `/api/chat/metadata/conversations/${id(conversationId)}/messages`,
    { query: { after, limit } },
  );
}

/** The engine's HTTP calls through the app's authenticated client (errors carry `code`). */
export const chatRequest: ChatRequest = (method, path, body) =>
  request<unknown>(method, path, body === undefined ? {} : { body });

/**
 * Sends over the socket when it is up (one round trip less) and over HTTP otherwise.
 * A socket that gives no answer may still have stored the message; the HTTP retry uses
 * the same `clientId`, so the server never stores it twice.
 */
export async function sendMessage(message: ChatSend): Promise<ChatSendResult> {
  if (isConnected()) {
    try {
      return await emitWithAck<ChatSendResult>(CHAT_CLIENT_EVENTS.send, message);
    } catch (error) {
      if (!isApiError(error, 'NETWORK_ERROR')) throw error;
    }
  }
  const { conversationId, ...body } = message;
  return request<ChatSendResult>('POST', `/api/chat/conversations/${id(conversationId)}/messages`, {
    body,
  });
}

/** The delivery-service transport for `ChatClient`. */
export function chatTransport(): ChatTransport {
  return httpChatTransport(chatRequest, { send: sendMessage });
}
