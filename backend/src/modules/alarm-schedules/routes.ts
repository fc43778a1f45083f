import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { Schedule, ScheduleBody, ScheduleIdParams } from './schemas.ts';
import { createSchedule, deleteSchedule, listSchedules, runSchedules } from './service.ts';

/** Scheduled alarms, e.g. the weekly test on Saturday 12:00 in the organisation's time zone. */
const alarmScheduleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['alarms'];

  app.get(
    '/api/alarm-schedules',
    {
      schema: { tags, response: { 200: Type.Array(Schedule), ...errorResponses(401, 403) } },
      config: { access: 'alarms.board' },
    },
    async (request) => listSchedules(app, caller(request).tenantId),
  );

  app.post(
    '/api/alarm-schedules',
    {
      schema: {
        tags,
        body: ScheduleBody,
        response: { 201: Schedule, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request, reply) => {
      const created = await createSchedule(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/alarm-schedules/:scheduleId',
    {
      schema: {
        tags,
        params: ScheduleIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'alarms.dispatch' },
    },
    async (request, reply) => {
      await deleteSchedule(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.scheduleId,
      );
      return reply.code(204).send(null);
    },
  );

  // Checked on the escalation job's beat (ALARM_ESCALATION_INTERVAL_MS; 0 = tests tick by hand).
  const intervalMs = app.config.alarmEscalationIntervalMs;
  if (intervalMs > 0) {
    let running: Promise<unknown> | null = null;
    const timer = setInterval(
      () => {
        running ??= runSchedules(app)
          .catch((err: unknown) => app.log.error({ err }, 'scheduled alarms run failed'))
          .finally(() => {
            running = null;
          });
      },
      Math.max(intervalMs, 5000),
    );
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await running;
    });
  }
};

export default alarmScheduleRoutes;
