import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { pushSubscriptions } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { loadVapidKeys, pushToUsers } from './service.ts';

const Base64Url = (max: number) =>
  Type.String({ minLength: 8, maxLength: max, pattern: '^[A-Za-z0-9_-]+={0,2}$' });

const SubscriptionBody = Type.Object(
  {
    endpoint: Type.String({ minLength: 10, maxLength: 1000, format: 'uri' }),
    keys: Type.Object(
      { p256dh: Base64Url(120), auth: Base64Url(40) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** Push services speak HTTPS; plain HTTP only to this machine (development, tests). */
function assertPushEndpoint(endpoint: string): void {
  const url = new URL(endpoint);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return;
  throw appError('VALIDATION_FAILED', 'A push endpoint must be an https:// URL.');
}

/**
 * Web Push (RFC 8030/8291/8292): devices register their push subscription; alarms wake
 * them with an opaque id only — the device fetches the content after authenticating.
 */
const pushRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['push'];

  app.get(
    '/api/push/key',
    {
      schema: {
        tags,
        response: { 200: Type.Object({ publicKey: Type.String() }), ...errorResponses(401) },
      },
      config: { access: 'self' },
    },
    async () => ({ publicKey: (await loadVapidKeys(app.db)).publicKey }),
  );

  app.put(
    '/api/me/push',
    {
      schema: {
        tags,
        body: SubscriptionBody,
        response: { 204: NoContent, ...errorResponses(400, 401) },
      },
      config: { access: 'self' },
    },
    async (request, reply) => {
      const auth = caller(request);
      assertPushEndpoint(request.body.endpoint);
      const values = {
        tenantId: auth.tenantId,
        userId: auth.userId,
        endpoint: request.body.endpoint,
        p256dh: request.body.keys.p256dh,
        auth: request.body.keys.auth,
      };
      await app.db
        .insert(pushSubscriptions)
        .values({ deviceId: auth.deviceId, ...values, createdAt: new Date() })
        .onDuplicateKeyUpdate({ set: values });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/me/push',
    {
      schema: { tags, response: { 204: NoContent, ...errorResponses(401) } },
      config: { access: 'self' },
    },
    async (request, reply) => {
      await app.db
        .delete(pushSubscriptions)
        .where(eq(pushSubscriptions.deviceId, caller(request).deviceId));
      return reply.code(204).send(null);
    },
  );

  const offRevoked = app.bus.on('device.revoked', ({ deviceId }) => {
    void app.db
      .delete(pushSubscriptions)
      .where(eq(pushSubscriptions.deviceId, deviceId))
      .catch((err: unknown) => app.log.warn({ err }, 'could not drop a push subscription'));
  });
  const pending = new Set<Promise<unknown>>();
  const offAlarm = app.bus.on('alarm.changed', (event) => {
    if (event.alertedUserIds.length === 0) return;
    const job = pushToUsers(app, event.tenantId, event.alertedUserIds, {
      type: 'alarm',
      id: event.alarmId,
    })
      .catch((err: unknown) => app.log.error({ err }, 'alarm push failed'))
      .finally(() => pending.delete(job));
    pending.add(job);
  });
  app.addHook('preClose', async () => {
    offRevoked();
    offAlarm();
    await Promise.all(pending);
  });
};

export default pushRoutes;
