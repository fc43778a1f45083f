import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { migrationsApplied } from '../../db/client.ts';

const Status = Type.Object({
  status: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
});

/** Liveness (the process answers) and readiness (database reachable, migrations applied). */
export default async function healthRoutes(app: FastifyInstance) {
  app.get(
    '/healthz',
    {
      schema: { tags: ['health'], security: [], response: { 200: Status } },
      config: { access: 'public', rateLimit: false },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: { tags: ['health'], security: [], response: { 200: Status, 503: Status } },
      config: { access: 'public', rateLimit: false },
    },
    async (_request, reply) => {
      let database = false;
      let migrations = false;
      try {
        await app.database.pool.query('SELECT 1');
        database = true;
        migrations = await migrationsApplied(app.database);
      } catch {
        // reported as not ready below
      }
      const ready = database && migrations;
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', checks: { database, migrations } });
    },
  );
}
