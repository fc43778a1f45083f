import type { FastifyBaseLogger } from 'fastify';
import { escape } from 'mysql2';
import type { Pool } from 'mysql2/promise';

/** Rows per statement (a few hundred KB of SQL at most). */
const ROWS_PER_STATEMENT = 1000;

/** DATETIME(3) literal in UTC, as the pool (timezone 'Z') writes dates. */
const sqlTime = (at: Date) => `'${at.toISOString().slice(0, 23).replace('T', ' ')}'`;
const sqlNumber = (n: number | null) => (n === null ? 'NULL' : String(n));

/** The row tuples of one accepted position, built once when it is accepted. */
interface Pending {
  position: AcceptedPosition;
  latest: string;
  history: string;
}

export interface AcceptedPosition {
  tenantId: string;
  userId: string;
  deviceId: string;
  lat: number;
  lon: number;
  accuracyM: number;
  heading: number | null;
  speedKmh: number | null;
  recordedAt: Date;
  receivedAt: Date;
}

/**
 * MariaDB sees a bounded write rate however many devices report: accepted positions
 * gather for `intervalMs`, then one multi-row upsert per 1,000 members writes the latest
 * positions (newest per member, `ON DUPLICATE KEY UPDATE` keeping whichever was measured
 * later, so nodes flushing out of order never move a member back) and one multi-row
 * insert per 1,000 points the history.
 *
 * This is the one place Trupp pushes before it persists (DESIGN principle 2): a position
 * is superseded seconds later and is live in the cache at once; a node that dies loses at
 * most `intervalMs` of track points, never an alarm, answer or message.
 */
export class PositionWriter {
  #latest = new Map<string, Pending>();
  #history: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  /** Statements and rows written so far (for logs and the benchmark's cross-check). */
  readonly written = { statements: 0, latestRows: 0, historyRows: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly log: FastifyBaseLogger,
    private readonly intervalMs: number,
  ) {}

  /**
   * Escaping happens here, a report at a time: built in the flush, 4,000 rows of SQL held
   * the event loop for 16–80 ms once a second on the benchmark machine.
   */
  add(p: AcceptedPosition): void {
    const recordedAt = sqlTime(p.recordedAt);
    const ids = `${escape(p.userId)},${escape(p.tenantId)}`;
    const latest = `(${ids},${escape(p.deviceId)},${p.lat},${p.lon},${p.accuracyM},${sqlNumber(p.heading)},${sqlNumber(p.speedKmh)},${recordedAt},${sqlTime(p.receivedAt)})`;
    const history = `(${escape(p.tenantId)},${escape(p.userId)},${p.lat},${p.lon},${p.accuracyM},${recordedAt})`;
    const pending = this.#latest.get(p.userId);
    if (!pending || pending.position.recordedAt < p.recordedAt) {
      this.#latest.set(p.userId, { position: p, latest, history });
    }
    this.#history.push(history);
    this.#timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes everything gathered so far; resolves when it (and earlier flushes) are written. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const latest = [...this.#latest.values()].map((p) => p.latest);
    const history = this.#history;
    this.#latest = new Map();
    this.#history = [];
    if (latest.length === 0 && history.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#write(latest, history));
    return this.#flushing;
  }

  /**
   * The member stopped sharing: their pending latest position is not written, and once
   * any flush already under way has finished, their last position row is deleted (so a
   * batch in flight cannot bring it back). Track points stay for the track's retention.
   */
  async forget(tenantId: string, userId: string): Promise<void> {
    this.#latest.delete(userId);
    this.#flushing = this.#flushing.then(async () => {
      await this.pool
        .query('DELETE FROM member_positions WHERE tenant_id = ? AND user_id = ?', [
          tenantId,
          userId,
        ])
        .catch((err: unknown) => this.log.error({ err }, 'could not delete a last position'));
    });
    await this.#flushing;
  }

  async #write(latest: string[], history: string[]): Promise<void> {
    for (let i = 0; i < latest.length; i += ROWS_PER_STATEMENT) {
      const rows = latest.slice(i, i + ROWS_PER_STATEMENT);
      try {
        // Assignments run left to right and see earlier ones: recorded_at goes last, so
        // every IF compares with the stored (older or newer) measurement time.
        await this.pool.query(
          `INSERT INTO member_positions
             (user_id, tenant_id, device_id, lat, lon, accuracy_m, heading, speed_kmh, recorded_at, received_at)
           VALUES ${rows.join(',')}
           ON DUPLICATE KEY UPDATE
             device_id = IF(VALUES(recorded_at) > recorded_at, VALUES(device_id), device_id),
             lat = IF(VALUES(recorded_at) > recorded_at, VALUES(lat), lat),
             lon = IF(VALUES(recorded_at) > recorded_at, VALUES(lon), lon),
             accuracy_m = IF(VALUES(recorded_at) > recorded_at, VALUES(accuracy_m), accuracy_m),
             heading = IF(VALUES(recorded_at) > recorded_at, VALUES(heading), heading),
             speed_kmh = IF(VALUES(recorded_at) > recorded_at, VALUES(speed_kmh), speed_kmh),
             received_at = IF(VALUES(recorded_at) > recorded_at, VALUES(received_at), received_at),
             recorded_at = GREATEST(recorded_at, VALUES(recorded_at))`,
        );
        this.written.statements += 1;
        this.written.latestRows += rows.length;
      } catch (err) {
        this.log.error({ err, rows: rows.length }, 'could not write last positions');
      }
    }
    for (let i = 0; i < history.length; i += ROWS_PER_STATEMENT) {
      const rows = history.slice(i, i + ROWS_PER_STATEMENT);
      try {
        await this.pool.query(
          `INSERT INTO position_points (tenant_id, user_id, lat, lon, accuracy_m, recorded_at) VALUES ${rows.join(',')}`,
        );
        this.written.statements += 1;
        this.written.historyRows += rows.length;
      } catch (err) {
        this.log.error({ err, rows: rows.length }, 'could not write position history');
      }
    }
  }
}
