import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NoContent, errorResponses } from '../auth/schemas.ts';
import { LinkAcceptBody, LinkInfo, LinkParams } from './schemas.ts';
import { acceptLink, describeLink } from './service.ts';

/**
 * One-time links (`<PUBLIC_URL>/link/<token>`): invitations, password resets and the
 * first-admin setup. Public — the token is the credential (256 random bits, stored only
 * as its SHA-256); every unusable token gets the same 410 INVITE_INVALID.
 */
const linkRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['links'];

  app.get(
    '/api/links/:token',
    {
      schema: {
        tags,
        security: [],
        params: LinkParams,
        response: { 200: LinkInfo, ...errorResponses(400, 409, 410) },
      },
      config: { access: 'public' },
    },
    async (request) => describeLink(app.db, request.params.token),
  );

  app.post(
    '/api/links/:token/accept',
    {
      schema: {
        tags,
        security: [],
        params: LinkParams,
        body: LinkAcceptBody,
        response: { 204: NoContent, ...errorResponses(400, 409, 410) },
      },
      config: { access: 'public' },
    },
    async (request, reply) => {
      await acceptLink(app, request.params.token, request.body, request.ip);
      return reply.code(204).send(null);
    },
  );
};

export default linkRoutes;
