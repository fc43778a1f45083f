import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, eq, gte, lte } from 'drizzle-orm';
import { Type } from 'typebox';
import { POSITION_CLIENT_EVENTS } from '@trupp/shared';
import { positionPoints } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import type { TruppSocket } from '../../realtime/gateway.ts';
import { errorResponses } from '../auth/schemas.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { findUser } from '../users/repository.ts';
import { positionsSubscribedRoom, positionsTenantRoom, positionsUnitRoom } from './live.ts';
import {
  MapPositionSchema,
  PositionReport,
  SharingBody,
  SharingState,
  SubscribeBody,
} from './schemas.ts';
import { positionService } from './service.ts';
import { trackGeoJson, trackGpx } from './track-export.ts';

/**
 * Positions: members report over the socket while they share (switched on, coming to an
 * open alarm, or on duty where the organisation enables it); dispatch and leads see them
 * live (subscribed consoles get coalesced batches) and export tracks. Alarms use the last
 * positions for area targets and the board's distance/ETA. The work is in service.ts.
 */
const positionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['positions'];
  const positions = positionService(app);
  app.addHook('preClose', () => positions.close());
  app.io.on('connection', (socket: TruppSocket) => positions.prefetch(socket.data.auth));

  app.get(
    '/api/positions',
    {
      schema: {
        tags,
        response: { 200: Type.Array(MapPositionSchema), ...errorResponses(401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => positions.snapshot(caller(request).tenantId),
  );

  app.get(
    '/api/me/position-sharing',
    {
      schema: { tags, response: { 200: SharingState, ...errorResponses(401, 403) } },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      return positions.sharingState(auth.tenantId, auth.userId);
    },
  );

  app.put(
    '/api/me/position-sharing',
    {
      schema: {
        tags,
        body: SharingBody,
        response: { 200: SharingState, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      return positions.setSharing(
        auth.tenantId,
        auth.userId,
        request.body.on,
        request.body.hours ?? 8,
      );
    },
  );

  app.get(
    '/api/positions/:userId/track',
    {
      schema: {
        tags,
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Type.Object({
          format: Type.Optional(Type.Enum(['gpx', 'geojson'])),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: {
          200: Type.String({ description: 'GPX 1.1 or GeoJSON (attachment)' }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
      config: { access: 'alarms.board' },
    },
    async (request, reply) => {
      const auth = caller(request);
      await positions.flush();
      const member = await findUser(app.db, auth.tenantId, request.params.userId);
      const to = request.query.to ? new Date(request.query.to) : new Date();
      const from = request.query.from ? new Date(request.query.from) : new Date(0);
      if (from > to) throw appError('VALIDATION_FAILED', '`from` must be before `to`.');
      const points = await app.db
        .select()
        .from(positionPoints)
        .where(
          and(
            eq(positionPoints.tenantId, auth.tenantId),
            eq(positionPoints.userId, member.id),
            gte(positionPoints.recordedAt, from),
            lte(positionPoints.recordedAt, to),
          ),
        )
        .orderBy(asc(positionPoints.recordedAt))
        .limit(100_000);
      await recordAudit(app.db, auth.tenantId, {
        action: 'positions.track_exported',
        actor: requestActor(request),
        target: { type: 'user', id: member.id },
        details: { points: points.length, format: request.query.format ?? 'gpx' },
      });
      const name = `trupp-track-${member.displayName.replace(/[^\p{L}\p{N}]+/gu, '-')}`;
      if (request.query.format === 'geojson') {
        return reply
          .header('content-type', 'application/geo+json')
          .header(
            'content-disposition',
            `attachment; filename="${encodeURIComponent(name)}.geojson"`,
          )
          .send(JSON.stringify(trackGeoJson(member.displayName, points)));
      }
      return reply
        .header('content-type', 'application/gpx+xml')
        .header('content-disposition', `attachment; filename="${encodeURIComponent(name)}.gpx"`)
        .send(trackGpx(member.displayName, points));
    },
  );

  app.realtime.on(
    POSITION_CLIENT_EVENTS.report,
    { schema: PositionReport, access: 'alarms.receive' },
    async ({ auth }, report) => positions.report(auth, report),
  );

  app.realtime.on(
    POSITION_CLIENT_EVENTS.subscribe,
    { schema: SubscribeBody, access: 'alarms.board' },
    async ({ auth, socket }, { unitId }) => {
      const unitIds = unitId ? await positions.unitSubtree(auth.tenantId, unitId) : null;
      leavePositionRooms(socket);
      await socket.join([
        positionsSubscribedRoom(auth.tenantId),
        ...(unitIds ? unitIds.map(positionsUnitRoom) : [positionsTenantRoom(auth.tenantId)]),
      ]);
      return { positions: await positions.snapshot(auth.tenantId, unitIds) };
    },
  );

  app.realtime.on(
    POSITION_CLIENT_EVENTS.unsubscribe,
    { schema: Type.Object({}, { additionalProperties: false }), access: 'alarms.board' },
    async ({ socket }) => {
      leavePositionRooms(socket);
      return null;
    },
  );
};

function leavePositionRooms(socket: TruppSocket): void {
  for (const room of [...socket.rooms]) {
    if (room.startsWith('positions:')) void socket.leave(room);
  }
}

export default positionRoutes;
