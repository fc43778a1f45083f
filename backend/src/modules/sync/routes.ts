import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CLIENT_EVENTS } from '@trupp/shared';
import { ErrorResponseSchema } from '../../errors.ts';
import { caller } from '../../plugins/access.ts';
import { directorySource } from './directory-source.ts';
import { sync } from './service.ts';

export const SyncRequestBody = Type.Object(
  {
    cursors: Type.Record(
      Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9_.-]*$' }),
      Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
      { maxProperties: 10 },
    ),
  },
  { additionalProperties: false },
);

const SyncResponseSchema = Type.Object({
  sources: Type.Record(
    Type.String(),
    Type.Object({
      items: Type.Array(Type.Unknown()),
      cursor: Type.String(),
      hasMore: Type.Boolean(),
    }),
  ),
});

/** Sync by cursor over HTTP and over the socket; sources are registered by their domains. */
export default async function syncRoutes(app: FastifyInstance) {
  app.realtime.registerSyncSource('directory', directorySource(app.db));

  app.post(
    '/api/sync',
    {
      schema: {
        tags: ['sync'],
        body: SyncRequestBody,
        response: { 200: SyncResponseSchema, 400: ErrorResponseSchema, 403: ErrorResponseSchema },
      },
      config: { access: 'self' },
    },
    async (request) =>
      sync(
        app.realtime,
        caller(request),
        (request.body as { cursors: Record<string, string | null> }).cursors,
      ),
  );

  app.realtime.on(
    CLIENT_EVENTS.sync,
    { schema: SyncRequestBody, access: 'self' },
    async ({ auth }, payload) =>
      sync(app.realtime, auth, payload.cursors as Record<string, string | null>),
  );
}
