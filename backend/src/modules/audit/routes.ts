import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { caller } from '../../plugins/access.ts';
import { errorResponses } from '../auth/schemas.ts';
import { listAuditRecords } from './repository.ts';
import { AuditPage, AuditQuery, ChainVerificationResult } from './schemas.ts';
import { verifyAuditChain } from './service.ts';

/** The tenant's audit log and the check of its hash chain, for admins and auditors. */
const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['audit'];

  app.get(
    '/api/audit',
    {
      schema: {
        tags,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'audit.read' },
    },
    async (request) => listAuditRecords(app.db, caller(request).tenantId, request.query),
  );

  app.get(
    '/api/audit/verify',
    {
      schema: { tags, response: { 200: ChainVerificationResult, ...errorResponses(401, 403) } },
      config: { access: 'audit.read' },
    },
    async (request) => verifyAuditChain(app.db, caller(request).tenantId),
  );
};

export default auditRoutes;
