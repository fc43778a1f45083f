/**
 * The end-to-end encrypted chat on this device: the MLS engine (`@trupp/chat-client`)
 * for the signed-in user and device, the conversation list, the decrypted messages of
 * each conversation, receipts, attachments and the devices (with safety numbers) in
 * each group.
 *
 * The engine only runs while the app lock is open: its keys and the message history live
 * in the lock's encrypted store. When the lock closes, everything decrypted is dropped
 * from memory. Decrypted messages are kept under `msgs/<conversationId>` in that store,
 * because MLS cannot decrypt a message twice (and a sender never decrypts its own): the
 * store is the only place a reload finds history.
 *
 * Ordering: the engine emits messages strictly in seq order per conversation, so an edit
 * or delete always arrives after the message it points at (unless that one was sent
 * before this device joined, when there is nothing to change).
 */
import { defineStore } from 'pinia';
import { computed, readonly, ref, shallowRef, watch } from 'vue';
import {
  CHAT_EVENTS,
  type ChatAttachmentRef,
  type ChatContent,
  type ChatConversation,
  type ChatConversationCreate,
  type ChatEnvelope,
  type ChatReceipt,
  type ChatWelcome,
} from '@trupp/shared';
import {
  ChatClient,
  chatSafetyNumber,
  decryptBlob,
  encryptBlob,
  type ChatMessageEvent,
  type ChatSystemEvent,
  type ChatTransport,
} from '@trupp/chat-client';
import * as chatApi from '../api/chat.ts';
import * as directoryApi from '../api/directory.ts';
import type { Unit, UserSummary } from '../api/types.ts';
import { onConnected, onServerEvent } from '../realtime/socket.ts';
import { useChatLockStore } from './chat-lock.ts';
import { useSessionStore } from './session.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Bursts of `chat.changed` (a commit, then its welcome) lead to one sync. */
const SYNC_DEBOUNCE_MS = 300;
/** Bursts of chat events while the engine is not running lead to one list fetch. */
const LIST_DEBOUNCE_MS = 500;
const MESSAGES_KEY = (conversationId: string) => `msgs/${conversationId}`;

export type ChatSystemType = ChatSystemEvent['type'];

/** One line of a conversation as the list shows it, decrypted. */
export interface ChatItem {
  /** The content id (chosen by the sender); system lines get a local one. */
  id: string;
  seq: number;
  createdAt: string;
  senderUserId: string;
  senderDeviceId: string;
  kind: 'text' | 'attachment' | 'system';
  text?: string;
  attachment?: ChatAttachmentRef;
  caption?: string;
  mentions?: string[];
  replyTo?: string;
  edited?: boolean;
  deleted?: boolean;
  system?: { type: ChatSystemType; userId: string; deviceId: string; safetyNumber?: string };
}

/** A device in a conversation's group, as the cryptography sees it. */
export interface ChatGroupDevice {
  userId: string;
  deviceId: string;
  label: string;
  safetyNumber: string;
}

export type ChatReceiptState = 'sent' | 'delivered' | 'read';

export interface AttachmentInput {
  kind: ChatAttachmentRef['kind'];
  blob: Blob;
  name: string;
  mime: string;
  thumbnail?: string;
  width?: number;
  height?: number;
  durationMs?: number;
  caption?: string;
  replyTo?: string;
}

/** `other-tab`: another tab of this browser runs the chat (one MLS client per device). */
/** The Web Lock held by the one tab that runs the chat engine. */
const CHAT_TAB_LOCK = 'trupp-chat-engine';

export type ChatStatus = 'idle' | 'starting' | 'ready' | 'failed' | 'other-tab';

const newId = (): string => crypto.randomUUID();

function bySeq(a: ChatItem, b: ChatItem): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  // A commit's system lines come before anything at the same seq (there is none today).
  return (a.kind === 'system' ? 0 : 1) - (b.kind === 'system' ? 0 : 1);
}

/** The item a decrypted message becomes, or null for edits and deletes (they change others). */
export function itemOf(event: ChatMessageEvent): ChatItem | null {
  const base = {
    seq: event.seq,
    createdAt: event.createdAt,
    senderUserId: event.senderUserId,
    senderDeviceId: event.senderDeviceId,
  };
  const content = event.content;
  switch (content.type) {
    case 'text':
      return {
        ...base,
        id: content.id,
        kind: 'text',
        text: content.text,
        ...(content.mentions ? { mentions: content.mentions } : {}),
        ...(content.replyTo ? { replyTo: content.replyTo } : {}),
      };
    case 'attachment':
      return {
        ...base,
        id: content.id,
        kind: 'attachment',
        attachment: content.attachment,
        ...(content.caption ? { caption: content.caption } : {}),
        ...(content.mentions ? { mentions: content.mentions } : {}),
        ...(content.replyTo ? { replyTo: content.replyTo } : {}),
      };
    default:
      return null;
  }
}

/**
 * Applies an edit or delete to `items` (a new array when something changed). Only the
 * user who sent a message may change it; anything else is ignored, not trusted.
 */
export function applyChange(
  items: ChatItem[],
  senderUserId: string,
  content: Extract<ChatContent, { type: 'edit' | 'delete' }>,
): ChatItem[] {
  const index = items.findIndex((item) => item.id === content.target);
  const target = items[index];
  if (!target || target.kind === 'system' || target.senderUserId !== senderUserId) return items;
  const next = [...items];
  if (content.type === 'edit') {
    if (target.deleted) return items;
    next[index] =
      target.kind === 'text'
        ? { ...target, text: content.text, edited: true }
        : { ...target, caption: content.text, edited: true };
  } else {
    const { text: _text, attachment: _attachment, caption: _caption, ...rest } = target;
    next[index] = { ...rest, deleted: true };
  }
  return next;
}

/** Items still within the retention period (`retentionDays` back from `now`). */
export function withinRetention(items: ChatItem[], retentionDays: number, now: number): ChatItem[] {
  const oldest = now - retentionDays * DAY_MS;
  const kept = items.filter((item) => Date.parse(item.createdAt) >= oldest);
  return kept.length === items.length ? items : kept;
}

/** Delivered/read ticks of an own message from its receipt. */
export function receiptState(receipt: ChatReceipt | undefined): ChatReceiptState {
  if (!receipt) return 'sent';
  if (receipt.members > 0 && receipt.read >= receipt.members) return 'read';
  if (receipt.devices > 0 && receipt.delivered >= receipt.devices) return 'delivered';
  return 'sent';
}

export const useChatStore = defineStore('chat', () => {
  const session = useSessionStore();
  const lock = useChatLockStore();

  const status = ref<ChatStatus>('idle');
  const error = shallowRef<unknown>(null);
  const conversations = ref<ChatConversation[]>([]);
  const messages = ref<Record<string, ChatItem[]>>({});
  /** Whether this device is in the conversation's MLS group (it can read and send). */
  const inGroup = ref<Record<string, boolean>>({});
  /** The local read position, ahead of the server list until the next sync. */
  const readSeq = ref<Record<string, number>>({});
  const receipts = ref<Record<string, Record<number, ChatReceipt>>>({});
  const groupDevices = ref<Record<string, ChatGroupDevice[]>>({});
  const people = ref<UserSummary[]>([]);
  const units = ref<Unit[]>([]);
  const activeId = ref<string | null>(null);

  let client: ChatClient | null = null;
  /** Bumped by every start and stop; work of an older run drops its results. */
  let generation = 0;
  let starting: Promise<void> | null = null;
  let offs: Array<() => void> = [];
  let syncTimer: ReturnType<typeof setTimeout> | undefined;
  let syncing: Promise<void> | null = null;
  let syncAgain = false;
  /** Whether the unread counts are kept fresh without the engine (see `watchUnread`). */
  let watchingUnread = false;
  let listTimer: ReturnType<typeof setTimeout> | undefined;
  const blobUrls = new Map<string, Promise<string>>();
  const writes = new Map<string, Promise<void>>();

  const myId = computed(() => session.me?.id ?? '');

  function conversation(conversationId: string): ChatConversation | undefined {
    return conversations.value.find((c) => c.id === conversationId);
  }

  function memberName(conversationId: string, userId: string): string {
    const member = conversation(conversationId)?.members.find((m) => m.userId === userId);
    return member?.displayName ?? people.value.find((p) => p.id === userId)?.displayName ?? '?';
  }

  /** The conversation of an alarm (its members follow the alarm), if the user is in it. */
  function alarmConversation(alarmId: string): ChatConversation | undefined {
    return conversations.value.find((c) => c.kind === 'alarm' && c.alarmId === alarmId);
  }

  /** The group name, or for 1:1 the other person's name. */
  function titleOf(c: ChatConversation): string {
    if (c.title) return c.title;
    const others = c.members.filter((m) => m.userId !== myId.value);
    return others.map((m) => m.displayName).join(', ') || '—';
  }

  function lastMessage(conversationId: string): ChatItem | undefined {
    const items = messages.value[conversationId] ?? [];
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i]!.kind !== 'system') return items[i];
    }
    return undefined;
  }

  function unreadOf(conversationId: string): number {
    const c = conversation(conversationId);
    if (!c) return 0;
    const position = Math.max(c.readSeq, readSeq.value[conversationId] ?? 0);
    const local = (messages.value[conversationId] ?? []).filter(
      (item) => item.kind !== 'system' && item.seq > position && item.senderUserId !== myId.value,
    ).length;
    // The server counts what this device cannot decrypt too (sent before it joined).
    const server = (readSeq.value[conversationId] ?? 0) >= c.lastSeq ? 0 : c.unread;
    return Math.max(local, server);
  }

  const totalUnread = computed(() =>
    conversations.value.reduce((sum, c) => sum + unreadOf(c.id), 0),
  );

  const sortedConversations = computed(() =>
    [...conversations.value].sort((a, b) => {
      const at = lastMessage(a.id)?.createdAt ?? a.createdAt;
      const bt = lastMessage(b.id)?.createdAt ?? b.createdAt;
      return bt.localeCompare(at);
    }),
  );

  // ---- persistence ------------------------------------------------------------------

  /** Writes one conversation's items; writes of one conversation run one after the other. */
  function persist(conversationId: string): void {
    const run = generation;
    const previous = writes.get(conversationId) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (run !== generation) return;
      const items = messages.value[conversationId];
      const store = lock.chatStore();
      if (!items) await store.delete(MESSAGES_KEY(conversationId));
      else await store.put(MESSAGES_KEY(conversationId), encode(items));
    });
    writes.set(
      conversationId,
      next.catch((caught: unknown) => console.warn('chat history not saved', caught)),
    );
  }

  const encode = (items: ChatItem[]) => new TextEncoder().encode(JSON.stringify({ v: 1, items }));

  async function loadHistory(run: number): Promise<void> {
    const store = lock.chatStore();
    const loaded: Record<string, ChatItem[]> = {};
    for (const key of await store.keys('msgs/')) {
      const bytes = await store.get(key);
      if (!bytes) continue;
      try {
        const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { items?: ChatItem[] };
        if (Array.isArray(parsed.items)) loaded[key.slice('msgs/'.length)] = parsed.items;
      } catch {
        // A damaged entry is dropped; the rest of the history stays.
      }
    }
    if (run === generation) messages.value = loaded;
  }

  function setItems(conversationId: string, items: ChatItem[]): void {
    messages.value = { ...messages.value, [conversationId]: items };
    persist(conversationId);
  }

  /** Drops local messages older than each conversation's retention period. */
  function applyRetention(now = Date.now()): void {
    for (const c of conversations.value) {
      const items = messages.value[c.id];
      if (!items) continue;
      const kept = withinRetention(items, c.retentionDays, now);
      if (kept !== items) setItems(c.id, kept);
    }
  }

  // ---- engine events ----------------------------------------------------------------

  function onMessage(event: ChatMessageEvent): void {
    const items = messages.value[event.conversationId] ?? [];
    const content = event.content;
    if (content.type === 'edit' || content.type === 'delete') {
      const next = applyChange(items, event.senderUserId, content);
      if (next !== items) setItems(event.conversationId, next);
      return;
    }
    const item = itemOf(event);
    if (!item || items.some((existing) => existing.id === item.id)) return;
    setItems(event.conversationId, [...items, item].sort(bySeq));
    if (event.own) void loadReceipts(event.conversationId);
  }

  function onSystem(event: ChatSystemEvent): void {
    const id = `sys-${event.seq}-${event.type}-${event.deviceId}`;
    const items = messages.value[event.conversationId] ?? [];
    if (items.some((existing) => existing.id === id)) return;
    const item: ChatItem = {
      id,
      seq: event.seq,
      createdAt: new Date().toISOString(),
      senderUserId: event.userId,
      senderDeviceId: event.deviceId,
      kind: 'system',
      system: { type: event.type, userId: event.userId, deviceId: event.deviceId },
    };
    setItems(event.conversationId, [...items, item].sort(bySeq));
    if (event.type === 'device_added') void addSafetyNumber(event.conversationId, id);
  }

  /** Fills in the safety number of an added device from the group's leaves. */
  async function addSafetyNumber(conversationId: string, itemId: string): Promise<void> {
    const current = client;
    if (!current) return;
    const devices = await current.devices(conversationId).catch(() => []);
    const items = messages.value[conversationId] ?? [];
    const index = items.findIndex((item) => item.id === itemId);
    const item = items[index];
    const device = devices.find((d) => d.deviceId === item?.system?.deviceId);
    if (!item?.system || !device || current !== client) return;
    const next = [...items];
    next[index] = { ...item, system: { ...item.system, safetyNumber: device.safetyNumber } };
    setItems(conversationId, next);
  }

  // ---- lifecycle --------------------------------------------------------------------

  /**
   * Starts the engine for the signed-in device once the lock is open: identity and key
   * packages, the stored history, a sync, and the socket events. Safe to call repeatedly.
   */
  /** Lets go of the tab lock (see claimTab). */
  let releaseTab: (() => void) | null = null;

  /**
   * One tab per browser runs the engine: two MLS clients on one device's store would
   * overwrite each other's group state and could reuse a message key. Held with a Web
   * Lock until `stop()` (or the tab closes); without Web Locks there is one tab to trust.
   */
  function claimTab(): Promise<boolean> {
    const locks = globalThis.navigator?.locks;
    if (!locks) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      void locks.request(CHAT_TAB_LOCK, { ifAvailable: true }, (held) => {
        if (!held) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return new Promise<void>((release) => {
          releaseTab = release;
        });
      });
    });
  }

  /**
   * Starts the engine for the signed-in device once the lock is open: identity and key
   * packages, the stored history, a sync, and the socket events. Safe to call repeatedly;
   * in a second tab it stops at `other-tab` (call again to retry).
   */
  function start(): Promise<void> {
    if (client || lock.status !== 'unlocked') return starting ?? Promise.resolve();
    if (starting) return starting;
    const me = session.me;
    const deviceId = session.session?.deviceId;
    if (!me || !deviceId) return Promise.resolve();
    const run = ++generation;
    status.value = 'starting';
    error.value = null;
    starting = (async () => {
      if (!(await claimTab())) {
        if (run === generation) status.value = 'other-tab';
        return;
      }
      if (run !== generation) {
        releaseTab?.();
        releaseTab = null;
        return;
      }
      const base = chatApi.chatTransport();
      // The engine lists conversations at every sync; the UI takes the same answer.
      const transport: ChatTransport = {
        ...base,
        listConversations: async () => {
          const list = await base.listConversations();
          if (run === generation) applyConversations(list);
          return list;
        },
      };
      const engine = new ChatClient({
        userId: me.id,
        deviceId,
        transport,
        store: lock.chatStore(),
      });
      client = engine;
      offs.push(
        engine.on('message', onMessage),
        engine.on('system', onSystem),
        engine.on('error', (event) => console.warn('chat message not processed', event)),
      );
      try {
        await loadHistory(run);
        await engine.init();
        if (run !== generation) return;
        listen();
        await sync();
        if (run === generation) status.value = 'ready';
      } catch (caught) {
        if (run !== generation) return;
        status.value = 'failed';
        error.value = caught;
      }
    })().finally(() => {
      starting = null;
    });
    return starting;
  }

  function listen(): void {
    offs.push(
      onServerEvent<ChatEnvelope>(CHAT_EVENTS.message, (envelope) => {
        if (!client) return;
        if (!conversation(envelope.conversationId)) return scheduleSync();
        void client
          .handleEnvelope(envelope)
          .then(() => afterEnvelope(envelope))
          .catch(() => scheduleSync());
      }),
      onServerEvent<ChatWelcome>(CHAT_EVENTS.welcome, (welcome) => {
        void client
          ?.handleWelcome(welcome)
          .then(() => refreshMembership())
          .catch(() => scheduleSync());
      }),
      onServerEvent<{ conversationId: string }>(CHAT_EVENTS.changed, () => scheduleSync()),
      onServerEvent<{ conversationId: string; userId: string; seq: number }>(
        CHAT_EVENTS.read,
        (event) => {
          if (event.userId === myId.value) {
            readSeq.value = {
              ...readSeq.value,
              [event.conversationId]: Math.max(readSeq.value[event.conversationId] ?? 0, event.seq),
            };
          } else if (event.conversationId === activeId.value) {
            void loadReceipts(event.conversationId);
          }
        },
      ),
      onServerEvent<{ conversationId: string }>(CHAT_EVENTS.removed, ({ conversationId }) =>
        forgetConversation(conversationId),
      ),
      // Missed pushes while the socket was down: the server's message list is the truth.
      onConnected(() => scheduleSync(0)),
    );
  }

  function afterEnvelope(envelope: ChatEnvelope): void {
    const c = conversation(envelope.conversationId);
    if (c && envelope.seq > c.lastSeq) {
      conversations.value = conversations.value.map((x) =>
        x.id === c.id ? { ...x, lastSeq: envelope.seq } : x,
      );
    }
  }

  /** Drops everything decrypted from memory (the lock closed, or sign-out). */
  function stop(): void {
    generation++;
    releaseTab?.();
    releaseTab = null;
    clearTimeout(syncTimer);
    offs.forEach((off) => off());
    offs = [];
    client = null;
    starting = null;
    status.value = 'idle';
    conversations.value = [];
    messages.value = {};
    inGroup.value = {};
    readSeq.value = {};
    receipts.value = {};
    groupDevices.value = {};
    activeId.value = null;
    for (const url of blobUrls.values())
      void url.then(
        (u) => URL.revokeObjectURL(u),
        () => {},
      );
    blobUrls.clear();
    writes.clear();
    // The lock closed: the counts stay visible, fetched without the engine.
    scheduleListRefresh(0);
  }

  watch(
    () => lock.status,
    (next) => {
      if (next !== 'unlocked' && (client || starting)) stop();
    },
  );
  watch(
    () => session.me?.id,
    (id, before) => {
      if (id === before) return;
      if (client || starting) stop();
      else {
        // Only the list was held (no engine); it belonged to the previous user.
        conversations.value = [];
        readSeq.value = {};
        scheduleListRefresh(0);
      }
    },
  );

  // ---- unread counts while the engine is not running ---------------------------------

  /**
   * Keeps the conversation list, and so `totalUnread`, fresh while the engine is not
   * running (the chat is locked, or was never opened since sign-in): fetched at every
   * socket connection and after chat events. The list is metadata the server has anyway
   * (names, members, counts); nothing is decrypted. While the engine runs, its syncs keep
   * the list and these events are its business. Safe to call repeatedly.
   */
  function watchUnread(): void {
    if (watchingUnread) return;
    watchingUnread = true;
    const refresh = () => {
      if (!client) scheduleListRefresh();
    };
    for (const event of [
      CHAT_EVENTS.message,
      CHAT_EVENTS.read,
      CHAT_EVENTS.changed,
      CHAT_EVENTS.removed,
    ]) {
      onServerEvent(event, refresh);
    }
    onConnected(() => {
      if (!client) scheduleListRefresh(0);
    });
    scheduleListRefresh(0);
  }

  function scheduleListRefresh(delay = LIST_DEBOUNCE_MS): void {
    if (!watchingUnread) return;
    clearTimeout(listTimer);
    listTimer = setTimeout(
      () =>
        void refreshList().catch((caught: unknown) =>
          console.warn('chat list not refreshed', caught),
        ),
      delay,
    );
  }

  /** Fetches the conversation list unless the engine runs (its syncs fetch it then). */
  async function refreshList(): Promise<void> {
    const userId = myId.value;
    if (client || !userId || !session.can('chat.use')) return;
    const list = await chatApi.listConversations();
    // The engine started meanwhile (its list wins), or someone else signed in.
    if (client || myId.value !== userId) return;
    conversations.value = list;
  }

  // ---- sync -------------------------------------------------------------------------

  function scheduleSync(delay = SYNC_DEBOUNCE_MS): void {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(() => void sync().catch(() => undefined), delay);
  }

  /** One sync at a time; a request during a sync runs once more after it. */
  function sync(): Promise<void> {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        const engine = client;
        if (!engine) return;
        try {
          await engine.sync();
          if (engine !== client) return;
          await refreshMembership();
          applyRetention();
        } catch (caught) {
          if (engine === client) error.value = caught;
          throw caught;
        }
      } while (syncAgain);
    })().finally(() => {
      syncing = null;
    });
    return syncing;
  }

  function applyConversations(list: ChatConversation[]): void {
    conversations.value = list;
    const known = new Set(list.map((c) => c.id));
    // Conversations the user is no longer in: their history goes too.
    for (const id of Object.keys(messages.value)) if (!known.has(id)) forgetConversation(id);
  }

  async function refreshMembership(): Promise<void> {
    const engine = client;
    if (!engine) return;
    const next: Record<string, boolean> = {};
    for (const c of conversations.value) next[c.id] = await engine.isMember(c.id);
    if (engine === client) inGroup.value = next;
  }

  function forgetConversation(conversationId: string): void {
    conversations.value = conversations.value.filter((c) => c.id !== conversationId);
    if (messages.value[conversationId]) {
      const { [conversationId]: _gone, ...rest } = messages.value;
      messages.value = rest;
      persist(conversationId);
    }
  }

  // ---- conversations ----------------------------------------------------------------

  /** People to start a chat with (everyone active but oneself), and units for unit chats. */
  async function loadPeople(): Promise<void> {
    const users = await directoryApi.listUsers();
    people.value = users.filter((u) => u.active && u.id !== myId.value);
    if (session.can('chat.manage')) units.value = await directoryApi.listUnits();
  }

  /** Creates a conversation (or finds the existing 1:1) and sets up its group; resolves to its id. */
  async function create(body: ChatConversationCreate): Promise<string> {
    const created = await chatApi.createConversation(body);
    if (!conversation(created.id)) conversations.value = [...conversations.value, created];
    await sync();
    return created.id;
  }

  /**
   * The 1:1 conversation with `userId`, created if there is none (the server answers with
   * the existing one). Works while the chat is locked: the MLS group is set up once a
   * device of either person opens the chat.
   */
  async function openDirect(userId: string): Promise<string> {
    const found = await chatApi.createConversation({ kind: 'direct', userIds: [userId] });
    if (!conversation(found.id)) conversations.value = [...conversations.value, found];
    return found.id;
  }

  /** Takes the server's answer to a change as the conversation's new state. */
  function replaceConversation(updated: ChatConversation): void {
    conversations.value = conversations.value.map((c) => (c.id === updated.id ? updated : c));
  }

  /**
   * Changes a group (its owner or a chat manager). Changed members show up as pending
   * devices; a member device commits them at its next sync (`chat.changed` also says so).
   * @throws ApiError AUTH_FORBIDDEN for others, CHAT_MEMBERS_MANAGED for unit and alarm chats.
   */
  async function update(
    conversationId: string,
    patch: chatApi.ChatConversationPatch,
  ): Promise<void> {
    replaceConversation(await chatApi.updateConversation(conversationId, patch));
    if (patch.addUserIds || patch.removeUserIds) scheduleSync(0);
  }

  /** @throws as update; ApiError VALIDATION_FAILED for a 1:1. */
  async function rename(conversationId: string, title: string): Promise<void> {
    await update(conversationId, { title });
  }

  /** @throws as update */
  async function addMembers(conversationId: string, userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    await update(conversationId, { addUserIds: userIds });
  }

  /** @throws as update */
  async function removeMember(conversationId: string, userId: string): Promise<void> {
    await update(conversationId, { removeUserIds: [userId] });
  }

  /**
   * Sets how many days the conversation keeps messages; null returns to the
   * organisation's period. A shorter period drops older messages on this device at once.
   * @throws as update; ApiError VALIDATION_FAILED outside 1..3650 days.
   */
  async function setRetention(conversationId: string, days: number | null): Promise<void> {
    await update(conversationId, { retentionDays: days });
    applyRetention();
  }

  async function leave(conversationId: string): Promise<void> {
    await chatApi.leaveConversation(conversationId);
    forgetConversation(conversationId);
  }

  /** The conversation on screen: its messages are marked read, its receipts kept fresh. */
  function setActive(conversationId: string | null): void {
    activeId.value = conversationId;
    if (conversationId) void loadReceipts(conversationId);
  }

  /** Marks everything in the conversation read (call while it is open and visible). */
  async function markRead(conversationId: string): Promise<void> {
    const c = conversation(conversationId);
    if (!c) return;
    const items = messages.value[conversationId] ?? [];
    const seq = Math.max(c.lastSeq, items.at(-1)?.seq ?? 0);
    if (seq <= Math.max(c.readSeq, readSeq.value[conversationId] ?? 0) && c.unread === 0) return;
    readSeq.value = { ...readSeq.value, [conversationId]: seq };
    conversations.value = conversations.value.map((x) =>
      x.id === conversationId ? { ...x, unread: 0, readSeq: Math.max(x.readSeq, seq) } : x,
    );
    await chatApi.markRead(conversationId, seq);
  }

  async function loadReceipts(conversationId: string): Promise<void> {
    const own = (messages.value[conversationId] ?? []).filter(
      (item) => item.kind !== 'system' && item.senderUserId === myId.value,
    );
    if (own.length === 0) return;
    const from = Math.max(own[0]!.seq, (own.at(-1)?.seq ?? 0) - 499);
    const list = await chatApi.receipts(conversationId, from, own.at(-1)!.seq).catch(() => null);
    if (!list) return;
    const bySeqMap: Record<number, ChatReceipt> = {};
    for (const receipt of list) bySeqMap[receipt.seq] = receipt;
    receipts.value = { ...receipts.value, [conversationId]: bySeqMap };
  }

  function receiptOf(conversationId: string, seq: number): ChatReceiptState {
    return receiptState(receipts.value[conversationId]?.[seq]);
  }

  /** The devices in the group with their safety numbers, named as their owners named them. */
  async function loadDevices(conversationId: string): Promise<void> {
    const engine = client;
    if (!engine) return;
    const labels = new Map(conversation(conversationId)?.devices.map((d) => [d.deviceId, d.label]));
    const leaves = await engine.devices(conversationId);
    let list: ChatGroupDevice[] = leaves.map((leaf) => ({
      userId: leaf.userId,
      deviceId: leaf.deviceId,
      label: labels.get(leaf.deviceId) ?? '',
      safetyNumber: leaf.safetyNumber,
    }));
    if (list.length === 0) {
      // Not in the group (yet): show what the server lists, numbers from its keys.
      list = await Promise.all(
        (conversation(conversationId)?.devices ?? []).map(async (d) => ({
          userId: d.userId,
          deviceId: d.deviceId,
          label: d.label,
          safetyNumber: d.signaturePublicKey ? await chatSafetyNumber(d.signaturePublicKey) : '',
        })),
      );
    }
    if (engine === client) groupDevices.value = { ...groupDevices.value, [conversationId]: list };
  }

  // ---- sending ----------------------------------------------------------------------

  function requireClient(): ChatClient {
    if (!client) throw new Error('The chat is not running (locked?)');
    return client;
  }

  /**
   * @throws ChatClientError CHAT_NOT_IN_GROUP while this device is not in the group yet;
   *   ApiError when the server refuses or cannot be reached.
   */
  async function sendText(
    conversationId: string,
    text: string,
    options: { mentions?: string[]; replyTo?: string } = {},
  ): Promise<void> {
    const content: ChatContent = {
      v: 1,
      type: 'text',
      id: newId(),
      text,
      ...(options.mentions?.length ? { mentions: options.mentions } : {}),
      ...(options.replyTo ? { replyTo: options.replyTo } : {}),
    };
    // The engine emits the sent message ('message', own) from the send result.
    await requireClient().send(conversationId, content);
  }

  /** @throws as sendText */
  async function editMessage(conversationId: string, target: string, text: string): Promise<void> {
    await requireClient().send(conversationId, { v: 1, type: 'edit', id: newId(), target, text });
  }

  /** @throws as sendText */
  async function deleteMessage(conversationId: string, target: string): Promise<void> {
    await requireClient().send(conversationId, { v: 1, type: 'delete', id: newId(), target });
  }

  /**
   * Encrypts the file on this device, uploads the ciphertext and sends its key inside
   * the MLS message; the server never sees the file, its name or the caption.
   * @throws as sendText; ApiError CHAT_BLOB_TOO_LARGE for a file above the tenant's limit.
   */
  async function sendAttachment(conversationId: string, input: AttachmentInput): Promise<void> {
    const engine = requireClient();
    const bytes = new Uint8Array(await input.blob.arrayBuffer());
    const sealed = await encryptBlob(bytes);
    const { blobId } = await chatApi.uploadBlob(conversationId, sealed.ciphertext);
    // The sender shows its own file without downloading it again.
    blobUrls.set(blobId, Promise.resolve(URL.createObjectURL(input.blob)));
    const attachment: ChatAttachmentRef = {
      kind: input.kind,
      blobId,
      key: sealed.key,
      iv: sealed.iv,
      mime: input.mime,
      name: input.name,
      size: bytes.byteLength,
      ...(input.thumbnail ? { thumbnail: input.thumbnail } : {}),
      ...(input.width ? { width: Math.round(input.width) } : {}),
      ...(input.height ? { height: Math.round(input.height) } : {}),
      ...(input.durationMs ? { durationMs: Math.round(input.durationMs) } : {}),
    };
    await engine.send(conversationId, {
      v: 1,
      type: 'attachment',
      id: newId(),
      attachment,
      ...(input.caption ? { caption: input.caption } : {}),
      ...(input.replyTo ? { replyTo: input.replyTo } : {}),
    });
  }

  /**
   * An object URL of the decrypted attachment, fetched and decrypted once per blob.
   * @throws ApiError CHAT_BLOB_NOT_FOUND (expired); DOMException when it does not decrypt.
   */
  function attachmentUrl(attachment: ChatAttachmentRef): Promise<string> {
    let url = blobUrls.get(attachment.blobId);
    if (!url) {
      url = (async () => {
        const ciphertext = await chatApi.downloadBlob(attachment.blobId);
        const plain = await decryptBlob(ciphertext, attachment.key, attachment.iv);
        const copy = new Uint8Array(plain.byteLength);
        copy.set(plain);
        return URL.createObjectURL(new Blob([copy], { type: attachment.mime }));
      })();
      blobUrls.set(attachment.blobId, url);
      // A failure is not cached: the next look tries again.
      url.catch(() => blobUrls.delete(attachment.blobId));
    }
    return url;
  }

  return {
    openDirect,
    status: readonly(status),
    error: readonly(error),
    conversations: readonly(conversations),
    sortedConversations,
    messages: readonly(messages),
    inGroup: readonly(inGroup),
    groupDevices: readonly(groupDevices),
    people: readonly(people),
    units: readonly(units),
    activeId: readonly(activeId),
    totalUnread,
    conversation,
    alarmConversation,
    memberName,
    titleOf,
    lastMessage,
    unreadOf,
    receiptOf,
    start,
    stop,
    sync,
    watchUnread,
    applyRetention,
    loadPeople,
    create,
    rename,
    addMembers,
    removeMember,
    setRetention,
    leave,
    setActive,
    markRead,
    loadReceipts,
    loadDevices,
    sendText,
    editMessage,
    deleteMessage,
    sendAttachment,
    attachmentUrl,
  };
});
