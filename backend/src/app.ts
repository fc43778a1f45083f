import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { DomainBus } from './lib/bus.ts';
import accessPlugin from './plugins/access.ts';
import dbPlugin from './plugins/db.ts';
import errorsPlugin, { toErrorBody } from './plugins/errors.ts';
import openapiPlugin from './plugins/openapi.ts';
import webappPlugin from './plugins/webapp.ts';
import realtimePlugin from './plugins/realtime.ts';
import syncRoutes from './modules/sync/routes.ts';
import retentionJob from './modules/retention/plugin.ts';
import mapRoutes from './modules/maps/routes.ts';
import alarmRoutes from './modules/alarms/routes.ts';
import alarmStatsRoutes from './modules/alarm-stats/routes.ts';
import integrationRoutes from './modules/integrations/routes.ts';
import availabilityRoutes from './modules/availability/routes.ts';
import pushRoutes from './modules/push/routes.ts';
import alarmScheduleRoutes from './modules/alarm-schedules/routes.ts';
import positionRoutes from './modules/positions/routes.ts';
import geofenceRoutes from './modules/geofences/routes.ts';
import overlayRoutes from './modules/overlays/routes.ts';
import positionMapRoutes from './modules/positions/map-routes.ts';
import healthRoutes from './modules/health/routes.ts';
import authRoutes from './modules/auth/routes.ts';
import meRoutes from './modules/me/routes.ts';
import deviceRoutes from './modules/devices/routes.ts';
import tenantRoutes from './modules/tenants/routes.ts';
import unitRoutes from './modules/units/routes.ts';
import qualificationRoutes from './modules/qualifications/routes.ts';
import userRoutes from './modules/users/routes.ts';
import linkRoutes from './modules/links/routes.ts';
import auditRoutes from './modules/audit/routes.ts';
import connectionRoutes from './modules/connections/routes.ts';
import privacyRoutes from './modules/privacy/routes.ts';
import pttRoutes from './modules/ptt/routes.ts';
import chatRoutes from './modules/chat/routes.ts';
import type { SfuHandle } from './modules/ptt/media.ts';

export interface AppDeps {
  config: Config;
  database: Database;
  /** Shared state across nodes (rate limits, socket.io adapter); null for a single node. */
  redis?: Redis | null;
  /** Redis stream the socket.io adapter shares between nodes (tests use their own). */
  socketStreamName?: string;
  /** A running push-to-talk SFU to use (tests; nodes sharing one); default: started on demand. */
  sfu?: SfuHandle | null;
  /** A ready pino logger (the server's); tests leave it out. */
  loggerInstance?: FastifyServerOptions['loggerInstance'];
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    bus: DomainBus;
    redis: Redis | null;
  }
}

/** Largest JSON body any route accepts; routes may set a lower limit. */
const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * Request bodies are validated strictly: no type coercion (a number is not a string) and
 * unknown keys stripped. Params and query strings arrive as text, so they are coerced.
 */
function validatorFor(coerce: boolean) {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: true,
    allErrors: false,
    strict: false,
  });
  addFormats.default(ajv);
  return ajv;
}

/**
 * Builds the Fastify app without listening: tests inject requests into it, server.ts
 * listens. The caller owns `database` and `redis` and closes them after `app.close()`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    ...(deps.loggerInstance
      ? { loggerInstance: deps.loggerInstance }
      : {
          logger: {
            level: config.logLevel,
            redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'],
          },
        }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: true,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Router-level refusals (malformed URL, over-long path parameter) get our error body too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const body = toErrorBody(error);
      void reply.status(body.statusCode).send(body);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const bodyAjv = validatorFor(false);
  const textAjv = validatorFor(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );

  app.decorate('config', config);
  app.decorate('bus', new DomainBus());
  app.decorate('redis', deps.redis ?? null);

  await app.register(errorsPlugin);
  await app.register(dbPlugin, { database: deps.database });
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    ...(deps.redis ? { redis: deps.redis, nameSpace: 'trupp-rl:' } : {}),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `Too many requests. Try again in ${Math.ceil(context.ttl / 1000)} s.`,
      details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
    }),
  });
  await app.register(openapiPlugin);
  await app.register(accessPlugin);
  await app.register(realtimePlugin, { streamName: deps.socketStreamName });

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(meRoutes);
  await app.register(deviceRoutes);
  await app.register(tenantRoutes);
  await app.register(unitRoutes);
  await app.register(qualificationRoutes);
  await app.register(userRoutes);
  await app.register(linkRoutes);
  await app.register(auditRoutes);
  await app.register(connectionRoutes);
  await app.register(privacyRoutes);
  await app.register(alarmRoutes);
  await app.register(alarmStatsRoutes);
  await app.register(integrationRoutes);
  await app.register(availabilityRoutes);
  await app.register(pushRoutes);
  await app.register(alarmScheduleRoutes);
  await app.register(positionRoutes);
  await app.register(pttRoutes, { sfu: deps.sfu ?? null });
  await app.register(chatRoutes);
  await app.register(geofenceRoutes);
  await app.register(overlayRoutes);
  await app.register(positionMapRoutes);

  await app.register(syncRoutes);
  await app.register(retentionJob);
  await app.register(mapRoutes);

  await app.register(webappPlugin, { dir: config.webappDir });
  return app;
}
