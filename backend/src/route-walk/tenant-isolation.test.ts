import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import * as t from '../db/schema.ts';
import { createTestApp, type TestApp } from '../test/helper.ts';
import {
  authorizationFor,
  fillUrl,
  idForName,
  sampleFromSchema,
  seedTenant,
  type SeededTenant,
} from '../test/route-walk.ts';

let h: TestApp;
let a: SeededTenant;
let b: SeededTenant;

/** Every row of tenant B, in a stable order, to prove the walk changed nothing of B's. */
async function dumpTenant(tenantId: string): Promise<string> {
  const [rows] = await h.db.database.pool.query(
    `SELECT table_name AS name FROM information_schema.columns
      WHERE table_schema = DATABASE() AND column_name = 'tenant_id'`,
  );
  const out: Record<string, unknown> = {};
  for (const { name } of rows as Array<{ name: string }>) {
    const [data] = await h.db.database.pool.query(
      `SELECT * FROM \`${name}\` WHERE tenant_id = ? ORDER BY 1`,
      [tenantId],
    );
    out[name] = data;
  }
  return JSON.stringify(out);
}

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  a = await seedTenant(h.db.database.db, 'a');
  b = await seedTenant(h.db.database.db, 'b');
  // A's admin is an ordinary tenant admin: platform-wide powers are not tenant isolation.
  await h.db.database.db
    .update(t.users)
    .set({ isSuperadmin: false })
    .where(eq(t.users.tenantId, a.tenantId));
});
afterAll(async () => h?.close());

describe('tenant isolation', () => {
  it('never answers 2xx with tenant B data to tenant A, on any route, for any role', async () => {
    const before = await dumpTenant(b.tenantId);
    const routes = h.app.apiRoutes.filter((r) => r.access !== 'public');
    expect(routes.length).toBeGreaterThan(5);
    const idForB = (name: string) => idForName(name, b.ids, b.tenantId);
    const leaks: string[] = [];
    let calls = 0;
    for (const route of routes) {
      for (const userId of [a.ids.adminId, a.ids.auditorId, a.ids.userId]) {
        const schema = route.schema as Record<string, unknown> | undefined;
        const query = sampleFromSchema(schema?.querystring as never, idForB) as
          Record<string, string> | undefined;
        const body = sampleFromSchema(schema?.body as never, idForB);
        const response = await h.app.inject({
          method: route.method as 'GET',
          url: fillUrl(route.url, (param) => idForB(param) ?? 'x'),
          query: query
            ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]))
            : {},
          headers: { authorization: await authorizationFor(route, a, userId) },
          ...(body === undefined ? {} : { payload: body as object }),
        });
        calls += 1;
        expect(response.statusCode, `${route.method} ${route.url}`).toBeLessThan(500);
        if (response.statusCode < 300) {
          const found = b.secrets.filter((secret) => response.body.includes(secret));
          if (found.length > 0) leaks.push(`${route.method} ${route.url} → ${found.join(', ')}`);
        } else {
          expect(response.json(), `${route.method} ${route.url}`).toHaveProperty('code');
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(calls).toBe(routes.length * 3);
    expect(await dumpTenant(b.tenantId)).toBe(before);
  });

  it('refuses another tenant id with 404, not 403, where a route takes one', async () => {
    const routes = h.app.apiRoutes.filter(
      (r) =>
        r.access !== 'public' &&
        r.access !== 'superadmin' &&
        /:(unitId|userId|qualificationId|deviceId|templateId|alarmId|geofenceId|overlayId|channelId|recordingId|emergencyId)/.test(
          r.url,
        ),
    );
    expect(routes.length).toBeGreaterThan(0);
    const token = await a.token(a.ids.adminId);
    for (const route of routes) {
      const authorization = route.access.startsWith('apikey:')
        ? `Bearer ${a.apiKey}`
        : `Bearer ${token}`;
      const response = await h.app.inject({
        method: route.method as 'GET',
        url: fillUrl(route.url, (param) => idForName(param, b.ids, b.tenantId) ?? 'x'),
        headers: { authorization },
        ...(route.method === 'GET' || route.method === 'DELETE'
          ? {}
          : {
              payload: sampleFromSchema(
                (route.schema as Record<string, unknown> | undefined)?.body as never,
                (name) => idForName(name, a.ids, a.tenantId),
              ) as object,
            }),
      });
      if (route.access === 'audit.read' || route.access === 'connections.read') continue;
      expect([403, 404], `${route.method} ${route.url}`).toContain(response.statusCode);
      if (route.access !== 'self') {
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
      }
    }
  });

  it('seeded data is really there (the walk is not vacuous)', async () => {
    const [row] = await h.db.database.db
      .select({ n: sql<number>`count(*)` })
      .from(t.units)
      .where(eq(t.units.tenantId, b.tenantId));
    expect(Number(row?.n)).toBe(2);
  });
});
