import { EventEmitter } from 'node:events';
import type { DeviceRevokedPayload } from '@trupp/shared';

/**
 * In-process domain events (dotted, past tense). Services emit after their transaction
 * has committed; edges such as the socket gateway subscribe. Cross-node delivery is the
 * socket.io adapter's job, so a local bus is enough here.
 */
export interface DomainEvents {
  'device.revoked': DeviceRevokedPayload & { tenantId: string; userId: string };
  'user.changed': { tenantId: string; userId: string };
  'directory.changed': { tenantId: string };
  /** After commit of any alarm change (webhooks, push and other integrations listen). */
  'alarm.changed': {
    tenantId: string;
    alarmId: string;
    change: 'raised' | 'updated' | 'closed' | 'escalated' | 'responded';
    /** The members newly alerted by this change (raised, escalated, targets added). */
    alertedUserIds: string[];
    /** The member who answered (`responded`). */
    userId?: string;
  };
  /** After a member's availability (tap or weekly plan) was saved. */
  'availability.changed': { tenantId: string; userId: string };
  /** After an organisation's settings (time zone, retention, position sharing) changed. */
  'tenant.changed': { tenantId: string };
  /**
   * After a member's position report was accepted as their last position (live at once;
   * written to MariaDB with the next batch, see positions/writer.ts).
   */
  'position.accepted': {
    tenantId: string;
    userId: string;
    lat: number;
    lon: number;
    accuracyM: number;
    recordedAt: Date;
  };
}

export class DomainBus {
  readonly #emitter = new EventEmitter({ captureRejections: true });

  constructor() {
    this.#emitter.setMaxListeners(100);
  }

  emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]): void {
    this.#emitter.emit(event, payload);
  }

  on<K extends keyof DomainEvents>(
    event: K,
    listener: (payload: DomainEvents[K]) => void,
  ): () => void {
    this.#emitter.on(event, listener);
    // Returns nothing: a hook written `async () => off()` must not resolve to the emitter
    // (Fastify takes a value resolved by a close hook for an error).
    return () => {
      this.#emitter.off(event, listener);
    };
  }
}
