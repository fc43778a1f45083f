import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { ChatContent, ChatConversation } from '@trupp/shared';
import type * as ChatClientModule from '@trupp/chat-client';
import type { ChatMessageEvent } from '@trupp/chat-client';
import * as chatApi from '../api/chat.ts';
import { MemoryKv } from '../chat/secure-store.ts';
import { useChatLockStore } from './chat-lock.ts';
import { useChatStore, type ChatItem } from './chat.ts';

/**
 * The chat store over a stubbed `api/` module and a scripted engine: what the engine
 * emits becomes the conversation's items (edits and deletes applied, only by their
 * sender), own messages come from the send result, history survives a reload through the
 * encrypted store, and messages older than the retention period are dropped.
 */

const DAY = 24 * 60 * 60 * 1000;
const ME = 'u-me';
const OTHER = 'u-other';

const state = vi.hoisted(() => ({
  conversations: [] as ChatConversation[],
  engine: null as null | {
    emit(type: 'message', event: ChatMessageEvent): void;
  },
  markRead: [] as Array<{ conversationId: string; seq: number }>,
  /** Socket event listeners, by event name. */
  listeners: new Map<string, Set<(payload: unknown) => void>>(),
}));

vi.mock('../api/chat.ts', () => ({
  chatTransport: () => ({
    listConversations: async () => state.conversations,
  }),
  listConversations: vi.fn(async () => state.conversations),
  createConversation: vi.fn(),
  updateConversation: vi.fn(),
  leaveConversation: vi.fn(),
  receipts: async () => [],
  markRead: async (conversationId: string, seq: number) => {
    state.markRead.push({ conversationId, seq });
  },
  uploadBlob: vi.fn(),
  downloadBlob: vi.fn(),
}));

vi.mock('../api/directory.ts', () => ({ listUsers: async () => [], listUnits: async () => [] }));

vi.mock('../realtime/socket.ts', () => ({
  onServerEvent: (event: string, listener: (payload: unknown) => void) => {
    const set = state.listeners.get(event) ?? new Set();
    state.listeners.set(event, set);
    set.add(listener);
    return () => set.delete(listener);
  },
  onConnected: () => () => undefined,
  isConnected: () => false,
  emitWithAck: vi.fn(),
}));

vi.mock('./session.ts', () => ({
  useSessionStore: () => ({
    me: { id: 'u-me', displayName: 'Me' },
    session: { deviceId: 'd-me' },
    can: (permission: string) => permission === 'chat.use',
  }),
}));

vi.mock('@trupp/chat-client', async (importOriginal) => {
  const original = await importOriginal<typeof ChatClientModule>();
  type Listener = (event: unknown) => void;
  /** The engine as the store sees it: it emits what it decrypted and what it sent. */
  class ScriptedClient {
    readonly listeners = new Map<string, Set<Listener>>();
    seq = 100;
    constructor(readonly options: { transport: { listConversations(): Promise<unknown> } }) {
      state.engine = this as never;
    }
    on(type: string, listener: Listener) {
      const set = this.listeners.get(type) ?? new Set();
      this.listeners.set(type, set);
      set.add(listener);
      return () => set.delete(listener);
    }
    emit(type: string, event: unknown) {
      this.listeners.get(type)?.forEach((listener) => listener(event));
    }
    async init() {}
    async sync() {
      await this.options.transport.listConversations();
    }
    async isMember() {
      return true;
    }
    async devices() {
      return [];
    }
    async send(conversationId: string, content: ChatContent) {
      const result = { id: `s-${this.seq}`, seq: ++this.seq, createdAt: new Date().toISOString() };
      // Like the real engine: the sent message is emitted once, from the send result.
      this.emit('message', {
        conversationId,
        seq: result.seq,
        senderUserId: 'u-me',
        senderDeviceId: 'd-me',
        createdAt: result.createdAt,
        content,
        own: true,
      });
      return result;
    }
  }
  return { ...original, ChatClient: ScriptedClient };
});

function conversationFixture(overrides: Partial<ChatConversation> = {}): ChatConversation {
  return {
    id: 'c1',
    kind: 'group',
    title: 'Zug 1',
    unitId: null,
    followUnit: false,
    alarmId: null,
    members: [
      { userId: ME, displayName: 'Me', role: 'owner' },
      { userId: OTHER, displayName: 'Max', role: 'member' },
    ],
    epoch: 1,
    lastSeq: 0,
    readSeq: 0,
    unread: 0,
    retentionDays: 30,
    devices: [],
    pending: { add: [], remove: [] },
    archived: false,
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

let kv: MemoryKv;

/**
 * A fresh app instance over the device storage `kv`. The pinia is passed explicitly: a
 * store action still running from an earlier test would otherwise make its own pinia the
 * active one again.
 */
async function startChat() {
  const pinia = createPinia();
  setActivePinia(pinia);
  const lock = useChatLockStore(pinia);
  await lock.init({ kv, iterations: 1000 });
  if (lock.status === 'no-pin') await lock.setPin('123456');
  else await lock.unlock('123456');
  const chat = useChatStore(pinia);
  await chat.start();
  expect(chat.status).toBe('ready');
  return { chat, lock };
}

function receive(seq: number, senderUserId: string, content: ChatContent, createdAt?: string) {
  state.engine!.emit('message', {
    conversationId: 'c1',
    seq,
    senderUserId,
    senderDeviceId: `${senderUserId}-device`,
    createdAt: createdAt ?? new Date().toISOString(),
    content,
    own: false,
  });
}

const items = (chat: ReturnType<typeof useChatStore>) =>
  (chat.messages.c1 ?? []) as readonly ChatItem[];

beforeEach(() => {
  setActivePinia(createPinia());
  kv = new MemoryKv();
  state.conversations = [conversationFixture()];
  state.markRead = [];
  state.engine = null;
  state.listeners.clear();
  vi.mocked(chatApi.updateConversation).mockReset();
  vi.mocked(chatApi.listConversations).mockClear();
});

/** What the server answers to a PATCH of the group, applied to `state.conversations`. */
function serverPatch(conversationId: string, patch: chatApi.ChatConversationPatch) {
  const current = state.conversations.find((c) => c.id === conversationId)!;
  const members = current.members
    .filter((m) => !patch.removeUserIds?.includes(m.userId))
    .concat(
      (patch.addUserIds ?? []).map((userId) => ({
        userId,
        displayName: userId,
        role: 'member' as const,
      })),
    );
  const next: ChatConversation = {
    ...current,
    members,
    ...(patch.title !== undefined ? { title: patch.title } : {}),
    ...(patch.retentionDays !== undefined ? { retentionDays: patch.retentionDays ?? 30 } : {}),
  };
  state.conversations = state.conversations.map((c) => (c.id === conversationId ? next : c));
  return next;
}

function emitServer(event: string, payload: unknown): void {
  state.listeners.get(event)?.forEach((listener) => listener(payload));
}

describe('chat store', () => {
  it('runs the chat in one tab only: a second tab waits until the first lets go', async () => {
    // A Web Locks stand-in shared by two "tabs" (two app instances on one device store).
    const held = new Set<string>();
    const locks = {
      request: async (
        name: string,
        _options: { ifAvailable: boolean },
        task: (lock: { name: string } | null) => Promise<void> | undefined,
      ) => {
        if (held.has(name)) return task(null);
        held.add(name);
        try {
          await task({ name });
        } finally {
          held.delete(name);
        }
      },
    };
    vi.stubGlobal('navigator', { ...globalThis.navigator, locks });
    try {
      const first = await startChat();
      const pinia = createPinia();
      const lock = useChatLockStore(pinia);
      await lock.init({ kv, iterations: 1000 });
      await lock.unlock('123456');
      const second = useChatStore(pinia);
      await second.start();
      expect(second.status).toBe('other-tab');
      // The first tab locks its chat: the second may take over.
      first.lock.lock();
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(held.size).toBe(0);
      await second.start();
      expect(second.status).toBe('ready');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('shows own messages from the send result and finds them again after a reload', async () => {
    const { chat, lock } = await startChat();
    await chat.sendText('c1', 'Wasser marsch', { mentions: [OTHER] });

    expect(items(chat)).toHaveLength(1);
    expect(items(chat)[0]).toMatchObject({
      kind: 'text',
      text: 'Wasser marsch',
      senderUserId: ME,
      mentions: [OTHER],
      seq: 101,
    });
    await vi.waitFor(async () => expect(await lock.chatStore().get('msgs/c1')).toBeDefined());

    // The lock closes: nothing decrypted stays in memory.
    lock.lock();
    await vi.waitFor(() => expect(chat.messages).toEqual({}));
    expect(chat.status).toBe('idle');

    // A reload: a new app instance over the same device storage.
    const again = await startChat();
    expect(items(again.chat).map((item) => item.text)).toEqual(['Wasser marsch']);
  });

  it('applies edits and deletes from the original sender only', async () => {
    const { chat } = await startChat();
    receive(1, OTHER, { v: 1, type: 'text', id: 'm1', text: 'Treffpunkt Nord' });
    receive(2, ME, { v: 1, type: 'text', id: 'm2', text: 'Verstanden', replyTo: 'm1' });

    // Someone else cannot rewrite Max's message.
    receive(3, ME, { v: 1, type: 'edit', id: 'e0', target: 'm1', text: 'Treffpunkt Süd' });
    expect(items(chat)[0]).toMatchObject({ text: 'Treffpunkt Nord' });
    expect(items(chat)[0]!.edited).toBeUndefined();

    receive(4, OTHER, { v: 1, type: 'edit', id: 'e1', target: 'm1', text: 'Treffpunkt West' });
    expect(items(chat)[0]).toMatchObject({ text: 'Treffpunkt West', edited: true });

    receive(5, ME, { v: 1, type: 'delete', id: 'd0', target: 'm1' });
    expect(items(chat)[0]!.deleted).toBeUndefined();
    receive(6, OTHER, { v: 1, type: 'delete', id: 'd1', target: 'm1' });
    expect(items(chat)[0]).toMatchObject({ id: 'm1', deleted: true });
    expect(items(chat)[0]!.text).toBeUndefined();

    // Edits and deletes are not lines of their own; the reply keeps pointing at m1.
    expect(items(chat).map((item) => item.id)).toEqual(['m1', 'm2']);
    expect(items(chat)[1]).toMatchObject({ replyTo: 'm1' });

    // Own edits go out through the engine and come back as applied.
    await chat.editMessage('c1', 'm2', 'Verstanden, komme');
    expect(items(chat)[1]).toMatchObject({ text: 'Verstanden, komme', edited: true });
  });

  it('counts unread messages from others and marks them read', async () => {
    const { chat } = await startChat();
    receive(1, OTHER, { v: 1, type: 'text', id: 'm1', text: 'eins' });
    receive(2, OTHER, { v: 1, type: 'text', id: 'm2', text: 'zwei' });
    await chat.sendText('c1', 'drei');
    expect(chat.unreadOf('c1')).toBe(2);

    await chat.markRead('c1');
    expect(chat.unreadOf('c1')).toBe(0);
    expect(state.markRead).toEqual([{ conversationId: 'c1', seq: 101 }]);
  });

  it('drops messages older than the conversation keeps them', async () => {
    state.conversations = [conversationFixture({ retentionDays: 2 })];
    const { chat, lock } = await startChat();
    const now = Date.now();
    receive(
      1,
      OTHER,
      { v: 1, type: 'text', id: 'old', text: 'alt' },
      new Date(now - 3 * DAY).toISOString(),
    );
    receive(
      2,
      OTHER,
      { v: 1, type: 'text', id: 'new', text: 'neu' },
      new Date(now - DAY).toISOString(),
    );
    expect(items(chat)).toHaveLength(2);

    chat.applyRetention(now);
    expect(items(chat).map((item) => item.id)).toEqual(['new']);
    await vi.waitFor(async () => {
      const stored = await lock.chatStore().get('msgs/c1');
      expect(new TextDecoder().decode(stored)).not.toContain('alt');
    });
  });

  it('renames a group, adds and removes members and sets its retention through the server', async () => {
    const update = vi.mocked(chatApi.updateConversation);
    update.mockImplementation(async (conversationId, patch) => serverPatch(conversationId, patch));
    const { chat } = await startChat();
    const memberIds = () => chat.conversation('c1')?.members.map((m) => m.userId);

    await chat.rename('c1', 'Zug 2');
    expect(chat.titleOf(chat.conversation('c1')!)).toBe('Zug 2');

    await chat.addMembers('c1', []);
    await chat.addMembers('c1', ['u-new']);
    expect(memberIds()).toEqual([ME, OTHER, 'u-new']);

    await chat.removeMember('c1', OTHER);
    expect(memberIds()).toEqual([ME, 'u-new']);

    // A shorter period drops older messages on this device at once.
    const now = Date.now();
    receive(
      1,
      'u-new',
      { v: 1, type: 'text', id: 'old', text: 'alt' },
      new Date(now - 3 * DAY).toISOString(),
    );
    receive(
      2,
      'u-new',
      { v: 1, type: 'text', id: 'new', text: 'neu' },
      new Date(now - DAY).toISOString(),
    );
    await chat.setRetention('c1', 2);
    expect(chat.conversation('c1')?.retentionDays).toBe(2);
    expect(items(chat).map((item) => item.id)).toEqual(['new']);

    // Empty: back to the organisation's period.
    await chat.setRetention('c1', null);
    expect(chat.conversation('c1')?.retentionDays).toBe(30);

    expect(update.mock.calls).toEqual([
      ['c1', { title: 'Zug 2' }],
      ['c1', { addUserIds: ['u-new'] }],
      ['c1', { removeUserIds: [OTHER] }],
      ['c1', { retentionDays: 2 }],
      ['c1', { retentionDays: null }],
    ]);
  });

  it('leaves a group as it was when the server refuses a change', async () => {
    const refused = Object.assign(new Error('forbidden'), { code: 'AUTH_FORBIDDEN' });
    vi.mocked(chatApi.updateConversation).mockRejectedValue(refused);
    const { chat } = await startChat();

    await expect(chat.removeMember('c1', OTHER)).rejects.toBe(refused);
    await expect(chat.rename('c1', 'Anders')).rejects.toBe(refused);
    expect(chat.conversation('c1')).toMatchObject({ title: 'Zug 1' });
    expect(chat.conversation('c1')?.members.map((m) => m.userId)).toEqual([ME, OTHER]);
  });

  it('keeps unread counts and alarm chats from the server while the chat is locked', async () => {
    const pinia = createPinia();
    setActivePinia(pinia);
    const lock = useChatLockStore(pinia);
    await lock.init({ kv, iterations: 1000 });
    await lock.setPin('123456');
    const chat = useChatStore(pinia);
    chat.watchUnread();
    await chat.start();
    receive(1, OTHER, { v: 1, type: 'text', id: 'm1', text: 'eins' });
    expect(chat.totalUnread).toBe(1);
    await vi.waitFor(async () => expect(await lock.chatStore().get('msgs/c1')).toBeDefined());

    // The lock closes: nothing decrypted stays, the counts come from the server's list.
    state.conversations = [
      conversationFixture({ unread: 3, lastSeq: 3 }),
      conversationFixture({ id: 'c2', kind: 'alarm', alarmId: 'a1', unread: 1, lastSeq: 1 }),
    ];
    lock.lock();
    await vi.waitFor(() => expect(chat.totalUnread).toBe(4), { timeout: 3000 });
    expect(chat.messages).toEqual({});
    expect(chat.status).toBe('idle');
    expect(chat.alarmConversation('a1')?.id).toBe('c2');
    expect(chat.alarmConversation('a2')).toBeUndefined();

    // A new message while locked: the list is fetched again, nothing is decrypted.
    const engine = state.engine;
    state.conversations = [conversationFixture({ unread: 4, lastSeq: 4 }), state.conversations[1]!];
    emitServer('chat.message', { conversationId: 'c1', seq: 4 });
    await vi.waitFor(() => expect(chat.totalUnread).toBe(5), { timeout: 3000 });
    expect(state.engine).toBe(engine);
    expect(chat.messages).toEqual({});
  });
});
