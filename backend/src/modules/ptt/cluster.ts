import type { FastifyInstance } from 'fastify';
import type { FloorStoreHolder } from './floor-store.ts';

/**
 * What one backend node tells the others about push-to-talk, so each can act for the
 * sockets connected to it: start consumers for a new talker, run floor timers and scan,
 * take its sockets out of a channel. Handled locally at once and, with Redis, sent to the
 * other nodes with socket.io's server-side emit (the adapter carries it).
 */
export type ClusterMessage =
  /** The floor changed: set expiry and warning timers, re-decide what each listener hears. */
  | { type: 'floor'; channelId: string; holder: FloorStoreHolder | null }
  /** A participant started producing: every other participant consumes it. */
  | {
      type: 'producer';
      channelId: string;
      participantId: string;
      producerId: string;
      userId: string;
    }
  /** The channel is gone for its participants (archived, deleted). */
  | { type: 'close'; channelId: string; reason: 'archived' | 'deleted' }
  /** The channel's settings or members changed: reload it, drop those who no longer belong. */
  | { type: 'changed'; channelId: string };

const EVENT = 'trupp:ptt';

export class PttCluster {
  readonly #app: FastifyInstance;
  #handler: ((message: ClusterMessage) => Promise<void>) | null = null;

  constructor(app: FastifyInstance) {
    this.#app = app;
    if (app.redis) {
      app.io.on(EVENT as never, ((message: ClusterMessage) => this.#deliver(message)) as never);
    }
  }

  onMessage(handler: (message: ClusterMessage) => Promise<void>): void {
    this.#handler = handler;
  }

  /** Handles the message on this node (awaited) and sends it to every other node. */
  async send(message: ClusterMessage): Promise<void> {
    if (this.#app.redis) this.#app.io.serverSideEmit(EVENT as never, message as never);
    await this.#deliver(message);
  }

  async #deliver(message: ClusterMessage): Promise<void> {
    try {
      await this.#handler?.(message);
    } catch (error) {
      this.#app.log.error(
        { err: error, type: message.type },
        'push-to-talk cluster message failed',
      );
    }
  }
}
