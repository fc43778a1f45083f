import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { CHAT_LIMITS } from '@trupp/shared';
import * as chatApi from '../api/chat.ts';
import type { ChatMetadataConversation, ChatMetadataMessage } from '../api/chat.ts';
import { toCsv } from '../composables/download.ts';
import { useChatMetadataStore } from './chat-metadata.ts';

vi.mock('../api/chat.ts');
const chat = vi.mocked(chatApi);

const conversation = (
  id: string,
  memberUserIds: string[],
  overrides: Partial<ChatMetadataConversation> = {},
): ChatMetadataConversation => ({
  id,
  kind: 'group',
  memberUserIds,
  memberNames: Object.fromEntries(
    memberUserIds.map((id) => [
      id,
      ({ u1: 'Anna Alt', u2: '=Bert' } as Record<string, string>)[id] ?? id,
    ]),
  ),
  devices: 3,
  messages: 2,
  bytes: 2048,
  lastMessageAt: '2025-06-01T12:00:00.000Z',
  createdAt: '2025-05-01T08:00:00.000Z',
  ...overrides,
});

const message = (seq: number, senderUserId = 'u1'): ChatMetadataMessage => ({
  seq,
  kind: 'application',
  senderUserId,
  senderDisplayName: senderUserId === 'u3' ? 'Carla Left' : senderUserId,
  senderDeviceId: `d-${senderUserId}`,
  size: 100 + seq,
  createdAt: '2025-06-01T12:00:00.000Z',
});

/** A promise the test settles when it chooses (to order two answers). */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => {
  vi.clearAllMocks();
  setActivePinia(createPinia());
  chat.listMetadataConversations.mockResolvedValue([
    conversation('c1', ['u1', 'u2']),
    conversation('c2', ['u1'], { kind: 'direct', messages: 0, bytes: 0, lastMessageAt: null }),
  ]);
});

describe('chat metadata store', () => {
  it('shows the names the server sends with the metadata (auditors cannot read the directory)', async () => {
    const store = useChatMetadataStore();
    await store.load();
    expect(store.conversations.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(store.nameOf('u1')).toBe('Anna Alt');
    expect(store.nameOf('unknown')).toBeNull();
    // A sender who has left the conversation is named from the message metadata.
    chat.listMetadataMessages.mockResolvedValueOnce([message(1, 'u3')]);
    await store.select('c1');
    expect(store.nameOf('u3')).toBe('Carla Left');
  });

  it('loads the first page of a selected conversation and pages on after the last seq', async () => {
    const full = Array.from({ length: CHAT_LIMITS.pageSize }, (_, i) => message(i + 1));
    chat.listMetadataMessages.mockResolvedValueOnce(full).mockResolvedValueOnce([message(501)]);
    const store = useChatMetadataStore();
    await store.load();

    await store.select('c1');
    expect(chat.listMetadataMessages).toHaveBeenLastCalledWith('c1', 0, CHAT_LIMITS.pageSize);
    expect(store.messagesMore).toBe(true);

    await store.moreMessages();
    expect(chat.listMetadataMessages).toHaveBeenLastCalledWith('c1', 500, CHAT_LIMITS.pageSize);
    expect(store.messages).toHaveLength(501);
    expect(store.messagesMore).toBe(false);
  });

  it('keeps the messages of the conversation selected last when an older answer arrives late', async () => {
    const slow = deferred<ChatMetadataMessage[]>();
    chat.listMetadataMessages
      .mockReturnValueOnce(slow.promise)
      .mockResolvedValueOnce([message(1, 'u2')]);
    const store = useChatMetadataStore();
    await store.load();

    const first = store.select('c1');
    await store.select('c2');
    slow.resolve([message(1), message(2)]);
    await first;

    expect(store.selectedId).toBe('c2');
    expect(store.messages.map((m) => m.senderUserId)).toEqual(['u2']);
  });

  it('exports what is shown as CSV, names and ids, with formulas defused', async () => {
    chat.listMetadataMessages.mockResolvedValue([message(1), message(2, 'u2')]);
    const store = useChatMetadataStore();
    await store.load();
    await store.select('c1');

    const conversations = toCsv(store.conversationsCsv()).split('\r\n');
    expect(conversations).toHaveLength(3);
    expect(conversations[1]).toBe(
      `"c1","group","Anna Alt; =Bert","u1; u2","3","2","2048","2025-06-01T12:00:00.000Z","2025-05-01T08:00:00.000Z"`,
    );
    expect(conversations[2]).toContain('"c2","direct"');

    const messages = toCsv(store.messagesCsv()).split('\r\n');
    expect(messages[0]).toBe(
      '"conversation","seq","time","sender","sender id","device id","kind","bytes"',
    );
    expect(messages[2]).toBe(
      `"c1","2","2025-06-01T12:00:00.000Z","'=Bert","u2","d-u2","application","102"`,
    );
  });
});
