import type {
  ChatClaimedKeyPackage,
  ChatConversation,
  ChatEnvelope,
  ChatSend,
  ChatSendResult,
  ChatWelcome,
} from '@trupp/shared';
import type { ChatTransport } from './transport.ts';

/**
 * One HTTP call to the backend: resolves with the parsed JSON body (undefined for 204),
 * rejects with an error carrying the server's `code` (see `errorCode`). The web app
 * passes its authenticated client; tests and benchmarks a fetch with a bearer token.
 */
export type ChatRequest = (
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
) => Promise<unknown>;

const enc = encodeURIComponent;

/**
 * The delivery service over the backend's `/api/chat` routes (shared/src/chat.ts).
 * `send` may be replaced by the socket's `chat.send`, which skips an HTTP round trip.
 */
export function httpChatTransport(
  request: ChatRequest,
  options: { send?: (message: ChatSend) => Promise<ChatSendResult> } = {},
): ChatTransport {
  return {
    async uploadKeyPackages(upload) {
      await request('POST', '/api/chat/key-packages', upload);
    },
    async keyPackageCount() {
      const { available } = (await request('GET', '/api/chat/key-packages/count')) as {
        available: number;
      };
      return available;
    },
    async claimKeyPackages(deviceIds) {
      return (await request('POST', '/api/chat/key-packages/claim', {
        deviceIds,
      })) as ChatClaimedKeyPackage[];
    },
    async listConversations() {
      return (await request('GET', '/api/chat/conversations')) as ChatConversation[];
    },
    async fetchMessages(conversationId, afterSeq, limit) {
      return (await request(
        'GET',
        `/api/chat/conversations/${enc(conversationId)}/messages?after=${afterSeq}&limit=${limit}`,
      )) as ChatEnvelope[];
    },
    async fetchWelcomes() {
      return (await request('GET', '/api/chat/welcomes')) as ChatWelcome[];
    },
    async acknowledgeWelcome(welcomeId) {
      await request('DELETE', `/api/chat/welcomes/${enc(welcomeId)}`);
    },
    send:
      options.send ??
      (async (message) => {
        const { conversationId, ...body } = message;
        return (await request(
          'POST',
          `/api/chat/conversations/${enc(conversationId)}/messages`,
          body,
        )) as ChatSendResult;
      }),
    async commit(conversationId, upload) {
      return (await request(
        'POST',
        `/api/chat/conversations/${enc(conversationId)}/commits`,
        upload,
      )) as { seq: number; epoch: number };
    },
    async delivered(conversationId, seq) {
      await request('POST', `/api/chat/conversations/${enc(conversationId)}/delivered`, { seq });
    },
  };
}
