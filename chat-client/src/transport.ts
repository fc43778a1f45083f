import type {
  ChatClaimedKeyPackage,
  ChatCommitUpload,
  ChatConversation,
  ChatEnvelope,
  ChatKeyPackageUpload,
  ChatSend,
  ChatSendResult,
  ChatWelcome,
} from '@trupp/shared';

/**
 * How the client reaches the delivery service. The web app implements it over HTTP and
 * the socket, tests with an in-memory server. Failures reject with an error whose `code`
 * is the server's error code (e.g. `CHAT_EPOCH_STALE`, `CHAT_EPOCH_CONFLICT`).
 */
export interface ChatTransport {
  uploadKeyPackages(upload: ChatKeyPackageUpload): Promise<void>;
  /** Unused key packages of this device on the server, the last-resort one not counted. */
  keyPackageCount(): Promise<number>;
  claimKeyPackages(deviceIds: string[]): Promise<ChatClaimedKeyPackage[]>;
  listConversations(): Promise<ChatConversation[]>;
  fetchMessages(conversationId: string, afterSeq: number, limit: number): Promise<ChatEnvelope[]>;
  fetchWelcomes(): Promise<ChatWelcome[]>;
  /** The device joined with this welcome; the server may delete it. */
  acknowledgeWelcome?(welcomeId: string): Promise<void>;
  send(message: ChatSend): Promise<ChatSendResult>;
  commit(conversationId: string, upload: ChatCommitUpload): Promise<{ seq: number; epoch: number }>;
  delivered(conversationId: string, seq: number): Promise<void>;
}

/** The server error code carried by a transport failure, if any. */
export const errorCode = (error: unknown): string | undefined =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;

/** A failure the client raises itself, with a code from the shared catalogue where one fits. */
export class ChatClientError extends Error {
  override readonly name = 'ChatClientError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
