import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { caller } from '../../plugins/access.ts';
import { errorResponses } from '../auth/schemas.ts';
import { AlarmStatistics, StatsQuery } from './schemas.ts';
import { alarmStatistics, memberStatsCsv, unitNamesByMember } from './service.ts';

/** Response statistics of past alarms (per alarm, unit and member) and their CSV export. */
const alarmStatsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['alarms'];

  app.get(
    '/api/alarm-statistics',
    {
      schema: {
        tags,
        querystring: StatsQuery,
        response: { 200: AlarmStatistics, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => alarmStatistics(app.db, caller(request).tenantId, request.query),
  );

  app.get(
    '/api/alarm-statistics.csv',
    {
      schema: {
        tags,
        querystring: StatsQuery,
        produces: ['text/csv'],
        response: {
          200: Type.String({ description: 'One row per member (RFC 4180, UTF-8)' }),
          ...errorResponses(400, 401, 403),
        },
      },
      config: { access: 'alarms.board' },
    },
    async (request, reply) => {
      const tenantId = caller(request).tenantId;
      const stats = await alarmStatistics(app.db, tenantId, request.query);
      const csv = memberStatsCsv(stats, await unitNamesByMember(app.db, tenantId));
      const name = `trupp-alarm-statistics-${stats.from.slice(0, 10)}-${stats.to.slice(0, 10)}.csv`;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );
};

export default alarmStatsRoutes;
