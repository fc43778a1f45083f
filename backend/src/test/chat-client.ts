import type { FastifyInstance } from 'fastify';
import { ChatClient, MemoryChatStore, httpChatTransport, type ChatStore } from '@trupp/chat-client';

/**
 * `ChatRequest` for @trupp/chat-client that calls the routes in-process (app.inject) and
 * rejects with the server's error code, as the web app's HTTP client does.
 */
export function injectChatRequest(app: FastifyInstance, token: string) {
  return async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (res.statusCode >= 400) {
      const error = res.json<{ code: string; message: string }>();
      throw Object.assign(new Error(error.message), { code: error.code, status: res.statusCode });
    }
    return res.statusCode === 204 ? undefined : res.json();
  };
}

/** A real MLS client for a signed-in test device (no reconcile jitter). */
export function testChatClient(
  app: FastifyInstance,
  device: { userId: string; deviceId: string; token: string },
  store: ChatStore = new MemoryChatStore(),
): ChatClient {
  return new ChatClient({
    userId: device.userId,
    deviceId: device.deviceId,
    transport: httpChatTransport(injectChatRequest(app, device.token)),
    store,
    reconcileJitterMs: 0,
    deliveredIntervalMs: 0,
  });
}
