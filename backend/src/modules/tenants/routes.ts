import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { errorResponses } from '../auth/schemas.ts';
import { findTenant, listTenantsWithUserCount, toTenant } from './repository.ts';
import {
  Tenant,
  TenantCreateBody,
  TenantCreated,
  TenantPatchBody,
  TenantWithCount,
} from './schemas.ts';
import { createTenantWithAdmin, updateTenantSettings } from './service.ts';

/**
 * The caller's own organisation (read by everyone in it, changed by its admins) and the
 * platform operators' list of all organisations.
 */
const tenantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['tenants'];

  app.get(
    '/api/tenant',
    {
      schema: { tags, response: { 200: Tenant, ...errorResponses(401, 403) } },
      config: { access: 'self' },
    },
    async (request) => toTenant(await findTenant(app.db, caller(request).tenantId)),
  );

  app.patch(
    '/api/tenant',
    {
      schema: {
        tags,
        body: TenantPatchBody,
        response: { 200: Tenant, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'tenant.manage' },
    },
    async (request) =>
      updateTenantSettings(app, caller(request).tenantId, requestActor(request), request.body),
  );

  app.get(
    '/api/tenants',
    {
      schema: { tags, response: { 200: Type.Array(TenantWithCount), ...errorResponses(401, 403) } },
      config: { access: 'superadmin' },
    },
    async () => listTenantsWithUserCount(app.db),
  );

  app.post(
    '/api/tenants',
    {
      schema: {
        tags,
        body: TenantCreateBody,
        response: { 201: TenantCreated, ...errorResponses(400, 401, 403, 409) },
      },
      config: { access: 'superadmin' },
    },
    async (request, reply) => {
      const created = await createTenantWithAdmin(app, requestActor(request), request.body);
      return reply.code(201).send(created);
    },
  );
};

export default tenantRoutes;
