import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ALARM_RESPONSES, AVAILABILITY_STATES, POSITION_MAX_AGE_MS } from '@trupp/shared';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { errorResponses } from '../auth/schemas.ts';
import { listMapMembers, loadTracks, type MapMember } from './map-repository.ts';
import { positionService } from './service.ts';

const Id = Type.String({ minLength: 1, maxLength: 64 });

const MapMemberSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  lat: Type.Number(),
  lon: Type.Number(),
  accuracyM: Type.Integer(),
  heading: Type.Union([Type.Integer(), Type.Null()]),
  speedKmh: Type.Union([Type.Integer(), Type.Null()]),
  recordedAt: Type.String({ format: 'date-time' }),
  units: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  availability: Type.Enum([...AVAILABILITY_STATES]),
  alarm: Type.Union([
    Type.Object({
      alarmId: Type.String(),
      response: Type.Union([Type.Enum([...ALARM_RESPONSES]), Type.Null()]),
      etaMinutes: Type.Union([Type.Integer(), Type.Null()]),
    }),
    Type.Null(),
  ]),
});

const TracksQuery = Type.Object({
  /** Members to replay; ids of other organisations are ignored. */
  userIds: Type.Array(Id, { minItems: 1, maxItems: 200 }),
  from: Type.String({ format: 'date-time' }),
  to: Type.Optional(Type.String({ format: 'date-time' })),
});

const TracksResponse = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  /** True when the window held too many points and only every n-th is included. */
  thinned: Type.Boolean(),
  tracks: Type.Array(
    Type.Object({
      userId: Type.String(),
      displayName: Type.String(),
      points: Type.Array(
        Type.Object({
          lat: Type.Number(),
          lon: Type.Number(),
          accuracyM: Type.Integer(),
          recordedAt: Type.String({ format: 'date-time' }),
        }),
      ),
    }),
  ),
});

/** The current positions as a GeoJSON FeatureCollection of points (RFC 7946). */
export function positionsGeoJson(members: MapMember[], generatedAt: Date) {
  return {
    type: 'FeatureCollection' as const,
    generatedAt: generatedAt.toISOString(),
    features: members.map((m) => ({
      type: 'Feature' as const,
      id: m.userId,
      geometry: { type: 'Point' as const, coordinates: [m.lon, m.lat] },
      properties: {
        userId: m.userId,
        name: m.displayName,
        units: m.units.map((u) => u.name),
        accuracyM: m.accuracyM,
        heading: m.heading,
        speedKmh: m.speedKmh,
        recordedAt: m.recordedAt,
        availability: m.availability,
        alarmId: m.alarm?.alarmId ?? null,
        response: m.alarm ? (m.alarm.response ?? 'no_answer') : null,
      },
    })),
  };
}

/**
 * Read routes of the dispatch map beside the live position routes: the members the map
 * shows (with units, availability and alarm answer, so markers can be coloured and
 * filtered), the current positions as a GeoJSON download, and tracks as JSON for replay.
 * Same access as `GET /api/positions`; every query is scoped to the caller's tenant.
 */
const positionMapRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['positions'];
  const positions = positionService(app);
  /**
   * The current positions (the same as `GET /api/positions`, live from the cache) with
   * heading and speed from the live fix where it is the one shown, and what the map shows.
   */
  const mapMembers = async (tenantId: string, now = new Date()) => {
    const [current, live] = await Promise.all([
      positions.snapshot(tenantId),
      positions.cache.livePositions(tenantId, now.getTime() - POSITION_MAX_AGE_MS),
    ]);
    const liveOf = new Map(live.map((p) => [p.userId, p]));
    const withMotion = current.map((p) => {
      const fix = liveOf.get(p.userId);
      return fix && fix.recordedAt === p.recordedAt
        ? { ...p, heading: fix.heading ?? null, speedKmh: fix.speedKmh ?? null }
        : p;
    });
    return listMapMembers(app.db, tenantId, withMotion, now);
  };

  app.get(
    '/api/positions/map',
    {
      schema: {
        tags,
        response: { 200: Type.Array(MapMemberSchema), ...errorResponses(401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => mapMembers(caller(request).tenantId),
  );

  app.get(
    '/api/positions.geojson',
    {
      schema: {
        tags,
        produces: ['application/geo+json'],
        response: {
          200: Type.String({ description: 'GeoJSON FeatureCollection (attachment)' }),
          ...errorResponses(401, 403),
        },
      },
      config: { access: 'alarms.board' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const now = new Date();
      const members = await mapMembers(auth.tenantId, now);
      await recordAudit(app.db, auth.tenantId, {
        action: 'positions.exported',
        actor: requestActor(request),
        details: { members: members.length, format: 'geojson' },
      });
      const stamp = now.toISOString().slice(0, 16).replace(/[:T]/g, '-');
      return reply
        .header('content-type', 'application/geo+json')
        .header('content-disposition', `attachment; filename="trupp-positions-${stamp}.geojson"`)
        .header('cache-control', 'no-store')
        .send(JSON.stringify(positionsGeoJson(members, now)));
    },
  );

  app.get(
    '/api/positions/tracks',
    {
      schema: {
        tags,
        querystring: TracksQuery,
        response: { 200: TracksResponse, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => {
      const auth = caller(request);
      const from = new Date(request.query.from);
      const to = request.query.to ? new Date(request.query.to) : new Date();
      if (from > to) throw appError('VALIDATION_FAILED', '`from` must be before `to`.');
      // Track points are written in batches; the newest must be in the replay too.
      await positions.flush();
      const result = await loadTracks(
        app.db,
        auth.tenantId,
        [...new Set(request.query.userIds)],
        from,
        to,
      );
      await recordAudit(app.db, auth.tenantId, {
        action: 'positions.track_replayed',
        actor: requestActor(request),
        details: {
          members: result.tracks.map((t) => t.userId),
          points: result.tracks.reduce((n, t) => n + t.points.length, 0),
          from: from.toISOString(),
          to: to.toISOString(),
        },
      });
      return { from: from.toISOString(), to: to.toISOString(), ...result };
    },
  );
};

export default positionMapRoutes;
