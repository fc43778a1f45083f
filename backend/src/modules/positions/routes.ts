import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, eq, gt, gte, isNull, lte } from 'drizzle-orm';
import { Type } from 'typebox';
import {
  POSITION_CLIENT_EVENTS,
  POSITION_MAX_AGE_MS,
  POSITION_SERVER_EVENTS,
  type MemberPosition,
} from '@trupp/shared';
import {
  alarmRecipients,
  alarms,
  memberPositions,
  positionPoints,
  positionSharing,
  users,
} from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { errorResponses } from '../auth/schemas.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { findUser } from '../users/repository.ts';
import { boardRoom } from '../../realtime/gateway.ts';

/** Reports older than this, or this far in the device's future, are refused. */
const MAX_AGE_MS = 10 * 60_000;
const MAX_SKEW_MS = 30_000;
/** How long track points gather before one insert writes them. */
const TRACK_FLUSH_MS = 2000;
/** At most one stored report per device per second. */
const MIN_INTERVAL_MS = 1000;

const Sharing = Type.Object({
  sharing: Type.Boolean(),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SharingBody = Type.Object(
  {
    on: Type.Boolean(),
    /** How long sharing stays on (a shift); it ends by itself. */
    hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24, default: 8 })),
  },
  { additionalProperties: false },
);

const PositionReport = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    accuracy: Type.Number({ minimum: 0, maximum: 10_000 }),
    heading: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 360 }), Type.Null()])),
    speed: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 200 }), Type.Null()])),
    recordedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

/**
 * The last known position store, written only while the member shares: switched on by
 * the member (for a shift, ending by itself) or while they are coming to an open alarm.
 * Alarms use it for area targets; the geolocation capability builds tracks and the live
 * map on top of it.
 */
const positionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['positions'];

  async function sharingUntil(tenantId: string, userId: string): Promise<Date | null> {
    const [row] = await app.db
      .select()
      .from(positionSharing)
      .where(and(eq(positionSharing.tenantId, tenantId), eq(positionSharing.userId, userId)));
    return row?.until && row.until > new Date() ? row.until : null;
  }

  async function comingToOpenAlarm(tenantId: string, userId: string): Promise<boolean> {
    const [row] = await app.db
      .select({ id: alarms.id })
      .from(alarmRecipients)
      .innerJoin(alarms, eq(alarms.id, alarmRecipients.alarmId))
      .where(
        and(
          eq(alarmRecipients.tenantId, tenantId),
          eq(alarmRecipients.userId, userId),
          eq(alarmRecipients.response, 'coming'),
          isNull(alarms.closedAt),
        ),
      )
      .limit(1);
    return Boolean(row);
  }

  app.get(
    '/api/positions',
    {
      schema: {
        tags,
        response: {
          200: Type.Array(
            Type.Object({
              userId: Type.String(),
              displayName: Type.String(),
              lat: Type.Number(),
              lon: Type.Number(),
              accuracyM: Type.Integer(),
              recordedAt: Type.String({ format: 'date-time' }),
            }),
          ),
          ...errorResponses(401, 403),
        },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => {
      const auth = caller(request);
      const rows = await app.db
        .select({
          userId: memberPositions.userId,
          displayName: users.displayName,
          lat: memberPositions.lat,
          lon: memberPositions.lon,
          accuracyM: memberPositions.accuracyM,
          recordedAt: memberPositions.recordedAt,
        })
        .from(memberPositions)
        .innerJoin(users, eq(users.id, memberPositions.userId))
        .where(
          and(
            eq(memberPositions.tenantId, auth.tenantId),
            gt(memberPositions.recordedAt, new Date(Date.now() - POSITION_MAX_AGE_MS)),
          ),
        );
      return rows.map((r) => ({ ...r, recordedAt: r.recordedAt.toISOString() }));
    },
  );

  app.get(
    '/api/me/position-sharing',
    {
      schema: { tags, response: { 200: Sharing, ...errorResponses(401, 403) } },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const until = await sharingUntil(auth.tenantId, auth.userId);
      return { sharing: until !== null, until: until?.toISOString() ?? null };
    },
  );

  app.put(
    '/api/me/position-sharing',
    {
      schema: {
        tags,
        body: SharingBody,
        response: { 200: Sharing, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const now = new Date();
      const until = request.body.on
        ? new Date(now.getTime() + (request.body.hours ?? 8) * 3600_000)
        : null;
      await app.db
        .insert(positionSharing)
        .values({ userId: auth.userId, tenantId: auth.tenantId, until, updatedAt: now })
        .onDuplicateKeyUpdate({ set: { until, updatedAt: now } });
      if (!until) {
        // Stopping means the last position is not kept either.
        app.io
          .to(boardRoom(auth.tenantId))
          .emit(POSITION_SERVER_EVENTS.removed, { userId: auth.userId });
        await app.db
          .delete(memberPositions)
          .where(
            and(
              eq(memberPositions.tenantId, auth.tenantId),
              eq(memberPositions.userId, auth.userId),
            ),
          );
      }
      return { sharing: until !== null, until: until?.toISOString() ?? null };
    },
  );

  // Tracks: points gather in memory and go to MariaDB every TRACK_FLUSH_MS in one insert.
  let pointBuffer: Array<typeof positionPoints.$inferInsert> = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> = Promise.resolve();
  const flushPoints = (): Promise<void> => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    const batch = pointBuffer;
    pointBuffer = [];
    flushing = flushing.then(async () => {
      for (let i = 0; i < batch.length; i += 1000) {
        await app.db
          .insert(positionPoints)
          .values(batch.slice(i, i + 1000))
          .catch((err: unknown) => app.log.error({ err }, 'could not write position history'));
      }
    });
    return flushing;
  };
  app.addHook('preClose', flushPoints);

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
      await flushPoints();
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

  const lastStored = new Map<string, number>();
  app.realtime.on(
    POSITION_CLIENT_EVENTS.report,
    { schema: PositionReport, access: 'alarms.receive' },
    async ({ auth }, report) => {
      const now = Date.now();
      const recordedAt = new Date(report.recordedAt);
      if (recordedAt.getTime() > now + MAX_SKEW_MS || recordedAt.getTime() < now - MAX_AGE_MS) {
        throw appError('POSITION_INVALID', 'The position is too old or its time is in the future.');
      }
      if (now - (lastStored.get(auth.deviceId) ?? 0) < MIN_INTERVAL_MS) return { stored: false };
      const shares =
        (await sharingUntil(auth.tenantId, auth.userId)) !== null ||
        (await comingToOpenAlarm(auth.tenantId, auth.userId));
      if (!shares) throw appError('POSITION_NOT_SHARED');
      const values = {
        deviceId: auth.deviceId,
        lat: report.lat,
        lon: report.lon,
        accuracyM: Math.round(report.accuracy),
        heading:
          report.heading === undefined || report.heading === null
            ? null
            : Math.round(report.heading),
        speedKmh:
          report.speed === undefined || report.speed === null
            ? null
            : Math.round(report.speed * 3.6),
        recordedAt,
        receivedAt: new Date(now),
      };
      // Out-of-order reports (older than the stored one) change nothing.
      const [stored] = await app.db
        .select({ recordedAt: memberPositions.recordedAt })
        .from(memberPositions)
        .where(eq(memberPositions.userId, auth.userId));
      if (stored && stored.recordedAt >= recordedAt) return { stored: false };
      await app.db
        .insert(memberPositions)
        .values({ userId: auth.userId, tenantId: auth.tenantId, ...values })
        .onDuplicateKeyUpdate({ set: values });
      lastStored.set(auth.deviceId, now);
      pointBuffer.push({
        tenantId: auth.tenantId,
        userId: auth.userId,
        lat: values.lat,
        lon: values.lon,
        accuracyM: values.accuracyM,
        recordedAt,
      });
      flushTimer ??= setTimeout(() => void flushPoints(), TRACK_FLUSH_MS);
      app.io.to(boardRoom(auth.tenantId)).emit(POSITION_SERVER_EVENTS.updated, {
        userId: auth.userId,
        lat: values.lat,
        lon: values.lon,
        accuracyM: values.accuracyM,
        recordedAt: recordedAt.toISOString(),
      } satisfies MemberPosition);
      app.bus.emit('position.accepted', {
        tenantId: auth.tenantId,
        userId: auth.userId,
        lat: values.lat,
        lon: values.lon,
        accuracyM: values.accuracyM,
        recordedAt,
      });
      return { stored: true };
    },
  );
  app.addHook('onClose', async () => lastStored.clear());
};

type Point = typeof positionPoints.$inferSelect;

const xml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GPX 1.1 with one track segment. */
export function trackGpx(name: string, points: Point[]): string {
  const pts = points
    .map(
      (p) =>
        `      <trkpt lat="${p.lat}" lon="${p.lon}"><time>${p.recordedAt.toISOString()}</time>` +
        `<hdop>${(p.accuracyM / 5).toFixed(1)}</hdop></trkpt>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Trupp" xmlns="http://www.topografix.com/GPX/1/1">
  <trk>
    <name>${xml(name)}</name>
    <trkseg>
${pts}
    </trkseg>
  </trk>
</gpx>
`;
}

/** GeoJSON: one LineString feature with the times per point. */
export function trackGeoJson(name: string, points: Point[]) {
  return {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        properties: {
          name,
          times: points.map((p) => p.recordedAt.toISOString()),
          accuracyM: points.map((p) => p.accuracyM),
        },
        geometry: { type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) },
      },
    ],
  };
}

export default positionRoutes;
