import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import {
  ChatClient,
  MemoryChatStore,
  httpChatTransport,
  type ChatPreparedSend,
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
  type MlsPrepareResult,
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
/** Per device: messages encrypted ahead, by message number k, until sent. */
const prepared = new Map<number, Map<number, ChatPreparedSend>>();
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

const content = (k: number) => ({
  v: 1 as const,
  type: 'text' as const,
  id: randomUUID(),
  text: messageText(k),
});

/**
 * Encrypts the device's messages of the run ahead, one after another in the order they
 * will be sent (receivers read a sender's ratchet in order), timing each: the encryption
 * cost a phone pays per message, measured apart from the delivery service.
 */
async function prepare(index: number, conversationId: string, ks: number[]) {
  const client = clients.get(index)!;
  const mine = new Map<number, ChatPreparedSend>();
  prepared.set(index, mine);
  const result: MlsPrepareResult = { encryptMs: [], epochs: [], payloadChars: 0 };
  for (const k of ks) {
    const started = nowMs();
    const message = await client.prepare(conversationId, content(k));
    result.encryptMs.push(nowMs() - started);
    if (!result.epochs.includes(message.message.epoch)) result.epochs.push(message.message.epoch);
    result.payloadChars = Math.max(result.payloadChars, message.message.payload.length);
    mine.set(k, message);
  }
  return result;
}

async function sendPrepared(index: number, k: number): Promise<null> {
  const message = prepared.get(index)?.get(k);
  if (!message) throw new CodedError('BENCH_NOT_PREPARED', `message ${k} was not prepared`);
  prepared.get(index)!.delete(k);
  await clients.get(index)!.sendPrepared(message);
  return null;
}

async function handle(call: MlsCall): Promise<unknown> {
  switch (call.op) {
    case 'init':
      return init(call.url, call.spec);
    case 'sync':
      return sync(call.index, call.conversationId);
    case 'send':
      await clients.get(call.index)!.send(call.conversationId, content(call.k));
      return null;
    case 'prepare':
      return prepare(call.index, call.conversationId, call.ks);
    case 'sendPrepared':
      return sendPrepared(call.index, call.k);
  }
}

function onEnvelope(event: MlsEvent): void {
  // Probes and warm-up too: the MLS state must see every message in order. Envelopes that
  // queue up while the client is busy are taken up as one batch, saved once (ChatClient).
  void clients
    .get(event.index)
    ?.handleEnvelope(event.envelope)
    .catch(() => undefined);
}
