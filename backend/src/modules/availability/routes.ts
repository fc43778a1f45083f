import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, eq } from 'drizzle-orm';
import { Type, type Static } from 'typebox';
import { AVAILABILITY_STATES, type AvailabilityState } from '@trupp/shared';
import { memberAvailability } from '../../db/schema.ts';
import { caller } from '../../plugins/access.ts';
import { boardRoom } from '../../realtime/gateway.ts';
import { errorResponses } from '../auth/schemas.ts';

const Availability = Type.Object({
  userId: Type.String(),
  status: Type.Enum([...AVAILABILITY_STATES]),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
type Availability = Static<typeof Availability>;

const AvailabilityBody = Type.Object(
  {
    status: Type.Enum([...AVAILABILITY_STATES]),
    /** Back to available at this time (e.g. end of a night shift); omit for "until changed". */
    until: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);

/** A member's availability now: an expired "until" means available again. */
function current(
  userId: string,
  row: typeof memberAvailability.$inferSelect | undefined,
  now: Date,
): Availability {
  if (!row || (row.until && row.until <= now)) {
    return {
      userId,
      status: 'available',
      until: null,
      updatedAt: row?.updatedAt.toISOString() ?? null,
    };
  }
  return {
    userId,
    status: row.status,
    until: row.until?.toISOString() ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Availability: available / limited / unavailable, set by the member with one tap.
 * Unavailable members are not alerted unless an alarm is "all hands"; dispatch sees all.
 */
const availabilityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['availability'];

  app.get(
    '/api/me/availability',
    {
      schema: { tags, response: { 200: Availability, ...errorResponses(401, 403) } },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const [row] = await app.db
        .select()
        .from(memberAvailability)
        .where(
          and(
            eq(memberAvailability.tenantId, auth.tenantId),
            eq(memberAvailability.userId, auth.userId),
          ),
        );
      return current(auth.userId, row, new Date());
    },
  );

  app.put(
    '/api/me/availability',
    {
      schema: {
        tags,
        body: AvailabilityBody,
        response: { 200: Availability, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const now = new Date();
      const until = request.body.until ? new Date(request.body.until) : null;
      const status: AvailabilityState = until && until <= now ? 'available' : request.body.status;
      const values = { status, until: status === 'available' ? null : until, updatedAt: now };
      await app.db
        .insert(memberAvailability)
        .values({ userId: auth.userId, tenantId: auth.tenantId, ...values })
        .onDuplicateKeyUpdate({ set: values });
      const result = current(
        auth.userId,
        { userId: auth.userId, tenantId: auth.tenantId, ...values },
        now,
      );
      app.io.to(boardRoom(auth.tenantId)).emit('availability.changed', result);
      return result;
    },
  );

  app.get(
    '/api/availability',
    {
      schema: { tags, response: { 200: Type.Array(Availability), ...errorResponses(401, 403) } },
      config: { access: 'availability.read' },
    },
    async (request) => {
      const auth = caller(request);
      const now = new Date();
      const rows = await app.db
        .select()
        .from(memberAvailability)
        .where(eq(memberAvailability.tenantId, auth.tenantId));
      return rows.map((row) => current(row.userId, row, now));
    },
  );
};

export default availabilityRoutes;
