import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ALARM_CLIENT_EVENTS } from '@trupp/shared';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import escalationJob from './escalation.ts';
import { listAlarms, listTemplates, toSummary, toTemplate } from './repository.ts';
import {
  AlarmIdBody,
  AlarmIdParams,
  AlarmListItem,
  AlarmListQuery,
  AlarmSummary,
  Board,
  RespondBody,
  RespondEvent,
  Template,
  TemplateBody,
  TemplateIdParams,
  TriggerBody,
  UpdateBody,
} from './schemas.ts';
import { SeenBatcher } from './seen-batcher.ts';
import {
  answers,
  boardDeltas,
  closeAlarm,
  deleteTemplate,
  loadBoard,
  myAlarm,
  respond,
  saveTemplate,
  triggerAlarm,
  updateAlarm,
} from './service.ts';
import { alarmsSource } from './sync-source.ts';

/**
 * Alarms: templates, raising (console and API), the response board, the member's side
 * (answers over HTTP and socket, acknowledgements over the socket) and escalation.
 */
const alarmRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['alarms'];

  app.get(
    '/api/alarm-templates',
    {
      schema: { tags, response: { 200: Type.Array(Template), ...errorResponses(401, 403) } },
      config: { access: 'alarms.board' },
    },
    async (request) => (await listTemplates(app.db, caller(request).tenantId)).map(toTemplate),
  );

  app.post(
    '/api/alarm-templates',
    {
      schema: {
        tags,
        body: TemplateBody,
        response: { 201: Template, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const saved = await saveTemplate(
        app,
        auth.tenantId,
        requestActor(request),
        null,
        request.body,
      );
      return reply.code(201).send(saved);
    },
  );

  app.put(
    '/api/alarm-templates/:templateId',
    {
      schema: {
        tags,
        params: TemplateIdParams,
        body: TemplateBody,
        response: { 200: Template, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request) =>
      saveTemplate(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.templateId,
        request.body,
      ),
  );

  app.delete(
    '/api/alarm-templates/:templateId',
    {
      schema: {
        tags,
        params: TemplateIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request, reply) => {
      await deleteTemplate(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.templateId,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/alarms',
    {
      schema: {
        tags,
        body: TriggerBody,
        response: { 201: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request, reply) => {
      const board = await triggerAlarm(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
        { source: 'console' },
      );
      return reply.code(201).send(board);
    },
  );

  app.get(
    '/api/alarms',
    {
      schema: {
        tags,
        querystring: AlarmListQuery,
        response: { 200: Type.Array(AlarmListItem), ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => {
      const rows = await listAlarms(app.db, caller(request).tenantId, {
        status: request.query.status ?? 'all',
        includeTests: request.query.includeTests ?? true,
        limit: request.query.limit ?? 50,
      });
      return rows.map((r) => ({
        ...toSummary(r),
        recipients: r.recipients,
        coming: r.coming,
        source: r.source,
      }));
    },
  );

  app.get(
    '/api/alarms/:alarmId',
    {
      schema: {
        tags,
        params: AlarmIdParams,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => loadBoard(app, caller(request).tenantId, request.params.alarmId),
  );

  app.patch(
    '/api/alarms/:alarmId',
    {
      schema: {
        tags,
        params: AlarmIdParams,
        body: UpdateBody,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request) =>
      updateAlarm(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.alarmId,
        request.body,
      ),
  );

  app.post(
    '/api/alarms/:alarmId/close',
    {
      schema: {
        tags,
        params: AlarmIdParams,
        response: { 200: Board, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request) =>
      closeAlarm(app, caller(request).tenantId, requestActor(request), request.params.alarmId),
  );

  app.get(
    '/api/me/alarms/:alarmId',
    {
      schema: {
        tags,
        params: AlarmIdParams,
        response: { 200: AlarmSummary, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      return myAlarm(app, auth.tenantId, auth.userId, request.params.alarmId);
    },
  );

  app.post(
    '/api/me/alarms/:alarmId/response',
    {
      schema: {
        tags,
        params: AlarmIdParams,
        body: RespondBody,
        response: { 200: AlarmSummary, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      return respond(
        app,
        auth.tenantId,
        auth.userId,
        request.params.alarmId,
        request.body.response,
        request.body.etaMinutes,
      );
    },
  );

  // ---- socket side
  const seen = new SeenBatcher(app);
  app.addHook('preClose', async () => {
    await answers(app).flush();
    await seen.flush();
    boardDeltas(app).flush();
  });
  app.realtime.registerSyncSource('alarms', alarmsSource(app.db));
  app.realtime.on(
    ALARM_CLIENT_EVENTS.ack,
    { schema: AlarmIdBody, access: 'alarms.receive' },
    async ({ auth }, { alarmId }) => {
      await seen.mark(auth.tenantId, alarmId, auth.userId, 'delivered');
      return null;
    },
  );
  app.realtime.on(
    ALARM_CLIENT_EVENTS.read,
    { schema: AlarmIdBody, access: 'alarms.receive' },
    async ({ auth }, { alarmId }) => {
      await seen.mark(auth.tenantId, alarmId, auth.userId, 'read');
      return null;
    },
  );
  app.realtime.on(
    ALARM_CLIENT_EVENTS.respond,
    { schema: RespondEvent, access: 'alarms.receive' },
    async ({ auth }, body) =>
      respond(app, auth.tenantId, auth.userId, body.alarmId, body.response, body.etaMinutes),
  );

  await app.register(escalationJob);
};

export default alarmRoutes;
