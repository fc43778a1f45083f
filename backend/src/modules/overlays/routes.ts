import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, count, eq } from 'drizzle-orm';
import { Type } from 'typebox';
import {
  GEOFENCE_SERVER_EVENTS,
  OVERLAY_MAX_BYTES,
  OVERLAY_MAX_PER_TENANT,
  type OverlayLayer as OverlayLayerShape,
} from '@trupp/shared';
import { mapOverlays } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isDuplicateKey } from '../../lib/db-errors.ts';
import { newId } from '../../lib/ids.ts';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { recordAudit } from '../audit/service.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { findTenant } from '../tenants/repository.ts';
import { parseOverlay } from './geojson.ts';

const IdString = Type.String({ minLength: 1, maxLength: 64 });
const OverlayIdParams = Type.Object({ overlayId: IdString });

const OverlayLayer = Type.Object({
  id: Type.String(),
  name: Type.String(),
  color: Type.Union([Type.String(), Type.Null()]),
  visibleByDefault: Type.Boolean(),
  featureCount: Type.Integer(),
  sizeBytes: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

const UploadQuery = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 80, pattern: '\\S' }),
  color: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$' })),
  visible: Type.Optional(Type.Boolean({ default: true })),
});

/** Room an upload may take: the GeoJSON limit plus slack, so a bit too much gets our own code. */
const UPLOAD_BODY_LIMIT = OVERLAY_MAX_BYTES + 512 * 1024;

type OverlayRow = Omit<typeof mapOverlays.$inferSelect, 'data'>;
const listColumns = {
  id: mapOverlays.id,
  tenantId: mapOverlays.tenantId,
  name: mapOverlays.name,
  color: mapOverlays.color,
  visibleByDefault: mapOverlays.visibleByDefault,
  featureCount: mapOverlays.featureCount,
  sizeBytes: mapOverlays.sizeBytes,
  createdBy: mapOverlays.createdBy,
  createdAt: mapOverlays.createdAt,
  updatedAt: mapOverlays.updatedAt,
};

function toOverlay(row: OverlayRow): OverlayLayerShape {
  return {
    id: row.id,
    name: row.name,
    color: row.color,
    visibleByDefault: row.visibleByDefault,
    featureCount: row.featureCount,
    sizeBytes: row.sizeBytes,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * GeoJSON overlay layers of the map (hydrants, assembly points …): an admin uploads a
 * .geojson file as the request body (`application/geo+json` or `application/json`, up to
 * OVERLAY_MAX_BYTES), everyone of the tenant can list and draw them.
 */
const overlayRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['overlays'];

  // The file is read as text and checked by parseOverlay, so a broken file gets
  // OVERLAY_INVALID with what is wrong rather than a generic parser error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/geo+json'],
    { parseAs: 'string', bodyLimit: UPLOAD_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
  app.setErrorHandler((error: Error & { code?: string }) => {
    // Thrown on to the app's error handler, which shapes the answer.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      throw appError('OVERLAY_TOO_LARGE', 'The file is larger than 2 MB.');
    }
    throw error;
  });

  const announce = (tenantId: string) =>
    app.io.to(`tenant:${tenantId}`).emit(GEOFENCE_SERVER_EVENTS.overlaysChanged, {});

  app.get(
    '/api/overlays',
    {
      schema: { tags, response: { 200: Type.Array(OverlayLayer), ...errorResponses(401, 403) } },
      config: { access: 'directory.read' },
    },
    async (request) => {
      const rows = await app.db
        .select(listColumns)
        .from(mapOverlays)
        .where(eq(mapOverlays.tenantId, caller(request).tenantId))
        .orderBy(asc(mapOverlays.name));
      return rows.map(toOverlay);
    },
  );

  app.post(
    '/api/overlays',
    {
      bodyLimit: UPLOAD_BODY_LIMIT,
      schema: {
        tags,
        description:
          'Uploads a GeoJSON FeatureCollection (the request body, `application/geo+json`) as a new layer.',
        querystring: UploadQuery,
        response: { 201: OverlayLayer, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
      config: { access: 'overlays.manage' },
    },
    async (request, reply) => {
      const auth = caller(request);
      const text = typeof request.body === 'string' ? request.body : '';
      if (!text.trim()) throw appError('OVERLAY_INVALID', 'The file is empty.');
      const collection = parseOverlay(text);
      const data = JSON.stringify(collection);
      const now = new Date();
      const row = {
        id: newId(),
        tenantId: auth.tenantId,
        name: request.query.name.trim(),
        color: request.query.color?.toLowerCase() ?? null,
        visibleByDefault: request.query.visible ?? true,
        featureCount: collection.features.length,
        sizeBytes: Buffer.byteLength(data, 'utf8'),
        createdBy: auth.userId,
        createdAt: now,
        updatedAt: now,
      };
      await app.db.transaction(async (tx) => {
        await findTenant(tx, auth.tenantId, { lock: true });
        const [existing] = await tx
          .select({ n: count() })
          .from(mapOverlays)
          .where(eq(mapOverlays.tenantId, auth.tenantId));
        if (Number(existing?.n ?? 0) >= OVERLAY_MAX_PER_TENANT) {
          throw appError('OVERLAY_LIMIT_REACHED');
        }
        try {
          await tx.insert(mapOverlays).values({ ...row, data: collection as never });
        } catch (error) {
          if (isDuplicateKey(error)) throw appError('OVERLAY_NAME_TAKEN');
          throw error;
        }
        await recordAudit(tx, auth.tenantId, {
          action: 'overlay.uploaded',
          actor: requestActor(request),
          target: { type: 'overlay', id: row.id },
          details: { name: row.name, features: row.featureCount, bytes: row.sizeBytes },
        });
      });
      announce(auth.tenantId);
      return reply.code(201).send(toOverlay(row));
    },
  );

  app.get(
    '/api/overlays/:overlayId/geojson',
    {
      schema: {
        tags,
        params: OverlayIdParams,
        response: {
          200: Type.String({ description: 'The GeoJSON FeatureCollection' }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
      config: { access: 'directory.read' },
    },
    async (request, reply) => {
      const [row] = await app.db
        .select({ name: mapOverlays.name, data: mapOverlays.data })
        .from(mapOverlays)
        .where(
          and(
            eq(mapOverlays.tenantId, caller(request).tenantId),
            eq(mapOverlays.id, request.params.overlayId),
          ),
        );
      if (!row) throw appError('OVERLAY_NOT_FOUND');
      return reply
        .header('content-type', 'application/geo+json')
        .header('cache-control', 'private, no-cache')
        .send(typeof row.data === 'string' ? row.data : JSON.stringify(row.data));
    },
  );

  app.delete(
    '/api/overlays/:overlayId',
    {
      schema: {
        tags,
        params: OverlayIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'overlays.manage' },
    },
    async (request, reply) => {
      const auth = caller(request);
      await app.db.transaction(async (tx) => {
        const [row] = await tx
          .select(listColumns)
          .from(mapOverlays)
          .where(
            and(
              eq(mapOverlays.tenantId, auth.tenantId),
              eq(mapOverlays.id, request.params.overlayId),
            ),
          )
          .for('update');
        if (!row) throw appError('OVERLAY_NOT_FOUND');
        await tx
          .delete(mapOverlays)
          .where(and(eq(mapOverlays.tenantId, auth.tenantId), eq(mapOverlays.id, row.id)));
        await recordAudit(tx, auth.tenantId, {
          action: 'overlay.deleted',
          actor: requestActor(request),
          target: { type: 'overlay', id: row.id },
          details: { name: row.name },
        });
      });
      announce(auth.tenantId);
      return reply.code(204).send(null);
    },
  );
};

export default overlayRoutes;
