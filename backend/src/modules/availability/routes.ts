import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, eq } from 'drizzle-orm';
import { Type, type Static } from 'typebox';
import {
  AVAILABILITY_OVERRIDE_MS,
  AVAILABILITY_STATES,
  effectiveAvailability,
  localWeekTime,
  type AvailabilityState,
} from '@trupp/shared';
import type { DbOrTx } from '../../db/client.ts';
import { memberAvailability } from '../../db/schema.ts';
import { caller } from '../../plugins/access.ts';
import { boardRoom } from '../../realtime/gateway.ts';
import { errorResponses } from '../auth/schemas.ts';
import { findTenant } from '../tenants/repository.ts';

const HhMm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
const Window = Type.Object(
  {
    weekdays: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 }),
    from: HhMm,
    to: HhMm,
    status: Type.Enum(['limited', 'unavailable']),
  },
  { additionalProperties: false },
);

const Availability = Type.Object({
  userId: Type.String(),
  /** What counts now: a tap, else the weekly plan, else available. */
  status: Type.Enum([...AVAILABILITY_STATES]),
  /** The tapped status and until when it holds (null: until changed). */
  manual: Type.Union([
    Type.Object({
      status: Type.Enum([...AVAILABILITY_STATES]),
      until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    }),
    Type.Null(),
  ]),
  schedule: Type.Array(Window),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
type Availability = Static<typeof Availability>;

const AvailabilityBody = Type.Object(
  {
    status: Type.Enum([...AVAILABILITY_STATES]),
    /** Until when the tap holds; by default until changed, or 12 h over a weekly plan. */
    until: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);

const ScheduleBody = Type.Object(
  { windows: Type.Array(Window, { maxItems: 28 }) },
  { additionalProperties: false },
);

type Row = typeof memberAvailability.$inferSelect;

function present(userId: string, row: Row | undefined, now: Date, timeZone: string): Availability {
  const status = effectiveAvailability(row ?? null, now, localWeekTime(now, timeZone));
  // "Available" without an end is no tap at all: the plan (if any) applies.
  const manualHolds =
    row &&
    (row.status !== 'available' || row.until !== null) &&
    (row.until === null || row.until > now);
  return {
    userId,
    status,
    manual: manualHolds ? { status: row.status, until: row.until?.toISOString() ?? null } : null,
    schedule: row?.schedule ?? [],
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

async function rowOf(db: DbOrTx, tenantId: string, userId: string): Promise<Row | undefined> {
  const [row] = await db
    .select()
    .from(memberAvailability)
    .where(and(eq(memberAvailability.tenantId, tenantId), eq(memberAvailability.userId, userId)));
  return row;
}

/**
 * Availability: available / limited / unavailable, set by one tap or by a weekly plan
 * (e.g. "Mon–Fri 07:00–17:00 unavailable: at work"). Unavailable members are not
 * alerted unless an alarm is "all hands"; dispatch sees everyone's, live.
 */
const availabilityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['availability'];
  const timezoneOf = async (tenantId: string) => (await findTenant(app.db, tenantId)).timezone;

  async function save(
    tenantId: string,
    userId: string,
    values: Partial<Pick<Row, 'status' | 'until' | 'schedule'>>,
  ): Promise<Availability> {
    const now = new Date();
    const existing = await rowOf(app.db, tenantId, userId);
    const next = {
      status: values.status ?? existing?.status ?? 'available',
      until: 'until' in values ? (values.until ?? null) : (existing?.until ?? null),
      schedule: 'schedule' in values ? (values.schedule ?? null) : (existing?.schedule ?? null),
      updatedAt: now,
    };
    await app.db
      .insert(memberAvailability)
      .values({ userId, tenantId, ...next })
      .onDuplicateKeyUpdate({ set: next });
    const result = present(userId, { userId, tenantId, ...next }, now, await timezoneOf(tenantId));
    app.io.to(boardRoom(tenantId)).emit('availability.changed', result);
    app.bus.emit('availability.changed', { tenantId, userId });
    return result;
  }

  app.get(
    '/api/me/availability',
    {
      schema: { tags, response: { 200: Availability, ...errorResponses(401, 403) } },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const row = await rowOf(app.db, auth.tenantId, auth.userId);
      return present(auth.userId, row, new Date(), await timezoneOf(auth.tenantId));
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
      const existing = await rowOf(app.db, auth.tenantId, auth.userId);
      let until = request.body.until ? new Date(request.body.until) : null;
      if (until && until <= now) until = now;
      // Over a weekly plan a tap holds for a while, then the plan applies again.
      if (request.body.until === undefined && existing?.schedule?.length) {
        until = new Date(now.getTime() + AVAILABILITY_OVERRIDE_MS);
      }
      const status: AvailabilityState = request.body.status;
      return save(auth.tenantId, auth.userId, { status, until });
    },
  );

  app.put(
    '/api/me/availability/schedule',
    {
      schema: {
        tags,
        body: ScheduleBody,
        response: { 200: Availability, ...errorResponses(400, 401, 403) },
      },
      config: { access: 'alarms.receive' },
    },
    async (request) => {
      const auth = caller(request);
      const windows = request.body.windows.map((w) => ({
        ...w,
        weekdays: [...new Set(w.weekdays)].sort(),
      }));
      return save(auth.tenantId, auth.userId, { schedule: windows.length ? windows : null });
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
      const timeZone = await timezoneOf(auth.tenantId);
      const rows = await app.db
        .select()
        .from(memberAvailability)
        .where(eq(memberAvailability.tenantId, auth.tenantId));
      return rows.map((row) => present(row.userId, row, now, timeZone));
    },
  );
};

export default availabilityRoutes;
