import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { roleHas } from '@trupp/shared';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { findUnit } from '../units/repository.ts';
import { listUserSummaries } from './repository.ts';
import {
  InviteResult,
  UserCreateBody,
  UserCreated,
  UserDetail,
  UserIdParams,
  UserListQuery,
  UserPatchBody,
  UserSummary,
} from './schemas.ts';
import { createUser, readUserDetail, reinviteUser, resetUserMfa, updateUser } from './service.ts';

/**
 * The tenant's members: a directory every operational role can read, and account
 * administration for admins. Ids of another tenant are answered 404.
 */
const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['users'];

  app.get(
    '/api/users',
    {
      schema: {
        tags,
        querystring: UserListQuery,
        response: { 200: Type.Array(UserSummary), ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'directory.read' },
    },
    async (request) => {
      const auth = caller(request);
      const { unitId, role, q, includeInactive } = request.query;
      // A unit filter names a unit; one this tenant does not have is an error, not "nobody".
      if (unitId !== undefined) await findUnit(app.db, auth.tenantId, unitId);
      return listUserSummaries(app.db, auth.tenantId, {
        unitId,
        role,
        q,
        includeInactive,
        // Only those who may read private details may find people by email address.
        searchEmail: roleHas(auth.role, 'users.read_private'),
      });
    },
  );

  app.get(
    '/api/users/:userId',
    {
      schema: {
        tags,
        params: UserIdParams,
        response: { 200: UserDetail, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'users.read_private' },
    },
    async (request) =>
      readUserDetail(
        app.db,
        caller(request).tenantId,
        requestActor(request),
        request.params.userId,
      ),
  );

  app.post(
    '/api/users',
    {
      schema: {
        tags,
        body: UserCreateBody,
        response: { 201: UserCreated, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'users.manage' },
    },
    async (request, reply) => {
      const created = await createUser(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.body,
      );
      return reply.code(201).send(created);
    },
  );

  app.patch(
    '/api/users/:userId',
    {
      schema: {
        tags,
        params: UserIdParams,
        body: UserPatchBody,
        response: { 200: UserDetail, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'users.manage' },
    },
    async (request) =>
      updateUser(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.userId,
        request.body,
      ),
  );

  app.post(
    '/api/users/:userId/invite',
    {
      schema: {
        tags,
        params: UserIdParams,
        response: { 200: InviteResult, ...errorResponses(400, 401, 403, 404, 409) },
      },
      config: { access: 'users.manage' },
    },
    async (request) => ({
      inviteUrl: await reinviteUser(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.userId,
      ),
    }),
  );

  app.post(
    '/api/users/:userId/reset-mfa',
    {
      schema: {
        tags,
        params: UserIdParams,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404) },
      },
      config: { access: 'users.manage' },
    },
    async (request, reply) => {
      await resetUserMfa(
        app,
        caller(request).tenantId,
        requestActor(request),
        request.params.userId,
      );
      return reply.code(204).send(null);
    },
  );
};

export default userRoutes;
