import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GEOFENCE_SERVER_EVENTS, type GeofenceCrossing } from '@trupp/shared';
import { caller } from '../../plugins/access.ts';
import { boardRoom } from '../../realtime/gateway.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { GeofenceEngine } from './engine.ts';
import { listGeofences, listPresence, toGeofence } from './repository.ts';
import {
  Geofence,
  GeofenceBody,
  GeofenceIdParams,
  GeofencePatchBody,
  GeofencePresence,
} from './schemas.ts';
import { createGeofence, deleteGeofence, updateGeofence, type GeofenceDeps } from './service.ts';

/**
 * Geofences: areas drawn on the map, their live enter/exit events for dispatch and the
 * status members have while inside. Fixes arrive on the domain bus (`position.accepted`)
 * from the positions module; this module never touches the position reports themselves.
 */
const geofenceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['geofences'];

  const engine = new GeofenceEngine({
    db: app.db,
    log: app.log,
    publish({ tenantId, entered, ...crossing }) {
      app.io
        .to(boardRoom(tenantId))
        .emit(
          entered ? GEOFENCE_SERVER_EVENTS.entered : GEOFENCE_SERVER_EVENTS.exited,
          crossing satisfies GeofenceCrossing,
        );
    },
  });
  const deps: GeofenceDeps = {
    db: app.db,
    changed(tenantId) {
      engine.invalidate(tenantId);
      app.io.to(`tenant:${tenantId}`).emit(GEOFENCE_SERVER_EVENTS.changed, {});
    },
  };

  const off = app.bus.on('position.accepted', (fix) => {
    engine.evaluate(fix).catch((err: unknown) => {
      app.log.error({ err, tenantId: fix.tenantId }, 'could not evaluate geofences');
    });
  });
  app.addHook('preClose', async () => {
    off();
    await engine.idle();
  });

  app.get(
    '/api/geofences',
    {
      schema: { tags, response: { 200: Type.Array(Geofence), ...errorResponses(401, 403) } },
      config: { access: 'directory.read' },
    },
    async (request) => (await listGeofences(app.db, caller(request).tenantId)).map(toGeofence),
  );

  app.get(
    '/api/geofences/presence',
    {
      schema: {
        tags,
        description:
          'Members inside a geofence now (with its status text), while their position is shared.',
        response: { 200: Type.Array(GeofencePresence), ...errorResponses(401, 403) },
      },
      config: { access: 'alarms.board' },
    },
    async (request) => listPresence(app.db, caller(request).tenantId, new Date()),
  );

  app.post(
    '/api/geofences',
    {
      schema: {
        tags,
        body: GeofenceBody,
        response: { 201: Geofence, ...errorResponses(400, 401, 403, 409) },
      },
      config: { access: 'geofences.manage' },
    },
    async (request, reply) => {
      const created = await createGeofence(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.patch(
    '/api/geofences/:geofenceId',
    {
      schema: {
        tags,
        params: GeofenceIdParams,
        body: GeofencePatchBody,
        response: { 200: Geofence, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'geofences.manage' },
    },
    async (request) =>
      updateGeofence(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.params.geofenceId,
        request.body,
      ),
  );

  app.delete(
    '/api/geofences/:geofenceId',
    {
      schema: {
        tags,
        params: GeofenceIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'geofences.manage' },
    },
    async (request, reply) => {
      await deleteGeofence(
        deps,
        caller(request).tenantId,
        requestActor(request),
        request.params.geofenceId,
      );
      return reply.code(204).send(null);
    },
  );
};

export default geofenceRoutes;
