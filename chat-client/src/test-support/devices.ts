import type { ChatContent } from '@trupp/shared';
import { ChatClient } from '../ChatClient.ts';
import type { ChatErrorEvent, ChatMessageEvent, ChatSystemEvent } from '../events.ts';
import { MemoryChatStore } from '../store.ts';
import type { ChatTransport } from '../transport.ts';
import type { MemoryDeliveryService } from './memory-ds.ts';

/** A test device: a client plus everything it emitted. */
export interface TestDevice {
  client: ChatClient;
  store: MemoryChatStore;
  messages: ChatMessageEvent[];
  system: ChatSystemEvent[];
  errors: ChatErrorEvent[];
  /** Texts of messages from others, in order. */
  texts(): string[];
}

export async function makeDevice(
  ds: MemoryDeliveryService,
  userId: string,
  deviceId: string,
  opts: { store?: MemoryChatStore; transport?: ChatTransport } = {},
): Promise<TestDevice> {
  if (!ds.devices.has(deviceId)) ds.registerDevice(userId, deviceId);
  const store = opts.store ?? new MemoryChatStore();
  const client = new ChatClient({
    userId,
    deviceId,
    transport: opts.transport ?? ds.transport(deviceId),
    store,
    reconcileJitterMs: 0,
    deliveredIntervalMs: 0,
  });
  const device: TestDevice = {
    client,
    store,
    messages: [],
    system: [],
    errors: [],
    texts: () =>
      device.messages
        .filter((m) => !m.own)
        .map((m) => (m.content.type === 'text' ? m.content.text : '')),
  };
  client.on('message', (e) => device.messages.push(e));
  client.on('system', (e) => device.system.push(e));
  client.on('error', (e) => device.errors.push(e));
  await client.init();
  return device;
}

let counter = 0;
export const text = (value: string): ChatContent => ({
  v: 1,
  type: 'text',
  id: `m${++counter}`,
  text: value,
});
