import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import {
  ChatClient,
  MemoryChatStore,
  httpChatTransport,
  type ChatRequest,
} from '@trupp/chat-client';
import type { ChatSendResult } from '@trupp/shared';
import { nowMs } from '../lib/device.ts';
import { CodedError, PortChannel } from '../lib/pool.ts';
import {
  checkText,
  messageText,
  type ChatDeviceSpec,
  type MlsCall,
  type MlsEvent,
  type MlsSyncResult,
  type SocketCall,
  type SocketEvent,
} from './protocol.ts';

/**
 * The MLS thread of a chat device process: one real `ChatClient` per device of the
 * process (ts-mls, in-memory store) on the real HTTP routes. Its `chat.send` goes out on
 * the device's socket, which the main thread holds; pushed envelopes for decrypting
 * devices come in from there. Kept off the main thread so that encryption's many async
 * steps do not wait behind thousands of socket messages a second, and decryption does
 * not delay the arrival timestamps.
 */

const clients = new Map<number, ChatClient>();
const channel = new PortChannel<SocketCall, SocketEvent, MlsCall, MlsEvent>(parentPort!, {
  call: handle,
  event: onEnvelope,
});

function bearerRequest(url: string, token: string): ChatRequest {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 400) {
      const error = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      throw new CodedError(error.code ?? `HTTP_${res.status}`, error.message ?? res.statusText);
    }
    return res.status === 204 ? undefined : res.json();
  };
}

/**
 * The real client posts `delivered` after every pushed message it processes; for the
 * sampled decrypting devices that would add requests a second that the devices that do
 * not decrypt here would not add. Reporting the newest seq once a second keeps the
 * receipts moving at a load proportionate to the sample.
 */
async function init(url: string, spec: ChatDeviceSpec): Promise<number> {
  const started = nowMs();
  const http = httpChatTransport(bearerRequest(url, spec.token), {
    send: (message) => channel.call<ChatSendResult>({ op: 'emit', index: spec.index, message }),
  });
  const client = new ChatClient({
    userId: spec.userId,
    deviceId: spec.deviceId,
    // Delivery positions: the client's own coalescing (one report a second), as in the app.
    transport: http,
    store: new MemoryChatStore(),
    reconcileJitterMs: 0,
  });
  client.on('message', (event) => {
    if (event.own) return;
    const at = nowMs();
    const checked = event.content.type === 'text' ? checkText(event.content.text) : null;
    channel.emit({
      op: 'decrypted',
      index: spec.index,
      seq: event.seq,
      at,
      k: checked ? checked.k : NaN,
      intact: checked?.intact ?? false,
    });
  });
  client.on('error', (event) =>
    channel.emit({
      op: 'clientError',
      index: spec.index,
      reason: event.reason,
      message: event.error instanceof Error ? event.error.message : String(event.error),
    }),
  );
  await client.init();
  clients.set(spec.index, client);
  return nowMs() - started;
}

async function sync(index: number, conversationId: string): Promise<MlsSyncResult> {
  const client = clients.get(index)!;
  const started = nowMs();
  let error: string | null = null;
  try {
    await client.sync();
  } catch (e) {
    error = String(e);
  }
  const ms = nowMs() - started;
  return { ms, epoch: await client.epoch(conversationId), error };
}

async function handle(call: MlsCall): Promise<unknown> {
  switch (call.op) {
    case 'init':
      return init(call.url, call.spec);
    case 'sync':
      return sync(call.index, call.conversationId);
    case 'send':
      await clients.get(call.index)!.send(call.conversationId, {
        v: 1,
        type: 'text',
        id: randomUUID(),
        text: messageText(call.k),
      });
      return null;
  }
}

function onEnvelope(event: MlsEvent): void {
  // Probes and warm-up too: the MLS state must see every message in order.
  void clients
    .get(event.index)
    ?.handleEnvelope(event.envelope)
    .catch(() => undefined);
}
