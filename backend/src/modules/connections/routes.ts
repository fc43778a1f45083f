import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { caller } from '../../plugins/access.ts';
import { errorResponses } from '../auth/schemas.ts';
import { listConnections } from './repository.ts';
import { ConnectionPage, ConnectionQuery } from './schemas.ts';

/**
 * Connection metadata (who was connected when, from which device and address), written
 * by the socket gateway; read by admins and auditors.
 */
const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/connections',
    {
      schema: {
        tags: ['connections'],
        querystring: ConnectionQuery,
        response: { 200: ConnectionPage, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'connections.read' },
    },
    async (request) => listConnections(app.db, caller(request).tenantId, request.query),
  );
};

export default connectionRoutes;
