import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { listUnits, toUnit } from './repository.ts';
import { Unit, UnitCreateBody, UnitIdParams, UnitPatchBody } from './schemas.ts';
import { createUnit, deleteUnit, updateUnit } from './service.ts';

/** The tenant's unit tree: read by every operational role, changed by admins. */
const unitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['units'];

  app.get(
    '/api/units',
    {
      schema: { tags, response: { 200: Type.Array(Unit), ...errorResponses(401, 403) } },
      config: { access: 'directory.read' },
    },
    async (request) => (await listUnits(app.db, caller(request).tenantId)).map(toUnit),
  );

  app.post(
    '/api/units',
    {
      schema: {
        tags,
        body: UnitCreateBody,
        response: { 201: Unit, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'units.manage' },
    },
    async (request, reply) => {
      const unit = await createUnit(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(unit);
    },
  );

  app.patch(
    '/api/units/:unitId',
    {
      schema: {
        tags,
        params: UnitIdParams,
        body: UnitPatchBody,
        response: { 200: Unit, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'units.manage' },
    },
    async (request) =>
      updateUnit(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.unitId,
        request.body,
      ),
  );

  app.delete(
    '/api/units/:unitId',
    {
      schema: {
        tags,
        params: UnitIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'units.manage' },
    },
    async (request, reply) => {
      await deleteUnit(app, caller(request).tenantId, requestActor(request), request.params.unitId);
      return reply.code(204).send(null);
    },
  );
};

export default unitRoutes;
