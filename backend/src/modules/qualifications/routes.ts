import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { listQualifications, toQualification } from './repository.ts';
import { Qualification, QualificationBody, QualificationIdParams } from './schemas.ts';
import { createQualification, deleteQualification, renameQualification } from './service.ts';

/** Qualification tags ("SCBA", "driver", "paramedic") of the tenant. */
const qualificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['qualifications'];

  app.get(
    '/api/qualifications',
    {
      schema: { tags, response: { 200: Type.Array(Qualification), ...errorResponses(401, 403) } },
      config: { access: 'directory.read' },
    },
    async (request) =>
      (await listQualifications(app.db, caller(request).tenantId)).map(toQualification),
  );

  app.post(
    '/api/qualifications',
    {
      schema: {
        tags,
        body: QualificationBody,
        response: { 201: Qualification, ...errorResponses(400, 401, 403, 409) },
      },
      config: { access: 'qualifications.manage' },
    },
    async (request, reply) => {
      const created = await createQualification(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body.name,
      );
      return reply.code(201).send(created);
    },
  );

  app.patch(
    '/api/qualifications/:qualificationId',
    {
      schema: {
        tags,
        params: QualificationIdParams,
        body: QualificationBody,
        response: { 200: Qualification, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'qualifications.manage' },
    },
    async (request) =>
      renameQualification(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.qualificationId,
        request.body.name,
      ),
  );

  app.delete(
    '/api/qualifications/:qualificationId',
    {
      schema: {
        tags,
        params: QualificationIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'qualifications.manage' },
    },
    async (request, reply) => {
      await deleteQualification(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.qualificationId,
      );
      return reply.code(204).send(null);
    },
  );
};

export default qualificationRoutes;
