import type { FastifyInstance } from 'fastify';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { AlarmResponse, AlarmSummary } from '@trupp/shared';
import { AppError, appError } from '../../errors.ts';

/** How long answers gather before one transaction writes them. */
const FLUSH_AFTER_MS = 10;
/** Largest batch per statement. */
const MAX_BATCH = 1000;

export interface Answer {
  response: AlarmResponse;
  etaMinutes: number | null;
}

export interface AnswerResult {
  /** False when the member had given exactly this answer already (double tap, retry). */
  changed: boolean;
  summary: AlarmSummary;
  respondedAt: Date | null;
  deliveredAt: Date | null;
  readAt: Date | null;
}

interface Waiter {
  answer: Answer;
  resolve: (result: AnswerResult) => void;
  reject: (error: unknown) => void;
}

interface AlarmRow extends RowDataPacket {
  id: string;
  keyword: string;
  title: string;
  text: string;
  priority: AlarmSummary['priority'];
  sound: string;
  is_test: number;
  lat: number | null;
  lon: number | null;
  address: string;
  created_at: Date;
  updated_at: Date;
  closed_at: Date | null;
}

interface RecipientRow extends RowDataPacket {
  user_id: string;
  response: AlarmResponse | null;
  eta_minutes: number | null;
  alert_count: number;
  responded_at: Date | null;
  delivered_at: Date | null;
  read_at: Date | null;
}

/**
 * Members' answers to alarms, written in batches: thousands of members answering one
 * alarm within seconds become a few transactions (lock the alarm row shared — closing
 * takes it exclusively, so no answer slips in after a close — read the recipients,
 * update those whose answer changed). Each caller gets its result after commit.
 */
export class AnswerBatcher {
  readonly #pending = new Map<
    string,
    { tenantId: string; alarmId: string; byUser: Map<string, Waiter[]> }
  >();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(private readonly app: FastifyInstance) {}

  submit(tenantId: string, alarmId: string, userId: string, answer: Answer): Promise<AnswerResult> {
    const key = `${tenantId}|${alarmId}`;
    let batch = this.#pending.get(key);
    if (!batch) this.#pending.set(key, (batch = { tenantId, alarmId, byUser: new Map() }));
    const waiters = batch.byUser.get(userId) ?? [];
    batch.byUser.set(userId, waiters);
    const result = new Promise<AnswerResult>((resolve, reject) =>
      waiters.push({ answer, resolve, reject }),
    );
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
    return result;
  }

  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(async () => {
      for (const batch of batches) {
        const users = [...batch.byUser.entries()];
        for (let i = 0; i < users.length; i += MAX_BATCH) {
          await this.#write(batch.tenantId, batch.alarmId, users.slice(i, i + MAX_BATCH));
        }
      }
    });
    return this.#flushing;
  }

  async #write(tenantId: string, alarmId: string, users: Array<[string, Waiter[]]>): Promise<void> {
    const fail = (error: unknown) => {
      for (const [, waiters] of users) for (const w of waiters) w.reject(error);
    };
    let conn: PoolConnection | null = null;
    try {
      conn = await this.app.database.pool.getConnection();
      await conn.beginTransaction();
      const [alarms] = await conn.query<AlarmRow[]>(
        `SELECT id, keyword, title, text, priority, sound, is_test, lat, lon, address,
                created_at, updated_at, closed_at
           FROM alarms WHERE tenant_id = ? AND id = ? LOCK IN SHARE MODE`,
        [tenantId, alarmId],
      );
      const alarm = alarms[0];
      if (!alarm) {
        await conn.commit();
        return fail(appError('ALARM_NOT_FOUND'));
      }
      const [rows] = await conn.query<RecipientRow[]>(
        `SELECT user_id, response, eta_minutes, alert_count, responded_at, delivered_at, read_at
           FROM alarm_recipients WHERE tenant_id = ? AND alarm_id = ? AND user_id IN (?)`,
        [tenantId, alarmId, users.map(([userId]) => userId)],
      );
      const current = new Map(rows.map((r) => [r.user_id, r]));
      const now = new Date();
      const changes: Array<[string, Answer]> = [];
      for (const [userId, waiters] of users) {
        const row = current.get(userId);
        const last = waiters[waiters.length - 1]!.answer;
        if (!row || alarm.closed_at) continue;
        if (row.response !== last.response || row.eta_minutes !== last.etaMinutes) {
          changes.push([userId, last]);
          row.response = last.response;
          row.eta_minutes = last.etaMinutes;
          row.responded_at = now;
          row.delivered_at ??= now;
          row.read_at ??= now;
        }
      }
      if (changes.length > 0) {
        const cases = (pick: (a: Answer) => unknown) =>
          changes.flatMap(([userId, a]) => [userId, pick(a)]);
        const when = changes.map(() => 'WHEN ? THEN ?').join(' ');
        await conn.query(
          `UPDATE alarm_recipients
              SET response = CASE user_id ${when} END,
                  eta_minutes = CASE user_id ${when} END,
                  responded_at = ?,
                  delivered_at = COALESCE(delivered_at, ?),
                  read_at = COALESCE(read_at, ?)
            WHERE tenant_id = ? AND alarm_id = ? AND user_id IN (?)`,
          [
            ...cases((a) => a.response),
            ...cases((a) => a.etaMinutes),
            now,
            now,
            now,
            tenantId,
            alarmId,
            changes.map(([userId]) => userId),
          ],
        );
      }
      await conn.commit();
      const changed = new Set(changes.map(([userId]) => userId));
      for (const [userId, waiters] of users) {
        const row = current.get(userId);
        if (!row) {
          for (const w of waiters) w.reject(appError('ALARM_NOT_FOUND'));
          continue;
        }
        if (alarm.closed_at) {
          for (const w of waiters) w.reject(appError('ALARM_CLOSED'));
          continue;
        }
        const result: AnswerResult = {
          changed: changed.has(userId),
          summary: summaryOf(alarm, row),
          respondedAt: row.responded_at,
          deliveredAt: row.delivered_at,
          readAt: row.read_at,
        };
        // Only the first of several taps in one batch counts as the change.
        waiters.forEach((w, i) => w.resolve(i === 0 ? result : { ...result, changed: false }));
      }
    } catch (error) {
      await conn?.rollback().catch(() => undefined);
      if (!(error instanceof AppError)) {
        this.app.log.error({ err: error, alarmId }, 'could not record alarm answers');
      }
      fail(error);
    } finally {
      conn?.release();
    }
  }
}

function summaryOf(alarm: AlarmRow, row: RecipientRow): AlarmSummary {
  return {
    id: alarm.id,
    keyword: alarm.keyword,
    title: alarm.title,
    text: alarm.text,
    priority: alarm.priority,
    sound: alarm.sound,
    isTest: Boolean(alarm.is_test),
    lat: alarm.lat,
    lon: alarm.lon,
    address: alarm.address,
    createdAt: alarm.created_at.toISOString(),
    updatedAt: alarm.updated_at.toISOString(),
    closedAt: alarm.closed_at?.toISOString() ?? null,
    myResponse: row.response,
    myEtaMinutes: row.eta_minutes,
    alertCount: row.alert_count,
  };
}
