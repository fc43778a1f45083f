import { createHmac } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { DbOrTx } from '../../db/client.ts';
import { alarmRecipients, webhookDeliveries, webhooks } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import type { DomainEvents } from '../../lib/bus.ts';
import { newId } from '../../lib/ids.ts';
import { randomToken } from '../../lib/tokens.ts';
import { findAlarm } from '../alarms/repository.ts';
import { recordAudit, type AuditActor } from '../audit/service.ts';
import {
  WEBHOOK_EVENTS,
  type CreatedWebhook,
  type Webhook,
  type WebhookCreateBody,
  type WebhookEvent,
} from './schemas.ts';

/** A receiver has this long to answer; then the attempt counts as failed. */
export const DELIVERY_TIMEOUT_MS = 5000;
/** After this many failed attempts a delivery is given up. */
export const MAX_ATTEMPTS = 8;
/** First retry after 5 s, then 10, 20, 40 … (5 s · 2^(n-1) after the n-th failure). */
export const BACKOFF_BASE_MS = 5000;
/** How long a claimed delivery is hidden from other workers while it is being sent. */
const CLAIM_MS = 60_000;
/** Deliveries one worker run sends at most (in parallel). */
const BATCH = 20;

type WebhookRow = typeof webhooks.$inferSelect;

function toWebhook(
  row: WebhookRow,
  last: { lastDeliveredAt: Date | null; lastError: string | null } | undefined,
): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events.filter((e): e is WebhookEvent => WEBHOOK_EVENTS.includes(e as WebhookEvent)),
    active: row.active,
    createdAt: row.createdAt.toISOString(),
    lastDeliveredAt: last?.lastDeliveredAt?.toISOString() ?? null,
    lastError: last?.lastError ?? null,
  };
}

/** The tenant's webhooks with their last successful delivery and the last error since. */
export async function listWebhooks(db: DbOrTx, tenantId: string): Promise<Webhook[]> {
  const rows = await db
    .select()
    .from(webhooks)
    .where(eq(webhooks.tenantId, tenantId))
    .orderBy(asc(webhooks.createdAt));
  if (rows.length === 0) return [];
  const delivered = await db
    .select({
      webhookId: webhookDeliveries.webhookId,
      at: sql<Date>`MAX(${webhookDeliveries.deliveredAt})`,
    })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), isNotNull(webhookDeliveries.deliveredAt)))
    .groupBy(webhookDeliveries.webhookId);
  const lastDelivered = new Map(delivered.map((d) => [d.webhookId, d.at ? new Date(d.at) : null]));
  const last = new Map<string, { lastDeliveredAt: Date | null; lastError: string | null }>();
  for (const row of rows) {
    const since = lastDelivered.get(row.id) ?? null;
    const [failed] = await db
      .select({ lastError: webhookDeliveries.lastError })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.tenantId, tenantId),
          eq(webhookDeliveries.webhookId, row.id),
          isNull(webhookDeliveries.deliveredAt),
          isNotNull(webhookDeliveries.lastError),
          since ? sql`${webhookDeliveries.createdAt} >= ${since}` : undefined,
        ),
      )
      .orderBy(desc(webhookDeliveries.createdAt))
      .limit(1);
    last.set(row.id, { lastDeliveredAt: since, lastError: failed?.lastError ?? null });
  }
  return rows.map((row) => toWebhook(row, last.get(row.id)));
}

/** @throws AppError VALIDATION_FAILED when the URL is not an absolute http(s) URL */
function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw appError('VALIDATION_FAILED', 'The webhook URL is not a valid URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw appError('VALIDATION_FAILED', 'The webhook URL must start with http:// or https://.');
  }
  if (url.username || url.password) {
    throw appError('VALIDATION_FAILED', 'The webhook URL must not contain credentials.');
  }
  return url.toString();
}

/**
 * Adds a webhook; its signing secret is in the answer and shown only this once.
 * @throws AppError VALIDATION_FAILED (URL)
 */
export async function createWebhook(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  body: WebhookCreateBody,
): Promise<CreatedWebhook> {
  const row: WebhookRow = {
    id: newId(),
    tenantId,
    url: checkUrl(body.url),
    secret: `whsec_${randomToken(32)}`,
    events: [...new Set(body.events)],
    active: true,
    createdAt: new Date(),
  };
  await app.db.transaction(async (tx) => {
    await tx.insert(webhooks).values(row);
    await recordAudit(tx, tenantId, {
      action: 'webhook.created',
      actor,
      target: { type: 'webhook', id: row.id },
      details: { url: row.url, events: row.events },
    });
  });
  forgetWebhooks(app, tenantId);
  return { ...toWebhook(row, undefined), secret: row.secret };
}

/**
 * Deletes a webhook and its deliveries not yet sent; nothing more goes to its URL.
 * @throws AppError WEBHOOK_NOT_FOUND (also for another tenant's webhook)
 */
export async function deleteWebhook(
  app: FastifyInstance,
  tenantId: string,
  actor: AuditActor,
  webhookId: string,
): Promise<void> {
  await app.db.transaction(async (tx) => {
    const where = and(eq(webhooks.tenantId, tenantId), eq(webhooks.id, webhookId));
    const [row] = await tx.select().from(webhooks).where(where).for('update');
    if (!row) throw appError('WEBHOOK_NOT_FOUND');
    await tx.delete(webhooks).where(where);
    await tx
      .delete(webhookDeliveries)
      .where(
        and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.webhookId, webhookId)),
      );
    await recordAudit(tx, tenantId, {
      action: 'webhook.deleted',
      actor,
      target: { type: 'webhook', id: webhookId },
      details: { url: row.url },
    });
  });
  forgetWebhooks(app, tenantId);
}

// ---------------------------------------------------------------- outbox

/** Counts of the alarm's answers, in one query (the board's totals without the board). */
async function alarmTotals(db: DbOrTx, tenantId: string, alarmId: string) {
  const [row] = await db
    .select({
      recipients: sql<number>`COUNT(*)`,
      delivered: sql<number>`COALESCE(SUM(${alarmRecipients.deliveredAt} IS NOT NULL), 0)`,
      read: sql<number>`COALESCE(SUM(${alarmRecipients.readAt} IS NOT NULL), 0)`,
      coming: sql<number>`COALESCE(SUM(${alarmRecipients.response} = 'coming'), 0)`,
      notComing: sql<number>`COALESCE(SUM(${alarmRecipients.response} = 'not_coming'), 0)`,
      later: sql<number>`COALESCE(SUM(${alarmRecipients.response} = 'later'), 0)`,
    })
    .from(alarmRecipients)
    .where(and(eq(alarmRecipients.tenantId, tenantId), eq(alarmRecipients.alarmId, alarmId)));
  const n = (v: unknown) => Number(v ?? 0);
  const totals = {
    recipients: n(row?.recipients),
    delivered: n(row?.delivered),
    read: n(row?.read),
    coming: n(row?.coming),
    notComing: n(row?.notComing),
    later: n(row?.later),
  };
  return {
    ...totals,
    noAnswer: totals.recipients - totals.coming - totals.notComing - totals.later,
  };
}

/** How long a tenant's webhook list is reused; a big alarm brings thousands of answers. */
const HOOK_CACHE_MS = 2000;
const hookCache = new WeakMap<
  FastifyInstance,
  Map<string, { at: number; hooks: Promise<Array<{ id: string; events: string[] }>> }>
>();

function activeWebhooks(app: FastifyInstance, tenantId: string, now: Date) {
  let cache = hookCache.get(app);
  if (!cache) hookCache.set(app, (cache = new Map()));
  const cached = cache.get(tenantId);
  if (cached && now.getTime() - cached.at < HOOK_CACHE_MS) return cached.hooks;
  const hooks = app.db
    .select({ id: webhooks.id, events: webhooks.events })
    .from(webhooks)
    .where(and(eq(webhooks.tenantId, tenantId), eq(webhooks.active, true)));
  cache.set(tenantId, { at: now.getTime(), hooks });
  hooks.catch(() => cache.delete(tenantId));
  return hooks;
}

/** Forgets the cached webhook list of a tenant (after a webhook was created or deleted). */
export function forgetWebhooks(app: FastifyInstance, tenantId: string): void {
  hookCache.get(app)?.delete(tenantId);
}

/**
 * Writes one delivery per active webhook of the tenant that subscribed to this change.
 * The payload is a snapshot taken now, so a retry sends what was true at the event.
 * @returns the number of deliveries written
 */
export async function enqueueAlarmChange(
  app: FastifyInstance,
  change: DomainEvents['alarm.changed'],
  now = new Date(),
): Promise<number> {
  const event = `alarm.${change.change}` as WebhookEvent;
  const hooks = (await activeWebhooks(app, change.tenantId, now)).filter((hook) =>
    hook.events.includes(event),
  );
  if (hooks.length === 0) return 0;
  const alarm = await findAlarm(app.db, change.tenantId, change.alarmId);
  const payload = {
    event,
    occurredAt: now.toISOString(),
    alarm: {
      id: alarm.id,
      keyword: alarm.keyword,
      title: alarm.title,
      priority: alarm.priority,
      isTest: alarm.isTest,
      source: alarm.source,
      createdAt: alarm.createdAt.toISOString(),
      closedAt: alarm.closedAt?.toISOString() ?? null,
    },
    totals: await alarmTotals(app.db, change.tenantId, change.alarmId),
  };
  await app.db.insert(webhookDeliveries).values(
    hooks.map((hook) => ({
      id: newId(),
      tenantId: change.tenantId,
      webhookId: hook.id,
      event,
      payload,
      attempts: 0,
      nextAttemptAt: now,
      deliveredAt: null,
      lastError: null,
      createdAt: now,
    })),
  );
  return hooks.length;
}

/** `sha256=<hex>` over "<timestamp>.<body>": what receivers recompute to verify a delivery. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

interface Claimed {
  id: string;
  event: string;
  payload: Record<string, unknown>;
  attempts: number;
  url: string;
  secret: string;
}

/** POSTs one delivery. @returns null on a 2xx answer, else what went wrong */
async function send(delivery: Claimed): Promise<string | null> {
  const body = JSON.stringify({ id: delivery.id, ...delivery.payload });
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Trupp-Webhooks/1',
        'x-trupp-event': delivery.event,
        'x-trupp-delivery': delivery.id,
        'x-trupp-timestamp': timestamp,
        'x-trupp-signature': webhookSignature(delivery.secret, timestamp, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') return `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
    return (err.cause?.code ?? err.cause?.message ?? err.message).slice(0, 500);
  }
}

/**
 * Sends every due delivery once. Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED and
 * pushed CLAIM_MS ahead in a short transaction, then sent without holding locks; so several
 * nodes can run this, and a node that dies mid-send only delays the delivery. A failed
 * attempt is retried after BACKOFF_BASE_MS · 2^(attempts-1), at most MAX_ATTEMPTS times.
 * @returns the number of deliveries attempted
 */
export async function deliverDueWebhooks(app: FastifyInstance, now = new Date()): Promise<number> {
  const claimed: Claimed[] = await app.db.transaction(async (tx) => {
    const rows = await tx
      .select({
        id: webhookDeliveries.id,
        event: webhookDeliveries.event,
        payload: webhookDeliveries.payload,
        attempts: webhookDeliveries.attempts,
        url: webhooks.url,
        secret: webhooks.secret,
      })
      .from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
      .where(
        and(
          isNull(webhookDeliveries.deliveredAt),
          sql`${webhookDeliveries.nextAttemptAt} <= ${now}`,
          eq(webhooks.active, true),
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(BATCH)
      .for('update', { skipLocked: true });
    if (rows.length > 0) {
      await tx
        .update(webhookDeliveries)
        .set({ nextAttemptAt: new Date(now.getTime() + CLAIM_MS) })
        .where(
          inArray(
            webhookDeliveries.id,
            rows.map((r) => r.id),
          ),
        );
    }
    return rows;
  });
  await Promise.all(
    claimed.map(async (delivery) => {
      const error = await send(delivery);
      const attempts = delivery.attempts + 1;
      const retryAt =
        attempts >= MAX_ATTEMPTS
          ? null
          : new Date(now.getTime() + BACKOFF_BASE_MS * 2 ** (attempts - 1));
      await app.db
        .update(webhookDeliveries)
        .set(
          error === null
            ? { attempts, deliveredAt: now, nextAttemptAt: null, lastError: null }
            : { attempts, nextAttemptAt: retryAt, lastError: error },
        )
        .where(eq(webhookDeliveries.id, delivery.id));
      if (error !== null) {
        app.log.warn({ deliveryId: delivery.id, attempts, error }, 'webhook delivery failed');
      }
    }),
  );
  return claimed.length;
}
