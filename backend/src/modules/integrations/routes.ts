import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { appError } from '../../errors.ts';
import { apiKeyCaller, caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import type { AuditActor } from '../audit/service.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { CAP_MAX_BYTES } from '../alarms/cap.ts';
import { AlarmIdParams, Board, TriggerBody, UpdateBody } from '../alarms/schemas.ts';
import { closeAlarm, loadBoard, triggerAlarm, updateAlarm } from '../alarms/service.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys.ts';
import { exportCap, receiveCap } from './cap-service.ts';
import {
  ApiKey,
  ApiKeyCreateBody,
  ApiKeyIdParams,
  CreatedApiKey,
  CreatedWebhook,
  Webhook,
  WebhookCreateBody,
  WebhookIdParams,
} from './schemas.ts';
import webhookWorker from './webhook-worker.ts';
import { createWebhook, deleteWebhook, listWebhooks } from './webhooks.ts';

const CAP_CONTENT_TYPES = ['application/cap+xml', 'application/xml'];
const CAP_REPLY_TYPE = 'application/cap+xml; charset=utf-8';
const CapDocument = Type.String({ description: 'CAP 1.2 document (application/cap+xml)' });

/** A dispatch system acting through its key: no user, the key named in every audit record. */
function keyActor(request: FastifyRequest): AuditActor {
  return { userId: null, deviceId: null, ip: request.ip, apiKeyId: apiKeyCaller(request).apiKeyId };
}

/**
 * Integrations: the admin side (API keys, webhooks), the versioned API for dispatch
 * systems under /api/v1 (API-key access, JSON and CAP 1.2), CAP export, and the webhook
 * worker.
 */
const integrationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // ---- admin: API keys
  const keyTags = ['api-keys'];
  app.get(
    '/api/api-keys',
    {
      schema: { tags: keyTags, response: { 200: Type.Array(ApiKey), ...errorResponses(401, 403) } },
      config: { access: 'apikeys.manage' },
    },
    async (request) => listApiKeys(app.db, caller(request).tenantId),
  );

  app.post(
    '/api/api-keys',
    {
      schema: {
        tags: keyTags,
        body: ApiKeyCreateBody,
        response: { 201: CreatedApiKey, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'apikeys.manage' },
    },
    async (request, reply) => {
      const created = await createApiKey(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/api-keys/:apiKeyId',
    {
      schema: {
        tags: keyTags,
        params: ApiKeyIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikeys.manage' },
    },
    async (request, reply) => {
      await revokeApiKey(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.apiKeyId,
      );
      return reply.code(204).send(null);
    },
  );

  // ---- admin: webhooks
  const hookTags = ['webhooks'];
  app.get(
    '/api/webhooks',
    {
      schema: {
        tags: hookTags,
        response: { 200: Type.Array(Webhook), ...errorResponses(401, 403) },
      },
      config: { access: 'apikeys.manage' },
    },
    async (request) => listWebhooks(app.db, caller(request).tenantId),
  );

  app.post(
    '/api/webhooks',
    {
      schema: {
        tags: hookTags,
        body: WebhookCreateBody,
        response: { 201: CreatedWebhook, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'apikeys.manage' },
    },
    async (request, reply) => {
      const created = await createWebhook(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/webhooks/:webhookId',
    {
      schema: {
        tags: hookTags,
        params: WebhookIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikeys.manage' },
    },
    async (request, reply) => {
      await deleteWebhook(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.webhookId,
      );
      return reply.code(204).send(null);
    },
  );

  // ---- CAP export for signed-in dispatchers
  app.get(
    '/api/alarms/:alarmId/cap',
    {
      schema: {
        tags: ['alarms'],
        params: AlarmIdParams,
        response: { 200: CapDocument, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.board' },
    },
    async (request, reply) => {
      const xml = await exportCap(app, caller(request).tenantId, request.params.alarmId);
      return reply.type(CAP_REPLY_TYPE).send(xml);
    },
  );

  // ---- API for dispatch systems (Authorization: Bearer trupp_…)
  const v1Tags = ['api-v1'];
  app.post(
    '/api/v1/alarms',
    {
      schema: {
        tags: v1Tags,
        body: TriggerBody,
        response: { 201: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikey:alarms:write' },
    },
    async (request, reply) => {
      const board = await triggerAlarm(
        app,
        apiKeyCaller(request).tenantId,
        keyActor(request),
        request.body,
        { source: 'api' },
      );
      return reply.code(201).send(board);
    },
  );

  app.get(
    '/api/v1/alarms/:alarmId',
    {
      schema: {
        tags: v1Tags,
        params: AlarmIdParams,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikey:alarms:read' },
    },
    async (request) => loadBoard(app, apiKeyCaller(request).tenantId, request.params.alarmId),
  );

  app.patch(
    '/api/v1/alarms/:alarmId',
    {
      schema: {
        tags: v1Tags,
        params: AlarmIdParams,
        body: UpdateBody,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'apikey:alarms:write' },
    },
    async (request) =>
      updateAlarm(
        app,
        apiKeyCaller(request).tenantId,
        keyActor(request),
        request.params.alarmId,
        request.body,
      ),
  );

  app.post(
    '/api/v1/alarms/:alarmId/close',
    {
      schema: {
        tags: v1Tags,
        params: AlarmIdParams,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikey:alarms:write' },
    },
    async (request) =>
      closeAlarm(app, apiKeyCaller(request).tenantId, keyActor(request), request.params.alarmId),
  );

  app.get(
    '/api/v1/alarms/:alarmId/cap',
    {
      schema: {
        tags: v1Tags,
        params: AlarmIdParams,
        response: { 200: CapDocument, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'apikey:alarms:read' },
    },
    async (request, reply) => {
      const xml = await exportCap(app, apiKeyCaller(request).tenantId, request.params.alarmId);
      return reply.type(CAP_REPLY_TYPE).send(xml);
    },
  );

  // CAP in: its own scope, so that only XML is parsed here and JSON gets 415.
  await app.register(async (cap) => {
    cap.removeAllContentTypeParsers();
    cap.addContentTypeParser(
      CAP_CONTENT_TYPES,
      { parseAs: 'string', bodyLimit: CAP_MAX_BYTES },
      (_request, body, done) => done(null, body),
    );
    // An oversized document is refused as CAP_TOO_LARGE, not as a generic body error.
    const parent = cap.errorHandler;
    cap.setErrorHandler(function (error, request, reply) {
      const tooLarge = (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      return parent.call(this, tooLarge ? appError('CAP_TOO_LARGE') : error, request, reply);
    });
    cap.post(
      '/api/v1/alarms/cap',
      {
        schema: {
          tags: v1Tags,
          description:
            'Raise (Alert), update (Update) or close (Cancel) an alarm with a CAP 1.2 document.',
          response: {
            200: Board,
            201: Board,
            ...errorResponses(400, 401, 403, 404, 409, 413, 415),
          },
        },
        config: { access: 'apikey:alarms:write' },
      },
      async (request, reply) => {
        if (typeof request.body !== 'string') throw appError('UNSUPPORTED_MEDIA_TYPE');
        const { outcome, board } = await receiveCap(
          app,
          apiKeyCaller(request).tenantId,
          keyActor(request),
          request.body,
        );
        return reply.code(outcome === 'raised' ? 201 : 200).send(board);
      },
    );
  });

  await app.register(webhookWorker);
};

export default integrationRoutes;
