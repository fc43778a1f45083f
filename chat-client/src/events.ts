import type { ChatContent } from '@trupp/shared';

export interface ChatMessageEvent {
  conversationId: string;
  seq: number;
  senderUserId: string;
  senderDeviceId: string;
  createdAt: string;
  content: ChatContent;
  /** Sent by this device (emitted from the send result: MLS senders cannot decrypt their own messages). */
  own: boolean;
}

export interface ChatSystemEvent {
  conversationId: string;
  /** The commit (or, for 'joined', the welcome's commit) that made the change. */
  seq: number;
  /** 'joined': this device entered the group; the others are leaves a commit added or removed. */
  type: 'joined' | 'device_added' | 'device_removed';
  userId: string;
  deviceId: string;
}

/** Something that could not be processed; sync records it and goes on. */
export interface ChatErrorEvent {
  conversationId: string;
  /** The message that failed, or null when the failure was not about one message. */
  seq: number | null;
  reason: 'undecryptable' | 'invalid_content' | 'welcome_failed' | 'reconcile_failed';
  error: unknown;
}

export interface ChatClientEvents {
  message: ChatMessageEvent;
  system: ChatSystemEvent;
  error: ChatErrorEvent;
}

type Listener<T> = (event: T) => void;

/** A minimal typed emitter; a throwing listener never breaks message processing. */
export class ChatEmitter {
  readonly #listeners: { [K in keyof ChatClientEvents]: Set<Listener<ChatClientEvents[K]>> } = {
    message: new Set(),
    system: new Set(),
    error: new Set(),
  };

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof ChatClientEvents>(
    type: K,
    listener: Listener<ChatClientEvents[K]>,
  ): () => void {
    this.#listeners[type].add(listener);
    return () => this.#listeners[type].delete(listener);
  }

  emit<K extends keyof ChatClientEvents>(type: K, event: ChatClientEvents[K]): void {
    for (const listener of this.#listeners[type]) {
      try {
        listener(event);
      } catch (error) {
        console.error('chat-client listener failed', error);
      }
    }
  }
}
