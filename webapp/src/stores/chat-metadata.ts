/**
 * What the server knows about end-to-end encrypted chat, for auditors and admins:
 * conversations with members, devices and counts, and per conversation who sent what
 * size from which device when. Content never reaches this store — the server cannot
 * read it. Every load is audited by the server (`chat.metadata_read`).
 */
import { defineStore } from 'pinia';
import { readonly, ref } from 'vue';
import { CHAT_LIMITS } from '@trupp/shared';
import * as chatApi from '../api/chat.ts';
import type { ChatMetadataConversation, ChatMetadataMessage } from '../api/chat.ts';
import type { CsvCell } from '../composables/download.ts';

export const useChatMetadataStore = defineStore('chat-metadata', () => {
  const conversations = ref<ChatMetadataConversation[]>([]);
  const selectedId = ref<string | null>(null);
  const messages = ref<ChatMetadataMessage[]>([]);
  /** A full page came back, so the server may have more after the last seq. */
  const messagesMore = ref(false);
  /** User id → display name, as the server sends them with the metadata. */
  const userNames = ref<Record<string, string>>({});

  /**
   * Loads the conversations with their members' names (sent along: auditors may not
   * read the directory). Clears any selected conversation.
   */
  async function load(): Promise<void> {
    const list = await chatApi.listMetadataConversations();
    conversations.value = list;
    userNames.value = Object.assign({}, ...list.map((c) => c.memberNames)) as Record<
      string,
      string
    >;
    selectedId.value = null;
    messages.value = [];
    messagesMore.value = false;
  }

  /** Shows the first page of `conversationId`'s message metadata. */
  async function select(conversationId: string): Promise<void> {
    selectedId.value = conversationId;
    messages.value = [];
    messagesMore.value = false;
    const page = await chatApi.listMetadataMessages(conversationId, 0, CHAT_LIMITS.pageSize);
    // A slower answer for a conversation the user has since left must not overwrite.
    if (selectedId.value !== conversationId) return;
    learnSenders(page);
    messages.value = page;
    messagesMore.value = page.length === CHAT_LIMITS.pageSize;
  }

  async function moreMessages(): Promise<void> {
    const conversationId = selectedId.value;
    if (conversationId === null || !messagesMore.value) return;
    const after = messages.value.at(-1)?.seq ?? 0;
    const page = await chatApi.listMetadataMessages(conversationId, after, CHAT_LIMITS.pageSize);
    if (selectedId.value !== conversationId) return;
    learnSenders(page);
    messages.value = [...messages.value, ...page];
    messagesMore.value = page.length === CHAT_LIMITS.pageSize;
  }

  /** Senders who have left the conversation are not among its members' names. */
  function learnSenders(page: ChatMetadataMessage[]): void {
    const known = { ...userNames.value };
    for (const m of page) known[m.senderUserId] ??= m.senderDisplayName;
    userNames.value = known;
  }

  function clearSelection(): void {
    selectedId.value = null;
    messages.value = [];
    messagesMore.value = false;
  }

  /** The display name of `userId`, or null when it is unknown or names were not loaded. */
  function nameOf(userId: string): string | null {
    return userNames.value[userId] ?? null;
  }

  const names = (userIds: readonly string[]) =>
    userIds.map((userId) => nameOf(userId) ?? userId).join('; ');

  /** The conversation list as shown, for the CSV export (header row first). */
  function conversationsCsv(): CsvCell[][] {
    return [
      [
        'conversation',
        'kind',
        'members',
        'member ids',
        'devices',
        'messages',
        'bytes',
        'last message',
        'created',
      ],
      ...conversations.value.map((c) => [
        c.id,
        c.kind,
        names(c.memberUserIds),
        c.memberUserIds.join('; '),
        c.devices,
        c.messages,
        c.bytes,
        c.lastMessageAt,
        c.createdAt,
      ]),
    ];
  }

  /** The loaded message metadata of the selected conversation, for the CSV export. */
  function messagesCsv(): CsvCell[][] {
    return [
      ['conversation', 'seq', 'time', 'sender', 'sender id', 'device id', 'kind', 'bytes'],
      ...messages.value.map((m) => [
        selectedId.value,
        m.seq,
        m.createdAt,
        nameOf(m.senderUserId),
        m.senderUserId,
        m.senderDeviceId,
        m.kind,
        m.size,
      ]),
    ];
  }

  return {
    conversations: readonly(conversations),
    selectedId: readonly(selectedId),
    messages: readonly(messages),
    messagesMore: readonly(messagesMore),
    load,
    select,
    moreMessages,
    clearSelection,
    nameOf,
    conversationsCsv,
    messagesCsv,
  };
});
