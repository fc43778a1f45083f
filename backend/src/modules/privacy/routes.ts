import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { caller } from '../../plugins/access.ts';
import { requestActor } from '../audit/actor.ts';
import { errorResponses } from '../auth/schemas.ts';
import { DataExport, PrivacyInfo } from './schemas.ts';
import { exportUserData, privacyInfo, recordPrivacyView } from './service.ts';

/** Privacy by default: what is stored about me, who sees it, for how long — and all of it to download. */
const privacyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['privacy'];

  app.get(
    '/api/privacy',
    {
      schema: { tags, response: { 200: PrivacyInfo, ...errorResponses(401, 403) } },
      config: { access: 'self' },
    },
    async (request) => {
      const auth = caller(request);
      const info = await privacyInfo(app.db, auth.tenantId);
      await recordPrivacyView(app.db, auth.tenantId, requestActor(request));
      return info;
    },
  );

  app.get(
    '/api/me/export',
    {
      schema: { tags, response: { 200: DataExport, ...errorResponses(401, 403, 404) } },
      config: { access: 'self' },
    },
    async (request, reply) => {
      const data = await exportUserData(app.db, caller(request).tenantId, requestActor(request));
      const day = data.exportedAt.slice(0, 10);
      return reply
        .header('content-disposition', `attachment; filename="trupp-export-${day}.json"`)
        .header('cache-control', 'no-store')
        .send(data);
    },
  );
};

export default privacyRoutes;
