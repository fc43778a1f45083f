import { and, eq, inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import webpush from 'web-push';
import type { DbOrTx } from '../../db/client.ts';
import { pushSubscriptions, vapidKeys } from '../../db/schema.ts';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** The installation's VAPID keys, made once; concurrent first calls agree on one pair. */
export async function loadVapidKeys(db: DbOrTx): Promise<VapidKeys> {
  const [existing] = await db.select().from(vapidKeys).where(eq(vapidKeys.id, 1));
  if (existing) return existing;
  const fresh = webpush.generateVAPIDKeys();
  await db
    .insert(vapidKeys)
    .ignore()
    .values({ id: 1, ...fresh, createdAt: new Date() });
  const [row] = await db.select().from(vapidKeys).where(eq(vapidKeys.id, 1));
  return row!;
}

/** What a push carries: an opaque id, nothing a push service could read anything from. */
/** Never content: the device fetches (alarm) or decrypts (chat) it itself. */
export interface PushPayload {
  type: 'alarm' | 'chat';
  id: string;
}

/** Pushes in flight at once; a large alarm is sent in waves. */
const PARALLEL_SENDS = 50;
/** Seconds a push service keeps an undelivered alarm push. */
const ALARM_TTL_SECONDS = 300;
const SEND_TIMEOUT_MS = 5000;

/**
 * Sends `payload` to every subscribed device of the users (RFC 8030 with VAPID, payload
 * encrypted per RFC 8291 by the web-push library). Subscriptions the push service says
 * are gone (404/410) are deleted; other failures are logged and left for next time.
 */
export async function pushToUsers(
  app: FastifyInstance,
  tenantId: string,
  userIds: string[],
  payload: PushPayload,
): Promise<{ sent: number; failed: number }> {
  if (userIds.length === 0) return { sent: 0, failed: 0 };
  const subscriptions = [];
  for (let i = 0; i < userIds.length; i += 1000) {
    subscriptions.push(
      ...(await app.db
        .select()
        .from(pushSubscriptions)
        .where(
          and(
            eq(pushSubscriptions.tenantId, tenantId),
            inArray(pushSubscriptions.userId, userIds.slice(i, i + 1000)),
          ),
        )),
    );
  }
  if (subscriptions.length === 0) return { sent: 0, failed: 0 };
  const keys = await loadVapidKeys(app.db);
  const body = JSON.stringify(payload);
  let sent = 0;
  let failed = 0;
  const gone: string[] = [];
  for (let i = 0; i < subscriptions.length; i += PARALLEL_SENDS) {
    await Promise.all(
      subscriptions.slice(i, i + PARALLEL_SENDS).map(async (s) => {
        try {
          // web-push builds the encrypted request (RFC 8291) and VAPID header (RFC 8292);
          // fetch sends it, so a push service on this machine may speak plain HTTP.
          const request = webpush.generateRequestDetails(
            { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
            body,
            {
              TTL: ALARM_TTL_SECONDS,
              urgency: payload.type === 'alarm' ? 'high' : 'normal',
              topic: `a${payload.id.replaceAll('-', '').slice(0, 30)}`,
              vapidDetails: {
                subject: app.config.pushSubject,
                publicKey: keys.publicKey,
                privateKey: keys.privateKey,
              },
            },
          );
          const response = await fetch(request.endpoint, {
            method: request.method,
            headers: request.headers as Record<string, string>,
            body: new Uint8Array(request.body as Buffer),
            signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
          });
          await response.body?.cancel();
          if (!response.ok)
            throw Object.assign(new Error(`push service answered ${response.status}`), {
              statusCode: response.status,
            });
          sent += 1;
        } catch (error) {
          failed += 1;
          const status = (error as { statusCode?: number }).statusCode;
          if (status === 404 || status === 410) gone.push(s.deviceId);
          else app.log.warn({ err: error, deviceId: s.deviceId }, 'web push failed');
        }
      }),
    );
  }
  if (gone.length > 0) {
    await app.db.delete(pushSubscriptions).where(inArray(pushSubscriptions.deviceId, gone));
  }
  return { sent, failed };
}
