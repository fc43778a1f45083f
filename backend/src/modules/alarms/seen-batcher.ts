import type { FastifyInstance } from 'fastify';
import { emitBoardDelta, markSeen } from './service.ts';

/** How long acknowledgements gather before one UPDATE writes them. */
const FLUSH_AFTER_MS = 20;

interface Pending {
  tenantId: string;
  alarmId: string;
  what: 'delivered' | 'read';
  at: Date;
  waiters: Map<string, Array<{ resolve: () => void; reject: (e: unknown) => void }>>;
}

/**
 * Batches device acknowledgements ("delivered") and "read" marks: thousands of devices
 * acknowledging one alarm become a few UPDATE statements. A device's acknowledgement is
 * answered only after its batch has committed, so nothing acknowledged is lost; the
 * dispatch board gets one delta per batch.
 */
export class SeenBatcher {
  readonly #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(private readonly app: FastifyInstance) {}

  mark(
    tenantId: string,
    alarmId: string,
    userId: string,
    what: 'delivered' | 'read',
  ): Promise<void> {
    const key = `${tenantId}|${alarmId}|${what}`;
    let batch = this.#pending.get(key);
    if (!batch) {
      batch = { tenantId, alarmId, what, at: new Date(), waiters: new Map() };
      this.#pending.set(key, batch);
    }
    const waiting = batch.waiters.get(userId) ?? [];
    batch.waiters.set(userId, waiting);
    const done = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
    return done;
  }

  /** Writes everything gathered so far; resolves when it is committed. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(() => this.#write(batches));
    return this.#flushing;
  }

  async #write(batches: Pending[]): Promise<void> {
    for (const batch of batches) {
      const userIds = [...batch.waiters.keys()];
      const settle = (outcome: 'resolve' | 'reject', error?: unknown) => {
        for (const list of batch.waiters.values()) {
          for (const w of list) {
            if (outcome === 'resolve') w.resolve();
            else w.reject(error);
          }
        }
      };
      try {
        const changed: string[] = [];
        for (let i = 0; i < userIds.length; i += 1000) {
          changed.push(
            ...(await markSeen(
              this.app,
              batch.tenantId,
              batch.alarmId,
              userIds.slice(i, i + 1000),
              batch.what,
              batch.at,
            )),
          );
        }
        settle('resolve');
        if (changed.length === 0) continue;
        const at = batch.at.toISOString();
        emitBoardDelta(this.app, batch.tenantId, {
          alarmId: batch.alarmId,
          recipients: changed.map((userId) =>
            batch.what === 'delivered'
              ? { userId, deliveredAt: at }
              : { userId, readAt: at, deliveredAt: at },
          ),
        });
      } catch (error) {
        this.app.log.error(
          { err: error, alarmId: batch.alarmId },
          'could not record alarm receipts',
        );
        settle('reject', error);
      }
    }
  }
}
